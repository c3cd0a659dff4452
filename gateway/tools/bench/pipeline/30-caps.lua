-- The benchmark pipeline, part 3 of 3: the three caps of bench_cap_admission,
-- limits high enough to admit every series so runs stay comparable. Caps see
-- output series: 10-relabel.lua drops shard and copies it into shard_id, so the
-- per-label cap budgets shard_id (256 values, as shard has).
cap { label = "id", max_values = 100000000 }
cap { per_label = "shard_id", max_series = 100000000 }
cap { metric = "bench_.*", max_series = 100000000 }
