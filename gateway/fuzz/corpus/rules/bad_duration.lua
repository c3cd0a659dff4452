alert "Bad" { expr = function(q) return 1 end, ["for"] = "5 minutes" }
