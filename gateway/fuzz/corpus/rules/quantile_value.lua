record "latency:p90" {
  expr = function(q) return q.histogram_quantile(0.9, "latency_seconds", "1m") end,
}
alert "Slow" {
  expr = function(q) local v = q.value("latency:p90") return v and v > 0.4 and v or nil end,
  ["for"] = "2s",
  annotations = { description = "p90 {{ $value | humanizeDuration }}" },
}
