-- The Pushgateway API over HTTP against a real daemon on 127.0.0.1: the
-- routes and Pushgateway's semantics (PUT replaces a group, POST the
-- families it names, DELETE removes it, an empty PUT clears it), grouping
-- keys with @base64 values, refusals that name the line, push times, both
-- body formats, gzip, the JSON of GET /api/v1/metrics, and the pipeline,
-- caps, rules and TTLs the pushed series meet.
local gw = require "support.gateway"
local pgw = require "support.pushgw"
local cjson = require "cjson"

local function scrape_value(g, series)
  return gw.value(g:scrape(), series)
end

describe("the Pushgateway API", function()
  local g

  before_each(function() g = gw.start({ "--enable-lifecycle" }) end)
  after_each(function() g:stop() end)

  it("PUT stores a text body under the grouping key, with the group's push times", function()
    local before = os.time()
    local code, body = pgw.put(g.url, "/metrics/job/batch/instance/w1",
      "# HELP done_total Jobs done.\n# TYPE done_total counter\ndone_total 3\n" ..
      "queue_depth{queue=\"a\"} 7\n")
    assert.are.equal(200, code, body)
    local text = g:scrape()
    assert.are.equal(3, gw.value(text, 'done_total{instance="w1",job="batch"}'))
    assert.are.equal(7, gw.value(text, 'queue_depth{instance="w1",job="batch",queue="a"}'))
    local t = gw.value(text, 'push_time_seconds{instance="w1",job="batch"}')
    assert.is_true(t >= before - 1 and t <= os.time() + 1, tostring(t))
    assert.are.equal(0, gw.value(text, 'push_failure_time_seconds{instance="w1",job="batch"}'))
    assert.matches("# TYPE push_time_seconds gauge", text, 1, true)
    assert.matches('moongate_samples_received_total{transport="pushgateway"} 2', text, 1, true)
  end)

  it("PUT replaces the whole group; its stale series leave at once", function()
    pgw.put(g.url, "/metrics/job/j", "a 1\nb 2\n")
    pgw.put(g.url, "/metrics/job/j", "b 3\nc 4\n")
    local text = g:scrape()
    assert.is_nil(gw.value(text, 'a{job="j"}'))
    assert.are.equal(3, gw.value(text, 'b{job="j"}'))
    assert.are.equal(4, gw.value(text, 'c{job="j"}'))
  end)

  it("POST replaces only the families with the same names", function()
    pgw.put(g.url, "/metrics/job/j", 'a{x="1"} 1\na{x="2"} 2\nb 2\n')
    local code = pgw.post(g.url, "/metrics/job/j", 'a{x="3"} 3\n')
    assert.are.equal(200, code)
    local text = g:scrape()
    assert.is_nil(gw.value(text, 'a{job="j",x="1"}'))
    assert.is_nil(gw.value(text, 'a{job="j",x="2"}'))
    assert.are.equal(3, gw.value(text, 'a{job="j",x="3"}'))
    assert.are.equal(2, gw.value(text, 'b{job="j"}'))
  end)

  it("an empty PUT clears the group but keeps its push times", function()
    pgw.put(g.url, "/metrics/job/j", "a 1\n")
    local code = pgw.put(g.url, "/metrics/job/j", "")
    assert.are.equal(200, code)
    local text = g:scrape()
    assert.is_nil(gw.value(text, 'a{job="j"}'))
    assert.is_true(gw.value(text, 'push_time_seconds{job="j"}') > 0)
  end)

  it("DELETE removes the group with its push times (202, as Pushgateway)", function()
    pgw.put(g.url, "/metrics/job/j/i/1", "a 1\n")
    pgw.put(g.url, "/metrics/job/j/i/2", "a 2\n")
    assert.are.equal(202, (pgw.delete(g.url, "/metrics/job/j/i/1")))
    local text = g:scrape()
    assert.is_nil(gw.value(text, 'a{i="1",job="j"}'))
    assert.is_nil(gw.value(text, 'push_time_seconds{i="1",job="j"}'))
    assert.are.equal(2, gw.value(text, 'a{i="2",job="j"}'))
  end)

  it("reads @base64 values: a slash in the job, padding optional, = for empty", function()
    local code, body = pgw.put(g.url, "/metrics/job@base64/" .. pgw.b64("a/b") ..
      "/path@base64/" .. pgw.b64("/var/tmp") .. "==/empty@base64/=", "a 1\n")
    assert.are.equal(200, code, body)
    assert.are.equal(1, scrape_value(g, 'a{job="a/b",path="/var/tmp"}'))
    local _, json = gw.http_request("GET", g.url .. "/api/v1/metrics")
    local grp = cjson.decode(json).data[1]
    assert.are.same({ job = "a/b", path = "/var/tmp", empty = "" }, grp.labels)
  end)

  it("refuses a bad grouping key with 400", function()
    for _, path in ipairs({ "/metrics/job/j/odd", "/metrics/job@base64/!!", "/metrics/job/j/__x/1",
                            "/metrics/job/j/a/1/a/2", "/metrics/job/j/" }) do
      local code, body = pgw.put(g.url, path, "a 1\n")
      assert.are.equal(400, code, path)
      assert.matches("bad grouping key", body, 1, true)
    end
  end)

  it("refuses timestamps as Pushgateway does, naming the line, and marks the failure", function()
    pgw.put(g.url, "/metrics/job/j", "a 1\n")
    local code, body = pgw.put(g.url, "/metrics/job/j", "a 1\nb 2 1700000000000\n")
    assert.are.equal(400, code)
    assert.matches("line 2: pushed metrics must not have timestamps", body, 1, true)
    local text = g:scrape()
    assert.are.equal(1, gw.value(text, 'a{job="j"}'))
    assert.is_true(gw.value(text, 'push_failure_time_seconds{job="j"}') > 0)
  end)

  it("refuses a type conflict across groups with 400 naming the line, counted", function()
    pgw.put(g.url, "/metrics/job/a", "# TYPE x gauge\nx 1\n")
    local code, body = pgw.put(g.url, "/metrics/job/b", "y 1\n# TYPE x counter\nx 2\n")
    assert.are.equal(400, code)
    assert.matches("line 3: x is a gauge in another group", body, 1, true)
    local text = g:scrape()
    assert.is_nil(gw.value(text, 'y{job="b"}')) -- refused whole
    assert.are.equal(1, gw.value(text, 'moongate_samples_rejected_total{reason="type_conflict"}'))
    -- the same group may change a family's type: it replaces it
    assert.are.equal(200, (pgw.put(g.url, "/metrics/job/a", "# TYPE x counter\nx 2\n")))
  end)

  it("refuses a series duplicated across groups and a name clash", function()
    pgw.put(g.url, "/metrics/job/a", 'z{i="1"} 1\n')
    local code, body = pgw.put(g.url, "/metrics/job/a/i/1", "z 2\n")
    assert.are.equal(400, code)
    assert.matches('z{i="1",job="a"} is already pushed by another group', body, 1, true)
    pgw.put(g.url, "/metrics/job/s", "# TYPE lat summary\nlat_sum 1\nlat_count 1\n")
    code, body = pgw.put(g.url, "/metrics/job/t", "# TYPE lat_count gauge\nlat_count 5\n")
    assert.are.equal(400, code)
    assert.matches("line 2: lat_count collides with the summary lat", body, 1, true)
  end)

  it("accepts a HELP that differs across groups", function()
    assert.are.equal(200, (pgw.put(g.url, "/metrics/job/a", "# HELP h One.\nh 1\n")))
    assert.are.equal(200, (pgw.put(g.url, "/metrics/job/b", "# HELP h Two.\nh 2\n")))
    local text = g:scrape()
    assert.are.equal(1, gw.value(text, 'h{job="a"}'))
    assert.are.equal(2, gw.value(text, 'h{job="b"}'))
  end)

  it("lets a grouping label win over the body's, with no exported_ renaming", function()
    pgw.put(g.url, "/metrics/job/real/instance/i", 'a{job="fake",instance="x",k="v"} 1\n')
    local text = g:scrape()
    assert.are.equal(1, gw.value(text, 'a{instance="i",job="real",k="v"}'))
    assert.is_nil(text:find("exported_", 1, true))
  end)

  it("overrides a push_time_seconds in the body with its own", function()
    pgw.put(g.url, "/metrics/job/j", "push_time_seconds 5\na 1\n")
    assert.is_true(scrape_value(g, 'push_time_seconds{job="j"}') > 1e9)
  end)

  it("reads bodies without Content-Type, form-encoded (curl's default) and gzip-encoded", function()
    assert.are.equal(200, (pgw.put(g.url, "/metrics/job/a", "a 1\n")))
    assert.are.equal(200, (pgw.put(g.url, "/metrics/job/b", "b 2\n",
      { ["content-type"] = "application/x-www-form-urlencoded" })))
    local code, body = pgw.put(g.url, "/metrics/job/c", pgw.gzip("# TYPE c counter\nc 3\n"),
      { ["content-encoding"] = "gzip", ["content-type"] = "text/plain; version=0.0.4" })
    assert.are.equal(200, code, body)
    local text = g:scrape()
    assert.are.equal(1, gw.value(text, 'a{job="a"}'))
    assert.are.equal(2, gw.value(text, 'b{job="b"}'))
    assert.are.equal(3, gw.value(text, 'c{job="c"}'))
    code = pgw.put(g.url, "/metrics/job/d", "not gzip", { ["content-encoding"] = "gzip" })
    assert.are.equal(400, code)
  end)

  it("bounds a gzip body after inflating it by max_http_body_bytes", function()
    g:stop()
    g = gw.start_with_config("return { limits = { max_http_body_bytes = 4096 } }")
    local big = string.rep("a 1\n", 1) .. string.rep("# padding padding padding\n", 2000)
    local z = pgw.gzip(big)
    assert.is_true(#z < 4096)
    local code = pgw.put(g.url, "/metrics/job/j", z, { ["content-encoding"] = "gzip" })
    assert.are.equal(413, code)
  end)

  it("reads delimited protobuf MetricFamily bodies, every type", function()
    local body = pgw.proto({
      { name = "pc_total", help = "A counter.", type = pgw.COUNTER,
        metrics = { { labels = { k = "v" }, value = 5 } } },
      { name = "pg", type = pgw.GAUGE, metrics = { { value = -1.5 } } },
      { name = "pu", type = pgw.UNTYPED, metrics = { { value = 2 } } },
      { name = "ps", type = pgw.SUMMARY,
        metrics = { { sum = 3, count = 2, quantiles = { { 0.5, 1 }, { 0.9, 2 } } } } },
      { name = "ph", type = pgw.HISTOGRAM,
        metrics = { { sum = 1.5, count = 3, buckets = { { 0.5, 1 }, { 1, 2 } } } } },
    })
    local code, reply = pgw.put(g.url, "/metrics/job/pb", body,
      { ["content-type"] = pgw.PROTO_TYPE })
    assert.are.equal(200, code, reply)
    local text = g:scrape()
    assert.are.equal(5, gw.value(text, 'pc_total{job="pb",k="v"}'))
    assert.matches("# HELP pc_total A counter.", text, 1, true)
    assert.are.equal(-1.5, gw.value(text, 'pg{job="pb"}'))
    assert.are.equal(2, gw.value(text, 'pu{job="pb"}'))
    assert.are.equal(2, gw.value(text, 'ps{job="pb",quantile="0.9"}'))
    assert.are.equal(2, gw.value(text, 'ps_count{job="pb"}'))
    assert.are.equal(2, gw.value(text, 'ph_bucket{job="pb",le="1"}'))
    assert.are.equal(3, gw.value(text, 'ph_bucket{job="pb",le="+Inf"}'))
    -- timestamps are refused in protobuf too, naming the message
    code, reply = pgw.put(g.url, "/metrics/job/pb2",
      pgw.proto({ { name = "t", type = pgw.GAUGE, metrics = { { value = 1, ts = 17 } } } }),
      { ["content-type"] = pgw.PROTO_TYPE })
    assert.are.equal(400, code)
    assert.matches("message 1: pushed metrics must not have timestamps", reply, 1, true)
    -- a length past the body
    code, reply = pgw.put(g.url, "/metrics/job/pb3", pgw.varint(1000) .. "xx",
      { ["content-type"] = pgw.PROTO_TYPE })
    assert.are.equal(400, code)
    assert.matches("message 1 at byte 0: says 1000 bytes, 2 are left", reply, 1, true)
  end)

  it("refuses a malformed line with 400 naming it, counted under its reason", function()
    local code, body = pgw.put(g.url, "/metrics/job/j", "ok 1\nbad{a=\"x\" 1\n")
    assert.are.equal(400, code)
    assert.matches("line 2: expected ',' or '}' after the value of label a", body, 1, true)
    code, body = pgw.put(g.url, "/metrics/job/j", "# TYPE c counter\nc -1\n")
    assert.are.equal(400, code)
    assert.matches("line 2: c: counter value -1 is NaN or negative", body, 1, true)
    local text = g:scrape()
    assert.are.equal(1, gw.value(text, 'moongate_samples_rejected_total{reason="decode_error"}'))
    assert.are.equal(1, gw.value(text, 'moongate_samples_rejected_total{reason="invalid_value"}'))
    assert.is_nil(gw.value(text, 'ok{job="j"}'))
  end)

  it("answers GET /api/v1/metrics in Pushgateway's shape and GET /api/v1/status", function()
    pgw.put(g.url, "/metrics/job/j/instance/i",
      "# HELP a Help of a.\n# TYPE a gauge\na{x=\"1\"} 1.5\n# TYPE h histogram\n" ..
      "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n")
    local code, body = gw.http_request("GET", g.url .. "/api/v1/metrics")
    assert.are.equal(200, code)
    local doc = cjson.decode(body)
    assert.are.equal("success", doc.status)
    assert.are.equal(1, #doc.data)
    local grp = doc.data[1]
    assert.are.same({ job = "j", instance = "i" }, grp.labels)
    assert.are.equal("GAUGE", grp.a.type)
    assert.are.equal("Help of a.", grp.a.help)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", grp.a.time_stamp)
    assert.are.same({ { labels = { job = "j", instance = "i", x = "1" }, value = "1.5" } },
      grp.a.metrics)
    assert.are.same({ ["1"] = "1", ["+Inf"] = "2" }, grp.h.metrics[1].buckets)
    assert.are.equal("GAUGE", grp.push_time_seconds.type)
    assert.are.equal("0", grp.push_failure_time_seconds.metrics[1].value)
    code, body = gw.http_request("GET", g.url .. "/api/v1/status")
    assert.are.equal(200, code)
    assert.are.equal("success", cjson.decode(body).status)
  end)

  it("sends pushed groups through the Lua pipeline", function()
    g:stop()
    local dir = gw.tmpdir()
    gw.write_file(dir .. "/drop.lua",
      'relabel { { action = "drop", source_labels = { "__name__" }, regex = "secret_.*" } }\n')
    g = gw.start({ "--enable-lifecycle", "--scripts", dir })
    pgw.put(g.url, "/metrics/job/j", "secret_x 1\nshown 2\n")
    local text = g:scrape()
    assert.is_nil(gw.value(text, 'secret_x{job="j"}'))
    assert.are.equal(2, gw.value(text, 'shown{job="j"}'))
    gw.sh("rm -rf " .. gw.quote(dir))
  end)

  it("meets the caps: a label cap folds a group's series as it folds msgpack ones", function()
    g:stop()
    local dir = gw.tmpdir()
    gw.write_file(dir .. "/caps.lua",
      'cap { label = "path", max_values = 2, overflow = "fold" }\n')
    g = gw.start({ "--enable-lifecycle", "--scripts", dir })
    local code = pgw.put(g.url, "/metrics/job/j", "# TYPE hits_total counter\n" ..
      'hits_total{path="/a"} 1\nhits_total{path="/b"} 2\nhits_total{path="/c"} 3\n' ..
      'hits_total{path="/d"} 4\n')
    assert.are.equal(200, code)
    local text = g:scrape()
    assert.are.equal(1, gw.value(text, 'hits_total{job="j",path="/a"}'))
    assert.are.equal(2, gw.value(text, 'hits_total{job="j",path="/b"}'))
    assert.is_nil(gw.value(text, 'hits_total{job="j",path="/c"}'))
    assert.are.equal(7, gw.value(text, 'hits_total{job="j",path="__overflow__"}'))
    gw.sh("rm -rf " .. gw.quote(dir))
  end)

  it("feeds the rules: a recording rule sums what a group pushed", function()
    g:stop()
    local dir = gw.tmpdir()
    gw.write_file(dir .. "/sum.lua", 'record "job:batch_items:sum" {\n' ..
      '  expr = function(q) return q.sum(\'batch_items{job="nightly"}\') end,\n}\n')
    g = gw.start_with_config("return { rule_interval = 0.2, rules = " .. ("%q"):format(dir)
                             .. " }")
    pgw.put(g.url, "/metrics/job/nightly", 'batch_items{part="a"} 3\nbatch_items{part="b"} 4\n')
    gw.wait_for(function() return scrape_value(g, "job:batch_items:sum") == 7 end, 10,
      "the recording rule")
    gw.sh("rm -rf " .. gw.quote(dir))
  end)

  it("expires a group only under a TTL rule for its job", function()
    g:stop()
    g = gw.start_with_config(
      'return { pushgateway = { ttl = { { job = "short.*", ttl = "1s" } } } }')
    pgw.put(g.url, "/metrics/job/short_lived", "a 1\n")
    pgw.put(g.url, "/metrics/job/kept", "a 2\n")
    assert.are.equal(1, scrape_value(g, 'a{job="short_lived"}'))
    gw.wait_for(function() return scrape_value(g, 'a{job="short_lived"}') == nil end, 10,
      "the group to expire")
    assert.are.equal(2, scrape_value(g, 'a{job="kept"}'))
  end)
end)
