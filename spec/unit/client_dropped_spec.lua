-- A message's dropped map becomes series of moongate_client_dropped_total
-- with the message's source labels and a reason label. A message names at
-- most 63 reasons: the rest add to reason="other", and no count is lost or
-- written over (the key after "other" once wrote past a fixed table, over
-- the first reason's count).
local moongate = require "moongate"

local function drops(text)
  local named, other, n = 0, nil, 0
  for reason, v in text:gmatch('\nmoongate_client_dropped_total{job="agent",reason="([^"]*)"} (%S+)') do
    if reason == "other" then other = tonumber(v) else named, n = named + tonumber(v), n + 1 end
  end
  return n, named, other
end

describe("client-side drop reasons", function()
  it("a message's 64th and later reasons count as other; the rest keep theirs", function()
    local gw = moongate.new()
    local dropped, total = {}, 0
    for i = 1, 70 do
      dropped[("reason_%02d"):format(i)] = i
      total = total + i
    end
    gw:push { source = { job = "agent" }, dropped = dropped, metrics = {} }
    local n, named, other = drops(gw:expose("text"))
    assert.are.equal(63, n)
    assert.is_number(other)
    assert.are.equal(total, named + other)
  end)

  it("each message has its own bound: reasons of many messages are series like any", function()
    local gw = moongate.new()
    for i = 1, 70 do
      gw:push { source = { job = "agent" }, dropped = { [("reason_%02d"):format(i)] = i }, metrics = {} }
    end
    local text = gw:expose("text")
    local n, named, other = drops(text)
    assert.are.equal(70, n)
    assert.is_nil(other)
    assert.are.equal(70 * 71 / 2, named)
    -- a second report of a reason adds to it
    gw:push { source = { job = "agent" }, dropped = { reason_01 = 5 }, metrics = {} }
    assert.is_truthy(gw:expose("text"):find('\nmoongate_client_dropped_total{job="agent",reason="reason_01"} 6\n', 1, true))
  end)
end)
