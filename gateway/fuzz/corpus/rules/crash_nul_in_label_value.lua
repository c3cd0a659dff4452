-- An alert whose result carries a label value with a NUL byte: the alert's
-- copy stopped at the NUL while keeping the full length, and hashing the
-- label set read past it (ASan: heap-buffer-overflow in mg_labels_hash).
alert "NulLabel" {
  expr = function(q) return { { labels = { job = "a\0b-agent" }, value = 1 } } end,
  labels = { severity = "critical" },
}
