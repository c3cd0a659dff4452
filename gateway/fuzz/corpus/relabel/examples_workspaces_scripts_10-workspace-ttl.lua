-- Workspaces come and go. A stopped workspace's series should leave
-- /metrics two minutes after its agent's last push, whatever ttl the agent
-- sends and whatever default_ttl the gateway runs with (the batch jobs that
-- push to the same gateway may need hours). With a Pushgateway they would
-- stay until someone deletes them; here each series carries its own expiry.
--
-- A transform runs once per new input series, never per sample. It gets
--   s.name, s.type  the metric as pushed (type cannot be changed),
--   s.labels        the metric's labels with the source labels merged in,
--   s.source        the producer's labels alone (the message's `source`),
-- and returns s (changed or not), or nil to drop the series.
-- s.ttl (seconds) overrides the message's ttl and default_ttl for the
-- series; this file runs first, so it sees the labels exactly as pushed.
transform(function(s)
  if s.source.workspace_id then
    s.ttl = 120
  end
  return s
end)
