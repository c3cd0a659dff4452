-- One series per workspace is what makes agent metrics expensive:
-- workspace_id is new with every workspace, agent with every agent. Drop
-- both, as a labeldrop in metric_relabel_configs would, and keep owner and
-- template, whose values are bounded by your users and your templates.
--
-- Series that end up with the same name and labels become one output
-- series, which moongate keeps as the aggregate of its inputs:
--   counters  add up; each workspace's own resets (an agent restart) are
--             handled, and a stopped workspace's counts stay in the total,
--             so the output never goes down and rate() works on it. Compare
--             sum by (owner, template) (rate(agent_commands_total[5m])) in
--             PromQL, which needs every workspace's series in Prometheus.
--   gauges    combine by `aggregate`: sum unless a rule says otherwise.
--             workspace_up (1 per running workspace) becomes the number of
--             running workspaces; a stopped workspace leaves the sum when
--             its series expires (10-workspace-ttl.lua).
relabel {
  { action = "labeldrop", regex = "workspace_id|agent" },
}

-- The largest workspace of each owner and template, not the sum of them.
aggregate { metric = "agent_memory_bytes", gauge = "max" }
