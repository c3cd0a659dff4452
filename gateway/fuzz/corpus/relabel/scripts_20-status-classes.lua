-- Raw HTTP status codes as label values multiply every request metric by
-- the number of codes seen. Keep the class (2xx, 4xx, 5xx) instead.
relabel {
  { source_labels = { "status" }, regex = "([1-5])\\d\\d", target_label = "status", replacement = "${1}xx" },
  { source_labels = { "code" }, regex = "([1-5])\\d\\d", target_label = "code", replacement = "${1}xx" },
}
