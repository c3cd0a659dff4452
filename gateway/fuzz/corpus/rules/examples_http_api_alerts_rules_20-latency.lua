-- The 99th percentile of a job's request latency above 2 seconds, for 5
-- minutes, from the http_request_duration_seconds histogram.
--
-- PromQL:
--   histogram_quantile(0.99,
--     sum by (job, le) (rate(http_request_duration_seconds_bucket[5m]))) > 2
--   for: 5m

local function above(vec, threshold)
  local out = {}
  for _, s in ipairs(vec or {}) do
    -- NaN (a job without requests in the window) is above nothing
    if s.value > threshold then out[#out + 1] = s end
  end
  return out
end

alert "HttpApiSlowRequests" {
  expr = function(q)
    return above(q.histogram_quantile(0.99, "http_request_duration_seconds_bucket", "5m",
                                      { by = { "job" } }), 2)
  end,
  ["for"] = "5m",
  labels = { severity = "warning" },
  annotations = {
    summary = "p99 latency of {{ $labels.job }} is {{ $value | humanizeDuration }}",
    description = "1% of the requests to {{ $labels.job }} take longer than "
      .. "{{ $value | humanizeDuration }} (over 2s for 5 minutes).",
  },
}
