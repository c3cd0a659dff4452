-- An alert whose first result has no labels: the rules' label array was
-- still NULL when it was offset (UBSan: applying zero offset to null pointer).
alert "NoLabels" {
  expr = function(q) return { { value = 1 } } end,
  annotations = { summary = "{{ $value }}" },
}
