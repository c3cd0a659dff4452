-- Load with faults against a real daemon, for a bounded 12 s: three TCP
-- producers pushing with acks (a window of 8 messages each), one HTTP
-- producer, scrapes every half second, a reload every two seconds (SIGHUP
-- and POST /-/reload in turn), one producer that sends garbage on fresh
-- connections, and one that asks for acks and never reads them.
--
-- Afterwards: every acked update is in /metrics with its last acked value,
-- and the gateway's own counters add up: received = accepted + rejected +
-- dropped, and per reason they match what the producers were told.
--
-- The producer that never reads stops after NEVER_READ_MAX messages, whose
-- acks fit in the socket buffers and the gateway's pending-reply cap, so
-- it never trips the cut-off for unread acks (which today leaves a closed
-- connection spinning the event loop).
local gw = require "support.gateway"
local load = require "support.load"
local moongate = require "moongate"
local socket = require "socket"

local DURATION = 12
local NSERIES = 20        -- series a TCP producer owns
local NEVER_READ_MAX = 2000
local HTTP_NSERIES = 10

-- Every sample of a family in a scrape: label value of `label` -> value.
local function by_label(body, family, label)
  local out = {}
  for v, n in body:gmatch(family .. "{" .. label .. '="([^"]*)"} (%S+)') do
    out[v] = tonumber(n)
  end
  return out
end

local function sum(t)
  local s = 0
  for _, v in pairs(t) do s = s + v end
  return s
end

local function delta(after, before)
  local d = {}
  for k, v in pairs(after) do
    if v - (before[k] or 0) ~= 0 then d[k] = v - (before[k] or 0) end
  end
  return d
end

local function counters(g)
  local body = g:scrape()
  return {
    received = by_label(body, "moongate_samples_received_total", "transport"),
    rejected = by_label(body, "moongate_samples_rejected_total", "reason"),
    dropped = by_label(body, "moongate_samples_dropped_total", "reason"),
  }
end

