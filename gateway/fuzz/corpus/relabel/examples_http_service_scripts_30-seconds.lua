-- Prometheus wants base units: seconds, not milliseconds. The service
-- reports http_request_duration_ms (a histogram) and db_query_latency_ms
-- (a gauge); rename every *_ms series to *_seconds and let moongate scale
-- its values by 0.001 as they arrive: gauge values, histogram sums and
-- bucket bounds (le="250" becomes le="0.25"). Counts are not scaled.
--
-- The transform runs once per new series; the scaling then runs in C on
-- every update, without calling Lua again.
transform(function(s)
  if s.name:match("_ms$") then
    s.name = s.name:gsub("_ms$", "_seconds")
    s.scale = 0.001
  end
  return s
end)
