-- Pure helpers over exposition text, for unit specs (through the module)
-- and end-to-end specs (through a scrape) alike: no daemon, no sockets.
local M = {}

-- The value of one exposed sample line, e.g. 'name{a="b"}', or nil.
function M.value(text, series)
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, #series + 1) == series .. " " then
      return tonumber(line:sub(#series + 2):match("^(%S+)"))
    end
  end
end

return M
