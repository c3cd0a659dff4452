-- A recording rule writes a series whose label value holds a NUL byte,
-- then stops writing it: the written copy stopped at the NUL while keeping
-- the full length, and removing the series hashed past it (ASan:
-- heap-buffer-overflow in mg_labels_hash from sweep_written).
local n = 0
record "nul:recorded" {
  expr = function(q)
    n = n + 1
    if n == 1 then return { { labels = { job = "a\0b-agent" }, value = 1 } } end
    return {}
  end,
}
