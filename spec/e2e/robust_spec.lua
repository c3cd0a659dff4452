-- Producer-named counters against a real daemon: a `dropped` map with more
-- reasons than the gateway keeps, sent as one UDP datagram, once crashed the
-- daemon; and a reason with an embedded NUL once overwrote another's count
-- (now it is refused as invalid_label_value).
local gw = require "support.gateway"

local mp = gw.mp

-- {metrics = [], dropped = {keys[i] = counts[i]}} as msgpack bytes, the
-- dropped map with a map16 header so it can hold more than 15 keys.
local function dropped_datagram(keys, counts)
  local parts = { mp.map(2), mp.str("metrics"), mp.arr(0), mp.str("dropped"),
                  "\xde" .. string.pack(">I2", #keys) }
  for i, k in ipairs(keys) do
    parts[#parts + 1] = mp.str(k) .. string.char(counts[i])
  end
  return table.concat(parts)
end

local function dropped(g, reason)
  return g:value(('moongate_client_dropped_total{reason="%s"}'):format(reason))
end

describe("a dropped map past the gateway's bound", function()
  local g
  setup(function() g = gw.start() end)
  teardown(function() g:stop() end)

  it("keeps 63 reasons and counts the rest as other, still serving", function()
    local keys, counts = {}, {}
    for i = 1, 66 do
      keys[i] = ("r%02d"):format(i)
      counts[i] = 1
    end
    local dgram = dropped_datagram(keys, counts)
    assert.is_true(#dgram > 300 and #dgram < 400)
    gw.udp_send(g.udp, dgram)
    gw.wait_for(function() return g:alive() and dropped(g, "other") ~= nil end, 5,
                "the datagram to be counted")
    assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/healthy")))
    assert.are.equal(1, dropped(g, "r01"))
    assert.are.equal(1, dropped(g, "r63"))
    assert.is_nil(dropped(g, "r64"))
    assert.are.equal(3, dropped(g, "other"))
    -- again: every new reason goes to other, none past the table
    gw.udp_send(g.udp, dropped_datagram(keys, counts))
    gw.wait_for(function() return g:alive() and dropped(g, "other") == 6 end, 5,
                "the second datagram")
    assert.are.equal(2, dropped(g, "r01"))
    assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/healthy")))
    gw.assert_serves_good_producer(g)
  end)
end)

describe("a dropped reason with an embedded NUL", function()
  local g
  setup(function() g = gw.start() end)
  teardown(function() g:stop() end)

  it("is refused and counted, and leaves the reason it starts with alone", function()
    gw.udp_send(g.udp, dropped_datagram({ "buffer_full" }, { 100 }))
    gw.wait_for(function() return dropped(g, "buffer_full") == 100 end, 5, "buffer_full")
    local before = g:rejected("invalid_label_value")
    gw.udp_send(g.udp, dropped_datagram({ "buffer_full\0x", "later" }, { 1, 2 }))
    gw.wait_for(function() return dropped(g, "later") == 2 end, 5, "the datagram")
    assert.are.equal(before + 1, g:rejected("invalid_label_value"))
    assert.are.equal(100, dropped(g, "buffer_full"))
    assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/healthy")))
  end)
end)
