-- Every bad input of docs/wire.md against a real daemon, one `it` each.
-- For each: the reason counted in moongate_samples_rejected_total{reason}
-- (the delta between two scrapes), a clear error where the transport carries
-- one (HTTP status + JSON errors, the TCP ack's errors), the other metrics of
-- the same message still landing, and a good producer served afterwards.
local gw = require "support.gateway"
local moongate = require "moongate"
local cjson = require "cjson"

local TOKEN = "s3cret"
local BODY_LIMIT = 1 << 20 -- max_http_body_bytes of the main gateway

-- ---- helpers ----

local uniq, mp, auth = gw.uniq, gw.mp, gw.auth

-- A good producer is still served, over HTTP and over TCP.
local function assert_serves_good_producer(g, token)
  gw.assert_serves_good_producer(g, token)
  assert.is_true(g:alive())
end

-- Sends `bad` between two good gauges in one message over `transport`
-- ("http", "tcp", "udp"). Checks the reply names `reason` for index 1, the
-- counter rose by one, both neighbours landed, and a good producer is served.
local function check_rejects(g, transport, reason, bad)
  local a, b = uniq("sibling_before"), uniq("sibling_after")
  local msg = { metrics = {
    { name = a, type = "gauge", value = 7 },
    bad,
    { name = b, type = "gauge", value = 8 },
  } }
  local before = g:rejected(reason)
  local r
  if transport == "http" then
    local code
    code, r = g:push_http(msg)
    assert.are.equal(200, code)
  elseif transport == "tcp" then
    local err
    r, err = g:push_tcp(msg)
    assert.is_table(r, "no ack: " .. tostring(err))
  else
    gw.udp_send(g.udp, msg)
    gw.wait_for(function() return g:value(b) == 8 end, 5, "the datagram")
  end
  if r then
    assert.are.equal(2, r.accepted)
    assert.are.equal(1, r.rejected)
    assert.are.equal(1, #r.errors)
    assert.are.equal(reason, r.errors[1].reason)
    assert.are.equal(1, r.errors[1].index)
    assert.are.equal("string", type(r.errors[1].detail))
    assert.is_true(#r.errors[1].detail > 0)
  end
  assert.are.equal(before + 1, g:rejected(reason))
  local body = g:scrape()
  assert.are.equal(7, gw.value(body, a))
  assert.are.equal(8, gw.value(body, b))
  assert_serves_good_producer(g)
  return r
end

-- An error reply on a TCP stream, a message in it, then the connection
-- closed by the server.
local function assert_fatal_reply(c, reason)
  local r = gw.assert_fatal_reply(c, reason)
  assert.is_true(#r.error > 0)
  return r
end

local function vmrss_kb(pid)
  local s = gw.read_file("/proc/" .. pid .. "/status") or ""
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- ---- the main gateway: default limits but a 1 MiB HTTP body ----

describe("bad input", function()
  local g

  setup(function()
    g = gw.start_with_config(("return { limits = { max_http_body_bytes = %d } }\n"):format(BODY_LIMIT))
  end)
  teardown(function() g:stop() end)

  describe("invalid_metric_name", function()
    local cases = {
      { "a dash", "bad-name" },
      { "a leading digit", "0starts_with_digit" },
      { "an empty name", "" },
      { "a space", "with space" },
      { "a non-ASCII letter", "temp\xc3\xa9rature" },
      { "a NUL byte", "nul\0byte" },
      { "a name longer than max_name_len (256)", ("n"):rep(257) },
    }
    for _, c in ipairs(cases) do
      it(c[1] .. " (HTTP)", function()
        check_rejects(g, "http", "invalid_metric_name", { name = c[2], type = "gauge", value = 1 })
      end)
    end
    it("no name at all (TCP)", function()
      check_rejects(g, "tcp", "invalid_metric_name", { type = "gauge", value = 1 })
    end)
    it("a name that is not a string (TCP)", function()
      check_rejects(g, "tcp", "invalid_metric_name", { name = 42, value = 1 })
    end)
    it("a dash (UDP)", function()
      check_rejects(g, "udp", "invalid_metric_name", { name = "udp-bad", value = 1 })
    end)
  end)

  describe("invalid_label_name", function()
    local cases = {
      { "a dash", { ["bad-label"] = "x" } },
      { "a name starting with __", { __reserved = "x" } },
      { "__name__", { __name__ = "other_metric" } },
      { "a leading digit", { ["0digit"] = "x" } },
      { "a colon", { ["a:b"] = "x" } },
      { "an empty name", { [""] = "x" } },
      { "a key that is not a string", { [1] = "x" } },
    }
    for _, c in ipairs(cases) do
      it(c[1] .. " (HTTP)", function()
        check_rejects(g, "http", "invalid_label_name",
                      { name = uniq("lname"), type = "gauge", value = 1, labels = c[2] })
      end)
    end
    it("a name starting with __ (TCP)", function()
      check_rejects(g, "tcp", "invalid_label_name",
                    { name = uniq("lname"), type = "gauge", value = 1, labels = { __meta = "x" } })
    end)
    it("le on a histogram (TCP)", function()
      check_rejects(g, "tcp", "invalid_label_name",
                    { name = uniq("hist_le"), type = "histogram", labels = { le = "1" },
                      buckets = { [1] = 1, ["+Inf"] = 2 }, sum = 1, count = 2 })
    end)
    it("quantile on a summary (TCP)", function()
      check_rejects(g, "tcp", "invalid_label_name",
                    { name = uniq("sum_q"), type = "summary", labels = { quantile = "0.5" },
                      quantiles = { [0.5] = 1 }, sum = 1, count = 2 })
    end)
  end)

  describe("invalid_label_value", function()
    local cases = {
      { "bytes that are not UTF-8", "\xff\xfe" },
      { "an overlong encoding", "\xc0\xaf" },
      { "a UTF-16 surrogate", "\xed\xa0\x80" },
      { "a truncated sequence", "ab\xe2\x82" },
      { "a value longer than max_value_len (2048)", ("v"):rep(2049) },
    }
    for _, c in ipairs(cases) do
      it(c[1] .. " (HTTP)", function()
        check_rejects(g, "http", "invalid_label_value",
                      { name = uniq("lvalue"), type = "gauge", value = 1, labels = { path = c[2] } })
      end)
    end
    it("a value that is not a string (TCP)", function()
      check_rejects(g, "tcp", "invalid_label_value",
                    { name = uniq("lvalue"), type = "gauge", value = 1, labels = { code = 200 } })
    end)
  end)

  describe("invalid_value", function()
    local cases = {
      { "a NaN counter (float64 NaN)", { type = "counter", value = 0 / 0 } },
      { "a negative counter", { type = "counter", value = -1 } },
      { "a negative counter increment", { type = "counter", op = "add", value = -2 } },
      { "a gauge without a value", { type = "gauge" } },
      { "a value that is a string", { type = "gauge", value = "12" } },
      { "non-cumulative histogram buckets",
        { type = "histogram", buckets = { [0.1] = 5, [1] = 3, ["+Inf"] = 7 }, sum = 1, count = 7 } },
      { "a histogram count differing from its +Inf bucket",
        { type = "histogram", buckets = { [1] = 2, ["+Inf"] = 5 }, sum = 1, count = 4 } },
      { "a histogram with a NaN sum",
        { type = "histogram", buckets = { [1] = 2, ["+Inf"] = 5 }, sum = 0 / 0 } },
      { "a summary quantile outside [0, 1]",
        { type = "summary", quantiles = { [1.5] = 3 }, sum = 1, count = 1 } },
    }
    for _, c in ipairs(cases) do
      it(c[1] .. " (TCP)", function()
        local m = c[2]
        m.name = uniq("bad_value")
        check_rejects(g, "tcp", "invalid_value", m)
        assert.is_nil(g:value(m.name))
      end)
    end
    it("a NaN counter (HTTP)", function()
      check_rejects(g, "http", "invalid_value", { name = uniq("nan"), type = "counter", value = 0 / 0 })
    end)
  end)

  describe("type_conflict", function()
    it("the same series pushed as a counter, then as a gauge", function()
      local name = uniq("tc_same")
      local code, r = g:push_http { metrics = { { name = name, type = "counter", value = 5 } } }
      assert.are.equal(200, code)
      assert.are.equal(1, r.accepted)
      check_rejects(g, "http", "type_conflict", { name = name, type = "gauge", value = 1 })
      assert.are.equal(5, g:value(name))
    end)
    it("the same name with other labels, as a counter then a gauge", function()
      local name = uniq("tc_other")
      g:push_http { metrics = { { name = name, type = "counter", value = 5, labels = { a = "1" } } } }
      check_rejects(g, "tcp", "type_conflict",
                    { name = name, type = "gauge", value = 1, labels = { a = "2" } })
      assert.are.equal(5, g:value(name .. '{a="1"}'))
      assert.is_nil(g:value(name .. '{a="2"}'))
    end)
  end)

  describe("name_collision", function()
    it("a histogram foo, then a gauge foo_count", function()
      local foo = uniq("nc_hist")
      local r = g:push_tcp { metrics = { { name = foo, type = "histogram",
                                           buckets = { [1] = 1, ["+Inf"] = 2 }, sum = 3, count = 2 } } }
      assert.are.equal(1, r.accepted)
      check_rejects(g, "tcp", "name_collision", { name = foo .. "_count", type = "gauge", value = 9 })
      assert.are.equal(2, g:value(foo .. "_count"))
    end)
    it("a gauge foo_sum, then a histogram foo", function()
      local foo = uniq("nc_rev")
      g:push_tcp { metrics = { { name = foo .. "_sum", type = "gauge", value = 9 } } }
      check_rejects(g, "http", "name_collision",
                    { name = foo, type = "histogram", buckets = { ["+Inf"] = 2 }, sum = 3 })
      assert.are.equal(9, g:value(foo .. "_sum"))
    end)
    it("a counter x_total, then a gauge x", function()
      local x = uniq("nc_ctr")
      g:push_tcp { metrics = { { name = x .. "_total", type = "counter", value = 1 } } }
      check_rejects(g, "tcp", "name_collision", { name = x, type = "gauge", value = 1 })
    end)
  end)

  describe("duplicate_label", function()
    -- A Lua table cannot hold a key twice: the bytes are written by hand.
    local function metric_with_dup_labels(name)
      return mp.map(4) .. mp.str("name") .. mp.str(name)
          .. mp.str("type") .. mp.str("gauge")
          .. mp.str("value") .. moongate.encode(1)
          .. mp.str("labels") .. mp.map(2) .. mp.str("a") .. mp.str("1") .. mp.str("a") .. mp.str("2")
    end

    it("a label name twice in a metric's labels (TCP)", function()
      local a, b = uniq("dup_before"), uniq("dup_after")
      local bytes = mp.map(2) .. mp.str("ack") .. moongate.encode(3)
          .. mp.str("metrics") .. mp.arr(3)
          .. moongate.encode { name = a, type = "gauge", value = 7 }
          .. metric_with_dup_labels(uniq("dup"))
          .. moongate.encode { name = b, type = "gauge", value = 8 }
      local before = g:rejected("duplicate_label")
      local r = g:push_tcp(bytes)
      assert.are.equal(3, r.ack)
      assert.are.equal(2, r.accepted)
      assert.are.equal(1, r.rejected)
      assert.are.equal("duplicate_label", r.errors[1].reason)
      assert.are.equal(1, r.errors[1].index)
      assert.are.equal(before + 1, g:rejected("duplicate_label"))
      assert.are.equal(7, g:value(a))
      assert.are.equal(8, g:value(b))
      assert_serves_good_producer(g)
    end)

    it("a label name twice in a metric's labels (HTTP)", function()
      local a = uniq("dup_before")
      local bytes = mp.map(1) .. mp.str("metrics") .. mp.arr(2)
          .. metric_with_dup_labels(uniq("dup"))
          .. moongate.encode { name = a, type = "gauge", value = 7 }
      local before = g:rejected("duplicate_label")
      local code, r = g:push_http(bytes)
      assert.are.equal(200, code)
      assert.are.equal(1, r.accepted)
      assert.are.equal(1, r.rejected)
      assert.are.equal("duplicate_label", r.errors[1].reason)
      assert.are.equal(0, r.errors[1].index)
      assert.are.equal(before + 1, g:rejected("duplicate_label"))
      assert.are.equal(7, g:value(a))
      assert_serves_good_producer(g)
    end)

    it("a source label twice refuses the message; the next message of the body lands", function()
      local dup, good = uniq("dup_src"), uniq("dup_src_next")
      local bad_msg = mp.map(2)
          .. mp.str("source") .. mp.map(2) .. mp.str("job") .. mp.str("a") .. mp.str("job") .. mp.str("b")
          .. mp.str("metrics") .. mp.arr(1) .. moongate.encode { name = dup, type = "gauge", value = 1 }
      local before = g:rejected("duplicate_label")
      local code, r = g:push_http(bad_msg .. moongate.encode { metrics = { { name = good, value = 3 } } })
      assert.are.equal(200, code)
      assert.are.equal(1, r.accepted)
      assert.are.equal(1, r.rejected)
      assert.are.equal("duplicate_label", r.errors[1].reason)
      assert.are.equal(before + 1, g:rejected("duplicate_label"))
      assert.is_nil(g:value(dup .. '{job="a"}'))
      assert.is_nil(g:value(dup .. '{job="b"}'))
      assert.are.equal(3, g:value(good))
      assert_serves_good_producer(g)
    end)
  end)

  describe("too_many_labels", function()
    it("33 labels, over the default max_labels of 32 (HTTP)", function()
      local labels = {}
      for i = 1, 33 do labels["l" .. i] = "v" end
      check_rejects(g, "http", "too_many_labels", { name = uniq("many_labels"), value = 1, labels = labels })
    end)
    it("30 labels and 3 source labels (TCP)", function()
      local labels = {}
      for i = 1, 30 do labels["l" .. i] = "v" end
      local name, sib = uniq("many_with_source"), uniq("few_with_source")
      local before = g:rejected("too_many_labels")
      local r = g:push_tcp { source = { job = "j", instance = "i", zone = "z" }, metrics = {
        { name = name, value = 1, labels = labels },
        { name = sib, value = 2, labels = { a = "b" } },
      } }
      assert.are.equal(1, r.accepted)
      assert.are.equal(1, r.rejected)
      assert.are.equal("too_many_labels", r.errors[1].reason)
      assert.are.equal(0, r.errors[1].index)
      assert.are.equal(before + 1, g:rejected("too_many_labels"))
      assert.are.equal(2, g:value(sib .. '{a="b",instance="i",job="j",zone="z"}'))
      assert_serves_good_producer(g)
    end)
  end)

  describe("too_many_metrics", function()
    it("10001 metrics in one message, over the default max_metrics of 10000", function()
      local metrics = {}
      for i = 1, 10001 do metrics[i] = { name = "too_many_metrics_m", value = i } end
      local next_msg = uniq("after_too_many")
      local body = moongate.encode { metrics = metrics }
          .. moongate.encode { metrics = { { name = next_msg, type = "gauge", value = 4 } } }
      local before = g:rejected("too_many_metrics")
      local code, r = g:push_http(body)
      assert.are.equal(200, code)
      assert.are.equal(1, r.accepted)
      assert.are.equal("too_many_metrics", r.errors[1].reason)
      assert.is_truthy(r.errors[1].detail:find("max_metrics", 1, true))
      -- every refused metric is counted (docs/wire.md), as for unauthorized
      assert.are.equal(10001, r.rejected)
      assert.are.equal(before + 10001, g:rejected("too_many_metrics"))
      assert.is_nil(g:value("too_many_metrics_m"))
      assert.are.equal(4, g:value(next_msg))
      assert_serves_good_producer(g)
    end)
  end)

  describe("decode_error", function()
    it("HTTP: a body that is not msgpack answers 400", function()
      local before = g:rejected("decode_error")
      local code, r = g:push_http("\xc1\xc1\xc1 not msgpack")
      assert.are.equal(400, code)
      assert.are.equal(0, r.accepted)
      assert.are.equal("decode_error", r.errors[1].reason)
      assert.is_true(#r.errors[1].detail > 0)
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert_serves_good_producer(g)
    end)

    it("HTTP: an empty body answers 400, rejected as counted", function()
      local before = g:rejected("decode_error")
      local code, r = g:push_http("")
      assert.are.equal(400, code)
      assert.are.equal("decode_error", r.errors[1].reason)
      -- one function counts a rejection and reports it: they cannot disagree
      assert.are.equal(1, r.rejected)
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert_serves_good_producer(g)
    end)

    it("HTTP: a text body holding no message (JSON sent as msgpack) answers 400", function()
      -- every ASCII byte is a msgpack positive fixint: it decodes, as no message
      local before = g:rejected("decode_error")
      local code, r = g:push_http('{"metrics":[{"name":"json_metric","value":1}]}')
      assert.are.equal(400, code)
      assert.are.equal(0, r.accepted)
      assert.are.equal("decode_error", r.errors[1].reason)
      assert.is_true(g:rejected("decode_error") > before)
      assert.is_nil(g:value("json_metric"))
      assert_serves_good_producer(g)
    end)

    it("HTTP: garbage after a good message: 400, the good message counted", function()
      local good = uniq("before_garbage_http")
      local before = g:rejected("decode_error")
      local code, r = g:push_http(moongate.encode { metrics = { { name = good, type = "gauge", value = 5 } } }
                                  .. "\xc1garbage")
      assert.are.equal(400, code)
      assert.are.equal(1, r.accepted)
      assert.are.equal("decode_error", r.errors[1].reason)
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert.are.equal(5, g:value(good))
      assert_serves_good_producer(g)
    end)

    it("TCP: garbage in the stream: an error reply, the close, what came before counted", function()
      local good = uniq("before_garbage_tcp")
      local before = g:rejected("decode_error")
      local c = gw.connect(g.tcp)
      c:send { metrics = { { name = good, type = "gauge", value = 6 } } }
      c:send("\xc1 and then some")
      local r = assert_fatal_reply(c, "decode_error")
      c:close()
      assert.are.equal(1, r.rejected)
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert.are.equal(6, g:value(good))
      assert_serves_good_producer(g)
    end)

    it("TCP: a stream truncated mid-message: an error reply, the close, what came before counted", function()
      local good = uniq("before_truncation")
      local cut = moongate.encode { metrics = { { name = uniq("truncated"), type = "gauge", value = 1 } } }
      local before = g:rejected("decode_error")
      local c = gw.connect(g.tcp)
      c:send(moongate.encode { metrics = { { name = good, type = "gauge", value = 6 } } }
             .. cut:sub(1, #cut - 3))
      assert(c.sock:shutdown("send")) -- the producer is done; its last message is not whole
      assert_fatal_reply(c, "decode_error")
      c:close()
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert.are.equal(6, g:value(good))
      assert_serves_good_producer(g)
    end)

    it("TCP: arrays nested 1000 deep: an error reply and the close, the daemon stays up", function()
      local before = g:rejected("decode_error")
      local c = gw.connect(g.tcp)
      -- small enough to be read whole: a close with unread bytes resets the
      -- connection, and the reset may overtake the error reply
      c:send(("\x91"):rep(1000))
      local r = assert_fatal_reply(c, "decode_error")
      c:close()
      assert.is_truthy(r.errors[1].detail:find("max_depth", 1, true))
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert_serves_good_producer(g)
    end)

    it("TCP: a message that is not a map is refused, the stream goes on", function()
      local before = g:rejected("decode_error")
      local c = gw.connect(g.tcp)
      c:send(moongate.encode(5))
      c:send { ack = 11, metrics = {} }
      local r = c:receive()
      c:close()
      assert.are.equal(11, r.ack)
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert_serves_good_producer(g)
    end)

    it("TCP: a message without a metrics array is refused in its ack", function()
      local before = g:rejected("decode_error")
      local r, err = g:push_tcp { ack = 12, source = { job = "x" } }
      assert.is_table(r, "no ack: " .. tostring(err))
      assert.are.equal(12, r.ack)
      assert.are.equal(1, r.rejected)
      assert.are.equal("decode_error", r.errors[1].reason)
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert_serves_good_producer(g)
    end)

    it("UDP: a datagram that is not msgpack is counted", function()
      local before = g:rejected("decode_error")
      gw.udp_send(g.udp, "\xc1\xc1")
      gw.wait_for(function() return g:rejected("decode_error") == before + 1 end, 5, "the count")
      assert_serves_good_producer(g)
    end)
  end)

  describe("too_large", function()
    it("HTTP: a body over max_http_body_bytes answers 413", function()
      local name = uniq("huge_body")
      local body = moongate.encode { metrics = { { name = name, help = ("h"):rep(BODY_LIMIT + 1000), value = 1 } } }
      local before = g:rejected("too_large")
      local code, r = g:push_http(body)
      assert.are.equal(413, code)
      assert.is_table(r, "a JSON reply, not: " .. tostring(r))
      assert.are.equal("too_large", r.errors[1].reason)
      assert.are.equal(before + 1, g:rejected("too_large"))
      assert.is_nil(g:value(name))
      assert_serves_good_producer(g)
    end)

    it("HTTP: an array header claiming 2^32-1 elements answers 413", function()
      local before = g:rejected("too_large")
      local code, r = g:push_http("\xdd\xff\xff\xff\xff")
      assert.are.equal(413, code)
      assert.are.equal("too_large", r.errors[1].reason)
      assert.are.equal(before + 1, g:rejected("too_large"))
      assert_serves_good_producer(g)
    end)

    -- 5 or 6 bytes that claim 4 GiB: refused at once, without waiting for
    -- the bytes and without allocating for them.
    local claims = {
      { "an array header claiming 2^32-1 elements", "\xdd\xff\xff\xff\xff" },
      { "a map header claiming 2^32-1 pairs", "\xdf\xff\xff\xff\xff" },
      { "a str32 header claiming 4 GiB", "\xdb\xff\xff\xff\xff" },
      { "a bin32 header claiming 4 GiB", "\xc6\xff\xff\xff\xff" },
      { "an ext32 header claiming 4 GiB", "\xc9\xff\xff\xff\xff\x01" },
      { "a metrics array claiming 2^32-1 metrics",
        mp.map(1) .. mp.str("metrics") .. "\xdd\xff\xff\xff\xff" },
    }
    for _, claim in ipairs(claims) do
      it("TCP: " .. claim[1] .. " is refused at once, the daemon stays small", function()
        local rss0 = vmrss_kb(g.pid)
        local good = uniq("before_claim")
        local before = g:rejected("too_large")
        local c = gw.connect(g.tcp)
        c.sock:settimeout(5) -- the reply must come without any more bytes
        c:send(moongate.encode { metrics = { { name = good, type = "gauge", value = 3 } } } .. claim[2])
        local r = assert_fatal_reply(c, "too_large")
        c:close()
        assert.is_truthy(r.errors[1].detail:find("max_message_bytes", 1, true))
        assert.is_true(g:alive())
        local rss1 = vmrss_kb(g.pid)
        assert.is_true(rss1 - rss0 < 16 * 1024, ("VmRSS grew from %d to %d kB"):format(rss0, rss1))
        assert.is_true(rss1 < 128 * 1024, ("VmRSS is %d kB"):format(rss1))
        assert.are.equal(before + 1, g:rejected("too_large"))
        assert.are.equal(3, g:value(good))
        assert_serves_good_producer(g)
      end)
    end
  end)

  describe("Content-Type", function()
    it("a wrong Content-Type answers 415 and counts the refusal", function()
      local name = uniq("wrong_type")
      local body = g:scrape()
      local code, r = g:push_http({ metrics = { { name = name, value = 1 } } },
                                  { ["content-type"] = "application/json" })
      assert.are.equal(415, code)
      assert.is_truthy(r.errors[1].detail:find("Content-Type", 1, true))
      local reason = r.errors[1].reason
      local key = ('moongate_samples_rejected_total{reason="%s"}'):format(reason)
      assert.are.equal((gw.value(body, key) or 0) + 1, g:value(key))
      assert.are.equal(1, r.rejected)
      assert.is_nil(g:value(name))
      assert_serves_good_producer(g)
    end)

    it("no Content-Type answers 415", function()
      local name = uniq("no_type")
      local body = moongate.encode { metrics = { { name = name, value = 1 } } }
      local code, resp = gw.http_request("POST", g.url .. "/api/v1/push", body,
                                         { ["content-length"] = tostring(#body) })
      assert.are.equal(415, code)
      local r = cjson.decode(resp)
      assert.is_truthy(r.errors[1].detail:find("Content-Type", 1, true))
      assert.is_nil(g:value(name))
      assert_serves_good_producer(g)
    end)
  end)

  describe("replies and exposition stay well-formed", function()
    -- a JSON text is UTF-8 (RFC 8259): a detail quoting the bad bytes must not break it
    local cases = {
      { "a metric name with bytes that are not UTF-8", "bad\xff\xfename" },
      { "a long metric name cut inside a UTF-8 character", ("a"):rep(63) .. "\xc3\xa9" },
    }
    for _, c in ipairs(cases) do
      it("HTTP: the reply to " .. c[1] .. " is UTF-8 JSON", function()
        local body = moongate.encode { metrics = { { name = c[2], value = 1 } } }
        local code, resp = gw.http_request("POST", g.url .. "/api/v1/push", body, {
          ["content-type"] = "application/msgpack", ["content-length"] = tostring(#body) })
        assert.are.equal(200, code)
        assert.is_truthy(utf8.len(resp), "the reply is not UTF-8: " .. resp)
        local r = cjson.decode(resp)
        assert.are.equal("invalid_metric_name", r.errors[1].reason)
      end)
    end

    it("a label value or HELP text cannot inject lines into /metrics", function()
      local name = uniq("injection")
      local code, r = g:push_http { metrics = { {
        name = name, type = "gauge", value = 1,
        help = "innocent\ninjected_help_metric 666",
        labels = { path = 'x"} 1\ninjected_label_metric 666\n#' },
      } } }
      assert.are.equal(200, code)
      assert.are.equal(1, r.accepted)
      local body = g:scrape()
      assert.is_nil(body:find("\ninjected_label_metric", 1, true))
      assert.is_nil(body:find("\ninjected_help_metric", 1, true))
      assert.is_truthy(body:find(name .. '{path="x\\"} 1\\ninjected_label_metric 666\\n#"} 1', 1, true))
    end)
  end)
end)

-- ---- push auth: a gateway with a push tokens file ----

describe("unauthorized", function()
  local g

  setup(function()
    local dir = gw.tmpdir()
    gw.write_file(dir .. "/push.tokens", TOKEN .. "\n")
    g = gw.start_with_config(('return { auth = { push = { tokens_file = "%s/push.tokens" } } }\n'):format(dir))
  end)
  teardown(function() g:stop() end)

  local function http_refused(headers, detail)
    local name = uniq("unauth_http")
    local before = g:rejected("unauthorized")
    local code, r = g:push_http({ metrics = { { name = name, type = "gauge", value = 1 } } }, headers)
    assert.are.equal(401, code)
    assert.are.equal(0, r.accepted)
    assert.are.equal(1, r.rejected)
    assert.are.equal("unauthorized", r.errors[1].reason)
    assert.are.equal(detail, r.errors[1].detail)
    assert.are.equal(before + 1, g:rejected("unauthorized"))
    assert.is_nil(g:value(name))
    assert_serves_good_producer(g, TOKEN)
  end

  it("HTTP without a bearer token answers 401", function()
    http_refused(nil, "a bearer token is required")
  end)

  it("HTTP with a wrong bearer token answers 401", function()
    http_refused(auth("wrong"), "bad push token")
  end)

  it("HTTP with a token that is a prefix of the right one answers 401", function()
    http_refused(auth(TOKEN:sub(1, 3)), "bad push token")
  end)

  it("HTTP with the right bearer token answers 200", function()
    local name = uniq("auth_http")
    local before = g:rejected("unauthorized")
    local code, r = g:push_http({ metrics = { { name = name, type = "gauge", value = 4 } } }, auth(TOKEN))
    assert.are.equal(200, code)
    assert.are.equal(1, r.accepted)
    assert.are.equal(before, g:rejected("unauthorized"))
    assert.are.equal(4, g:value(name))
  end)

  it("TCP without a token: refused as unauthorized in the ack", function()
    local a, b = uniq("unauth_tcp_a"), uniq("unauth_tcp_b")
    local before = g:rejected("unauthorized")
    local r = g:push_tcp { ack = 5, metrics = { { name = a, value = 1 }, { name = b, value = 2 } } }
    assert.are.equal(5, r.ack)
    assert.are.equal(0, r.accepted)
    assert.are.equal(2, r.rejected)
    assert.are.equal("unauthorized", r.errors[1].reason)
    assert.are.equal(before + 2, g:rejected("unauthorized"))
    assert.is_nil(g:value(a))
    assert_serves_good_producer(g, TOKEN)
  end)

  it("TCP with a wrong token: refused as unauthorized in the ack", function()
    local a = uniq("unauth_tcp_wrong")
    local before = g:rejected("unauthorized")
    local r = g:push_tcp { token = "wrong", metrics = { { name = a, value = 1 } } }
    assert.are.equal(0, r.accepted)
    assert.are.equal(1, r.rejected)
    assert.are.equal("unauthorized", r.errors[1].reason)
    assert.are.equal(before + 1, g:rejected("unauthorized"))
    assert.is_nil(g:value(a))
  end)

  it("TCP with the token key: accepted", function()
    local a = uniq("auth_tcp")
    local r = g:push_tcp { token = TOKEN, metrics = { { name = a, type = "gauge", value = 3 } } }
    assert.are.equal(1, r.accepted)
    assert.are.equal(0, r.rejected)
    assert.are.equal(3, g:value(a))
  end)

  it("UDP without a token: counted as unauthorized", function()
    local a = uniq("unauth_udp")
    local before = g:rejected("unauthorized")
    gw.udp_send(g.udp, { metrics = { { name = a, value = 1 } } })
    gw.wait_for(function() return g:rejected("unauthorized") == before + 1 end, 5, "the count")
    assert.is_nil(g:value(a))
    local b = uniq("auth_udp")
    gw.udp_send(g.udp, { token = TOKEN, metrics = { { name = b, type = "gauge", value = 2 } } })
    gw.wait_for(function() return g:value(b) == 2 end, 5, "the datagram with a token")
  end)
end)
