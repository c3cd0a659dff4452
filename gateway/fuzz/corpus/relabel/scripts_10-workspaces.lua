-- Producers in development workspaces label every series with the
-- workspace and agent they run in. Prometheus needs neither per series:
-- aggregate them away here, and the counters of every workspace add up
-- exactly into one series per remaining label set (see docs/wire.md,
-- Series semantics). Keep per-workspace detail by deleting this file.
relabel {
  { action = "labeldrop", regex = "workspace_id|agent_id" },
}
