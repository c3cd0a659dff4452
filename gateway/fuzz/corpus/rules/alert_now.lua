alert "Always" {
  expr = function(q) return q.series('http_requests_total{status="503"}') end,
  labels = { severity = "page" },
  annotations = { summary = "{{ $labels.path }} at {{ $value | humanize }}" },
}
