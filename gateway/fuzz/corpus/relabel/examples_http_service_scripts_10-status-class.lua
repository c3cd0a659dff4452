-- Raw status codes are a cardinality trap: every code a client can provoke
-- (418, 451, 0 from a proxy, 999 from a broken client) becomes new series
-- for every route. Dashboards and alerts look at classes anyway
-- (status=~"5.." in PromQL), so keep only the class.
--
-- relabel{} takes Prometheus relabel_configs (metric_relabel_configs
-- syntax, in Lua tables); regexes are anchored as in Prometheus and use
-- RE2 syntax, so "\\d" in a Lua string is \d in the regex.
relabel {
  -- 200 -> 2xx, 404 -> 4xx, 503 -> 5xx
  { source_labels = { "status" }, regex = "([1-5])\\d\\d",
    target_label = "status", replacement = "${1}xx" },
  -- Whatever is not a class by now ("0", "999", "abc", "2000") becomes
  -- "other": too short, too long, or a wrong character in one of the
  -- three places. An absent status (the empty string) stays absent.
  { source_labels = { "status" }, regex = ".{1,2}|.{4,}|[^1-5]..|[1-5][^x].|[1-5]x[^x]",
    target_label = "status", replacement = "other" },
}
