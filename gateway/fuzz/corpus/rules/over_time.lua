record "queue:max" { expr = function(q) return q.max_over_time("request_latency_ms", "5m") end }
record "queue:avg" { expr = function(q) return q.avg_over_time("request_latency_ms", "5m", { by = { "job" } }) end }
record "total" { expr = function(q) return q.sum("http_requests_total", { by = { "path" } }) end }
record "inc" { expr = function(q) return q.increase("http_requests_total", "1m") end }
