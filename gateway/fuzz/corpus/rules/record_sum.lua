record "job:http_requests:rate1m" {
  expr = function(q) return q.rate("http_requests_total", "1m", { by = { "status" } }) end,
}
