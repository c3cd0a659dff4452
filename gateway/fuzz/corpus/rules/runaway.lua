alert "Loop" { expr = function(q) while true do end end }
