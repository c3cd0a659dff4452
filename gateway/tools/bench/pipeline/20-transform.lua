-- The benchmark pipeline, part 2 of 3: one transform that adds a label and
-- renames _ms metrics (bench_metric is not one, so only the label lands).
transform(function(s)
  s.labels.pipeline = "lua"
  if s.name:match("_ms$") then s.name = s.name:gsub("_ms$", "_seconds"); s.scale = 0.001 end
  return s
end)
