-- Prometheus's base unit for time is the second. Series pushed in
-- milliseconds are renamed and scaled here, once per series: every later
-- update is scaled natively, without entering Lua.
transform(function(s)
  local base = s.name:match("^(.*)_ms$") or s.name:match("^(.*)_milliseconds$")
  if base then
    s.name = base .. "_seconds"
    s.scale = 0.001
  end
  local total = s.name:match("^(.*)_ms_total$")
  if total then
    s.name = total .. "_seconds_total"
    s.scale = 0.001
  end
  return s
end)
