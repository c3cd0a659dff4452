-- More than 10% of a job's requests refused by its rate limiter, for 10
-- minutes. The service counts every request it answers in
-- http_requests_total (the 429s too) and each one its limiter refuses in
-- http_ratelimited_total.
--
-- PromQL:
--   sum by (job) (rate(http_ratelimited_total[5m]))
--     / sum by (job) (rate(http_requests_total[5m])) > 0.10
--   for: 10m

local function above(vec, threshold)
  local out = {}
  for _, s in ipairs(vec or {}) do
    if s.value > threshold then out[#out + 1] = s end
  end
  return out
end

alert "HttpApiRateLimited" {
  expr = function(q)
    local limited = q.rate("http_ratelimited_total", "5m", { by = { "job" } })
    local all = q.rate("http_requests_total", "5m", { by = { "job" } })
    return above(q.ratio(limited, all), 0.10)
  end,
  ["for"] = "10m",
  labels = { severity = "warning" },
  annotations = {
    summary = "{{ $labels.job }} refuses {{ $value | humanizePercentage }} of its requests (rate limit)",
    description = "Clients of {{ $labels.job }} hit its rate limit: raise the limit or find the client.",
  },
}
