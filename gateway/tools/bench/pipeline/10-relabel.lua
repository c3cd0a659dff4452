-- The benchmark pipeline, part 1 of 3: five relabel configs, as
-- bench_lua_new_series has them. Every series keeps its own identity (id
-- survives), and the labeldrop makes each output's label set differ from its
-- input's, which is what the create path and the memory section measure.
relabel {
  { source_labels = { "zone" }, regex = "z(\\d+)", target_label = "zone", replacement = "zone-$1" },
  { source_labels = { "shard" }, regex = "s(.*)", target_label = "shard_id", replacement = "$1" },
  { action = "labeldrop", regex = "shard" },
  { source_labels = { "instance", "job" }, separator = "/", target_label = "origin" },
  { action = "drop", source_labels = { "job" }, regex = "never-.*" },
}
