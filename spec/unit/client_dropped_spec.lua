-- moongate_client_dropped_total keeps at most 64 reasons: the 64th slot is
-- "other", and every reason after it lands there without disturbing the
-- counts of the reasons before it (the key after "other" once wrote past
-- the table, over the first reason's count).
local moongate = require "moongate"

local function value(text, series)
  local v = text:match("\n" .. series:gsub("%p", "%%%0") .. " (%S+)\n")
  return v and tonumber(v)
end

describe("client-side drop reasons", function()
  it("the 64th and later reasons count as other; the first keep theirs", function()
    local gw = moongate.new()
    -- one reason a push, in order, so the table fills as a producer fills it
    for i = 1, 70 do
      gw:push { dropped = { [("reason_%02d"):format(i)] = i }, metrics = {} }
    end
    local text = gw:expose("text")
    assert.are.equal(1, value(text, 'moongate_client_dropped_total{reason="reason_01"}'))
    assert.are.equal(63, value(text, 'moongate_client_dropped_total{reason="reason_63"}'))
    assert.is_nil(value(text, 'moongate_client_dropped_total{reason="reason_64"}'))
    local other = 0
    for i = 64, 70 do other = other + i end
    assert.are.equal(other, value(text, 'moongate_client_dropped_total{reason="other"}'))
  end)
end)