describe("load with faults", function()
  local g, dir

  setup(function()
    dir = gw.tmpdir()
    gw.write_file(dir .. "/pipeline.lua",
                  '-- reloaded under load; touches no series of the spec\n'
                  .. 'relabel { { action = "labeldrop", regex = "debug" } }\n')
    g = gw.start({ "--enable-lifecycle", "--scripts", dir })
  end)
  teardown(function()
    g:stop()
    gw.sh("rm -rf " .. gw.quote(dir))
  end)

  it("loses no acked update and accounts for every one", function()
    local c0 = counters(g)
    local producers = {}
    for i = 1, 3 do producers[i] = load.producer(g.tcp, "lf_tcp" .. i, NSERIES, 8) end

    -- the HTTP producer: one push a turn, its own series
    local http = { seq = 0, acked = {}, sent = 0, accepted = 0, rejected = 0, dropped = 0 }
    local function http_push()
      http.seq = http.seq + 1
      local metrics = {}
      for i = 1, HTTP_NSERIES do
        metrics[i] = { name = "lf_http_" .. i, type = "gauge", value = http.seq * 100 + i }
      end
      local code, r = g:push_http { metrics = metrics }
      assert.are.equal(200, code)
      http.sent = http.sent + HTTP_NSERIES
      http.accepted, http.rejected, http.dropped =
        http.accepted + r.accepted, http.rejected + r.rejected, http.dropped + r.dropped
      if r.accepted == HTTP_NSERIES then
        for i = 1, HTTP_NSERIES do http.acked[i] = http.seq * 100 + i end
      end
    end

    -- garbage on a fresh connection each time: an error reply, the close
    local garbage = 0
    local function garbage_push()
      local c = gw.connect(g.tcp)
      c.sock:settimeout(2)
      c:send("\xc1not msgpack at all")
      local r = c:receive()
      c:close()
      assert.is_table(r, "no error reply to garbage")
      assert.are.equal("decode_error", r.errors[1].reason)
      garbage = garbage + 1
    end

    -- asks for acks, never reads them
    local nr = gw.connect(g.tcp)
    nr.sock:settimeout(2)
    local nr_sent, nr_last = 0, nil

    local scrapes, reloads = 0, 0
    local t0 = socket.gettime()
    local next_scrape, next_reload = t0 + 0.5, t0 + 2
    local iter = 0
    while socket.gettime() < t0 + DURATION do
      iter = iter + 1
      local socks = {}
      for _, p in ipairs(producers) do
        p:step()
        socks[#socks + 1] = p.sock
      end
      if nr_sent < NEVER_READ_MAX then
        nr_sent = nr_sent + 1
        nr_last = nr_sent
        nr:send { ack = nr_sent, metrics = { { name = "lf_never_reads", type = "gauge", value = nr_sent } } }
      end
      if iter % 5 == 0 then http_push() end
      if iter % 25 == 0 then garbage_push() end
      local now = socket.gettime()
      if now >= next_scrape then
        local body = g:scrape()
        assert.is_truthy(body:find("moongate_build_info", 1, true))
        scrapes = scrapes + 1
        next_scrape = now + 0.5
      end
      if now >= next_reload then
        reloads = reloads + 1
        if reloads % 2 == 1 then
          gw.sh("kill -HUP " .. g.pid)
        else
          assert.are.equal(200, (gw.http_request("POST", g.url .. "/-/reload")))
        end
        next_reload = now + 2
      end
      socket.select(socks, nil, 0.001)
    end

    for _, p in ipairs(producers) do
      assert.is_true(p:drain(10), p.prefix .. ": acks still pending")
    end
    assert.is_true(g:alive())
    gw.wait_for(function() return g:value("lf_never_reads") == nr_last end, 10,
                "the never-reading producer's last message")
    gw.wait_for(function()
      return select(2, (gw.read_file(g.log) or ""):gsub("msg=reloaded", "")) == reloads
    end, 5, "every reload logged")
    assert.are.equal(1, g:value("moongate_config_last_reload_successful"))

    -- every acked update is exposed with its last acked value
    local body = g:scrape()
    local acked_msgs = 0
    for _, p in ipairs(producers) do
      assert.is_true(p.acks > 100, p.prefix .. " acked only " .. p.acks .. " messages")
      acked_msgs = acked_msgs + p.acks
      for i = 1, NSERIES do
        assert.are.equal(p.acked[i], gw.value(body, p:name(i)), p:name(i))
      end
      assert.are.equal(p.sent_metrics, p.accepted)
      assert.are.equal(0, p.rejected + p.dropped)
    end
    for i = 1, HTTP_NSERIES do
      assert.are.equal(http.acked[i], gw.value(body, "lf_http_" .. i))
    end

    -- received = accepted + rejected + dropped, and each reason as told
    local c1 = counters(g)
    local received = delta(c1.received, c0.received)
    local rejected = delta(c1.rejected, c0.rejected)
    local dropped = delta(c1.dropped, c0.dropped)
    local tcp_sent = NSERIES * acked_msgs + nr_sent
    assert.are.same({ tcp = tcp_sent + garbage, http = http.sent }, received)
    assert.are.same({ decode_error = garbage }, rejected)
    assert.are.same({}, dropped)
    local accepted = 0
    for _, p in ipairs(producers) do accepted = accepted + p.accepted - p.dropped end
    accepted = accepted + http.accepted - http.dropped + nr_sent
    assert.are.equal(sum(received), accepted + sum(rejected) + sum(dropped))

    print(("\n[load] %.0f s: %d TCP acks (%d updates), %d HTTP pushes, %d garbage streams, "
           .. "%d unread acks, %d scrapes, %d reloads")
          :format(DURATION, acked_msgs, NSERIES * acked_msgs, http.seq, garbage, nr_sent, scrapes, reloads))
    for _, p in ipairs(producers) do p:close() end
    nr:close()
  end)
end)
