cap { name = "per_path", metric = "http_.*", by = { "path" }, max = 2 }
on_sample(function(s, v) if v > 100 then return nil end return v * 2 end)
relabel { { action = "hashmod", source_labels = { "path" }, modulus = 4, target_label = "shard" },
          { action = "keepequal", source_labels = { "status" }, target_label = "status" } }
