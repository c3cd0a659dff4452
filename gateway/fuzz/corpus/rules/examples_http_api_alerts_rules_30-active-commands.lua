-- More than 4 commands running at once on an instance, for 5 minutes.
-- api_active_commands is a gauge each instance pushes.
--
-- PromQL:
--   api_active_commands > 4
--   for: 5m

alert "HttpApiTooManyActiveCommands" {
  expr = function(q)
    local out = {}
    -- q.series: every series of the metric, each {labels = {...}, value = n};
    -- the alert keeps their labels (without __name__, as Prometheus does)
    for _, s in ipairs(q.series("api_active_commands")) do
      if s.value > 4 then out[#out + 1] = s end
    end
    return out
  end,
  ["for"] = "5m",
  labels = { severity = "warning" },
  annotations = {
    summary = "{{ $labels.instance }} of {{ $labels.job }} runs {{ $value }} commands at once",
    description = "More than 4 commands have been running at once on {{ $labels.instance }} for 5 minutes.",
  },
}
