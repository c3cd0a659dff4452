-- The same sequence of pushes to Debian's prometheus-pushgateway and to
-- moongate, both on 127.0.0.1: every reply code matches, and the two
-- /metrics bodies match family by family for the pushed groups (types,
-- label sets, values; HELP where Pushgateway shows one). Left out: each
-- gateway's own families (moongate_*, process_*, go_*, pushgateway_*), the
-- push times' values (both must be set or both zero), and the differences
-- docs/pushgateway.md lists (an empty label is absent; HELP of a family whose groups
-- disagree may be either).
local gw = require "support.gateway"
local pgw = require "support.pushgw"

local function pushed(name)
  return not (name:match("^moongate_") or name:match("^process_") or name:match("^go_")
              or name:match("^pushgateway_"))
end

local ALL_TYPES = table.concat({
  "# HELP req_total Requests served.",
  "# TYPE req_total counter",
  'req_total{code="200"} 5',
  'req_total{code="500"} 1',
  "# HELP temp Temperature.",
  "# TYPE temp gauge",
  'temp{room="lab"} 21.5',
  "# TYPE loose untyped",
  "loose 3",
  "# HELP lat Latency.",
  "# TYPE lat histogram",
  'lat_bucket{le="0.1"} 1',
  'lat_bucket{le="1"} 3',
  'lat_bucket{le="+Inf"} 4',
  "lat_sum 2.5",
  "lat_count 4",
  "# HELP rpc RPC time.",
  "# TYPE rpc summary",
  'rpc{quantile="0.5"} 0.2',
  'rpc{quantile="0.99"} 0.9',
  "rpc_sum 12.5",
  "rpc_count 30",
  "",
}, "\n")

-- Each step: method, path, body, headers. Both servers get them in order.
local STEPS = {
  { "PUT", "/metrics/job/cmp/instance/a", ALL_TYPES },
  { "POST", "/metrics/job/cmp/instance/a", '# HELP temp Temperature.\n# TYPE temp gauge\ntemp{room="hall"} 19\n' },
  { "PUT", "/metrics/job/cmp/instance/b", '# HELP temp Temperature.\n# TYPE temp gauge\ntemp{room="lab"} 18\nonly_b 1\n' },
  { "PUT", "/metrics/job/cmp/instance/b", "only_b 2\n" },
  { "PUT", "/metrics/job/other", "# HELP shared Says one thing.\n# TYPE shared gauge\nshared 1\n" },
  { "PUT", "/metrics/job/other2", "# HELP shared Says another.\n# TYPE shared gauge\nshared 2\n" },
  { "PUT", "/metrics/job/conflict", "# TYPE shared counter\nshared 3\n" },
  { "PUT", "/metrics/job/stamped", "shared 4 1700000000000\n" },
  { "PUT", "/metrics/job@base64/" .. pgw.b64("a/b") .. "/path@base64/" .. pgw.b64("/x/y") .. "=",
    'b64{k="v"} 7\n' },
  { "PUT", "/metrics/job/gone", "gone 1\n" },
  { "DELETE", "/metrics/job/gone" },
  { "PUT", "/metrics/job/emptied", "emptied 1\n" },
  { "PUT", "/metrics/job/emptied", "" },
  { "PUT", "/metrics/job/keywins/instance/i", 'kw{instance="body",job="body",x="1"} 1\n' },
  { "POST", "/metrics/job/pb", pgw.proto({
      { name = "pb_total", help = "From protobuf.", type = pgw.COUNTER,
        metrics = { { labels = { k = "a" }, value = 2 }, { labels = { k = "b" }, value = 3 } } },
      { name = "pb_hist", help = "A histogram.", type = pgw.HISTOGRAM,
        metrics = { { sum = 1.5, count = 3, buckets = { { 0.5, 1 }, { 1, 2 } } } } },
      { name = "pb_sum", help = "A summary.", type = pgw.SUMMARY,
        metrics = { { sum = 3, count = 2, quantiles = { { 0.5, 1 } } } } },
    }), { ["content-type"] = pgw.PROTO_TYPE } },
}

local function run(base, step)
  local code = pgw.request(step[1], base, step[2], step[3] or "", step[4] and
                           { ["content-type"] = step[4]["content-type"] } or nil)
  return code
end

describe("moongate and Pushgateway given the same pushes", function()
  local pg, g

  setup(function()
    pg = pgw.start_pushgateway()
    g = gw.start({ "--enable-lifecycle" })
  end)

  teardown(function()
    if pg then pg.stop() end
    if g then g:stop() end
  end)

  it("reply alike and expose the same families", function()
    for i, step in ipairs(STEPS) do
      local want = run(pg.url, step)
      local got = run(g.url, step)
      -- Pushgateway answers a push 200 and a DELETE 202, as moongate does
      assert.are.equal(want, got, ("step %d (%s %s)"):format(i, step[1], step[2]))
    end
    local _, ptext = gw.http_request("GET", pg.url .. "/metrics")
    local mtext = g:scrape()
    local want = pgw.families(ptext, pushed)
    local got = pgw.families(mtext, pushed)
    local names = {}
    for name in pairs(want) do names[#names + 1] = name end
    for name in pairs(got) do
      assert.is_not_nil(want[name], "moongate exposes " .. name .. ", Pushgateway does not")
    end
    table.sort(names)
    assert.is_true(#names >= 12, "too few families compared: " .. #names)
    for _, name in ipairs(names) do
      local w, m = want[name], got[name]
      assert.is_not_nil(m, "Pushgateway exposes " .. name .. ", moongate does not")
      assert.are.equal(w.type, m.type, name .. ": TYPE")
      if name == "shared" then
        assert.is_truthy(m.help == "Says one thing." or m.help == "Says another.", m.help)
      elseif w.help then
        assert.are.equal(w.help, m.help, name .. ": HELP")
      end
      local keys = {}
      for k in pairs(w.samples) do keys[#keys + 1] = k end
      for k in pairs(m.samples) do
        assert.is_not_nil(w.samples[k], name .. ": moongate has " .. k)
      end
      for _, k in ipairs(keys) do
        local wv, mv = w.samples[k], m.samples[k]
        assert.is_not_nil(mv, name .. ": moongate lacks " .. k)
        if name == "push_time_seconds" or name == "push_failure_time_seconds" then
          assert.are.equal(wv == 0, mv == 0, k .. ": one is set, the other zero")
        else
          assert.are.equal(wv, mv, k)
        end
      end
    end
  end)
end)
