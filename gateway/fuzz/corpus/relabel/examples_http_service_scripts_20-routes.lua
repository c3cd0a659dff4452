-- Raw paths are worse than status codes: every user id, every scanner
-- probing /wp-login.php, every cache-busting query string is a new series.
-- Map the routes you know to their templates, and everything else to one
-- bounded value, "unknown", so a flood of junk paths costs one series per
-- status class, not one per path. The raw path is dropped.
--
-- Rules run in order, each on the labels the previous one left: the first
-- sets the default, the next ones override it when the path matches.
relabel {
  { source_labels = { "path" }, regex = ".+",
    target_label = "route", replacement = "unknown" },
  { source_labels = { "path" }, regex = "/api/users/[^/]+",
    target_label = "route", replacement = "/api/users/:id" },
  { source_labels = { "path" }, regex = "/api/orders/[^/]+",
    target_label = "route", replacement = "/api/orders/:id" },
  { source_labels = { "path" }, regex = "/healthz",
    target_label = "route", replacement = "/healthz" },
  { action = "labeldrop", regex = "path" },
}
