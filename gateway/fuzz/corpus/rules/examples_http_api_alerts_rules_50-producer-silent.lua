-- A producer that stopped pushing. Each agent pushes the gauge
-- agent_heartbeat every 15 s with ttl = 60; once it stops, its series
-- expires 60 s after its last push and q.value() reads nil. As with
-- Prometheus's absent(), the producers to watch are named: a series that
-- is gone leaves nothing behind to alert on.
--
-- PromQL (one expression per producer, as absent() needs):
--   absent(agent_heartbeat{job="billing-agent"})
--   absent(agent_heartbeat{job="export-agent"})
--   for: 1m

local PRODUCERS = { "billing-agent", "export-agent" }

alert "ProducerSilent" {
  expr = function(q)
    local out = {}
    for _, job in ipairs(PRODUCERS) do
      if q.value(('agent_heartbeat{job="%s"}'):format(job)) == nil then
        out[#out + 1] = { labels = { job = job }, value = 1 }
      end
    end
    return out
  end,
  -- longer than the push interval: after a restart of moongate every
  -- producer is absent until its next push, and that must not page
  ["for"] = "1m",
  labels = { severity = "critical" },
  annotations = {
    summary = "{{ $labels.job }} stopped pushing",
    description = "No agent_heartbeat from {{ $labels.job }} for over 2 minutes "
      .. "(60 s of ttl, then 1m of for).",
  },
}
