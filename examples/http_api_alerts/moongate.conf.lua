-- moongate's config for this example: the rules, evaluated every 15 s,
-- and one Alertmanager. Paths are relative to the repository root.
return {
  rules = "examples/http_api_alerts/rules",
  rule_interval = 15,
  alertmanagers = { "http://127.0.0.1:9093" },
}
