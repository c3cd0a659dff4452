-- More than 5% of a job's requests answered with a 5xx, for 5 minutes.
--
-- PromQL:
--   sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))
--     / sum by (job) (rate(http_requests_total[5m])) > 0.05
--   for: 5m

-- The elements of a vector whose value is above a threshold (PromQL's
-- `> threshold` filter). Each file has its own globals, so each file that
-- needs it has its own copy.
local function above(vec, threshold)
  local out = {}
  for _, s in ipairs(vec or {}) do
    if s.value > threshold then out[#out + 1] = s end
  end
  return out
end

alert "HttpApiHighErrorRatio" {
  expr = function(q)
    local errors = q.rate('http_requests_total{code=~"5.."}', "5m", { by = { "job" } })
    local all = q.rate("http_requests_total", "5m", { by = { "job" } })
    return above(q.ratio(errors, all), 0.05)
  end,
  ["for"] = "5m",
  labels = { severity = "critical" },
  annotations = {
    summary = "{{ $labels.job }} answers {{ $value | humanizePercentage }} of its requests with a 5xx",
    description = "Over 5% of the requests to {{ $labels.job }} failed with a 5xx, "
      .. "measured over 5 minutes, for the last 5 minutes.",
  },
}
