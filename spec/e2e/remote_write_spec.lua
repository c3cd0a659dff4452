-- Remote write out (docs/remote-write.md) against real receivers started
-- here on 127.0.0.1 and stopped here: Debian's victoria-metrics and
-- prometheus (--web.enable-remote-write-receiver) read back through their
-- query APIs (values, histogram_quantile, rate, external labels); the
-- receiver stopped and restarted (nothing lost within the queue's bound,
-- the drop count exact beyond it); a fault injector answering 400 (not
-- retried) and 429 with Retry-After (honoured). Every wait is bounded.
local gw = require "support.gateway"
local remote = require "support.remote"

local function config(dest, extra)
  return ("return { external_labels = { gateway_shard = \"a\" }, %s remote_write = { %s } }")
         :format(extra or "", dest)
end

local function sent(g, url, what)
  return g:value(('moongate_remote_write_%s{url="%s"}'):format(what, url)) or 0
end

local function near(want)
  return function(v) return math.abs(v - want) < 1e-9 end
end

local PUSH = {
  { name = "rw_requests_total", type = "counter", help = "Requests.", value = 0,
    labels = { path = "/a" } },
  { name = "rw_requests_total", type = "counter", value = 0, labels = { path = "/b" } },
  { name = "rw_latency_seconds", type = "histogram", help = "Latency.",
    buckets = { [0.1] = 10, [0.25] = 30, [0.5] = 70, [1] = 90, ["+Inf"] = 100 },
    sum = 40, count = 100 },
  { name = "rw_rpc_seconds", type = "summary", quantiles = { [0.5] = 0.2, [0.99] = 0.9 },
    sum = 12.5, count = 30 },
}

-- Pushes the fixture with the two counters at a and b.
local function push(g, a, b)
  PUSH[1].value, PUSH[2].value = a, b
  local code = g:push_http({ metrics = PUSH })
  assert(code == 200, "push answered " .. tostring(code))
end

-- What both stores must answer once the fixture went through the gateway.
local function read_back(store)
  store.await('rw_requests_total{path="/a",gateway_shard="a"}', near(600))
  store.await('sum(rw_requests_total)', near(900))
  store.await('histogram_quantile(0.5, sum by (le) (rw_latency_seconds_bucket))', near(0.375))
  store.await('rw_rpc_seconds{quantile="0.99"}', near(0.9))
  store.await('rw_latency_seconds_count', near(100))
  -- the counter grew while the store watched: an aggregated rate above 0
  store.await('sum(rate(rw_requests_total[1m]))', function(v) return v > 0 end)
  -- the gateway's own series are output series too
  store.await('count(moongate_remote_write_samples_sent_total)', near(1))
end

local function feed(g)
  push(g, 0, 0)
  gw.wait_for(function() return sent(g, g.rw_url, "passes_total") >= 2 end, 10, "two passes")
  push(g, 600, 300)
end

describe("remote write to victoria-metrics", function()
  local vm, g
  after_each(function()
    if g then g:stop() end
    if vm then vm.stop() end
    g, vm = nil, nil
  end)

  it("sends values, histograms, summaries, rule results and ALERTS the store reads back", function()
    vm = remote.victoria()
    local rules = gw.tmpdir()
    gw.write_file(rules .. "/rw.lua", [[
record "rw:requests:sum" { expr = function(q) return q.sum("rw_requests_total") end }
alert "RwBusy" { expr = function(q) local v = q.sum("rw_requests_total") if v and v > 100 then return v end end }
]])
    g = gw.start_with_config(config(remote.dest(vm.write_url, 'interval = "300ms"'),
                                    ("rules = %q, rule_interval = 0.3,"):format(rules)))
    g.rw_url = vm.write_url
    feed(g)
    read_back(vm)
    vm.await('rw:requests:sum{gateway_shard="a"}', near(900))
    vm.await('ALERTS{alertname="RwBusy",alertstate="firing"}', near(1))
    gw.sh("rm -rf " .. gw.quote(rules))
    assert.are.equal(0, sent(g, vm.write_url, "samples_failed_total"))
    assert.is_true(sent(g, vm.write_url, "highest_sent_timestamp_seconds") > os.time() - 60)
  end)

  -- rw_* only, one lane: each pass adds exactly three samples (the two
  -- counters and the summary's count), so the totals can be checked.
  local RELABEL = [[write_relabel_configs = {
      { source_labels = { "__name__" }, regex = "rw_requests_total|rw_rpc_seconds_count",
        action = "keep" } }]]
  -- One scrape is one consistent snapshot of the counters. Each pass makes
  -- one batch of three samples, so 3 * passes = sent + dropped + pending +
  -- failed exactly, and the store holds exactly the sent samples up to the
  -- newest timestamp sent (queried at that time: newer data may be in
  -- flight).
  local function exact(g, store, url)
    gw.wait_for(function() return sent(g, url, "pending_samples") == 0 end, 20, "the queue to drain")
    local body = g:scrape()
    local function v(what, reason)
      return gw.value(body, ('moongate_remote_write_%s{%surl="%s"}')
                            :format(what, reason and ('reason="%s",'):format(reason) or "", url)) or 0
    end
    local r = { sent = v("samples_sent_total"), passes = v("passes_total"),
                dropped = v("dropped_total", "queue_full"), pending = v("pending_samples"),
                failed = v("samples_failed_total"), highest = v("highest_sent_timestamp_seconds") }
    assert.are.equal(3 * r.passes, r.sent + r.dropped + r.pending + r.failed)
    local stored
    local ok = pcall(gw.wait_for, function()
      local res = store.query_at('sum(count_over_time({__name__=~"rw_.*"}[10m]))', r.highest)
      stored = res[1] and tonumber(res[1].value[2])
      return stored == r.sent
    end, 20, "stored samples to equal sent ones")
    assert(ok, ("stored %s, sent %s"):format(tostring(stored), r.sent))
    return r
  end

  it("loses nothing while the receiver is down within the queue's bound", function()
    vm = remote.victoria()
    g = gw.start_with_config(config(remote.dest(vm.write_url, [[interval = "200ms",
      queue = { capacity = 100000, max_samples_per_send = 3, min_shards = 1, max_shards = 1,
                min_backoff = "20ms", max_backoff = "200ms" }, ]] .. RELABEL)))
    g.rw_url = vm.write_url
    push(g, 1, 1)
    vm.await('count(rw_requests_total)', near(2))
    vm.halt()
    local before = sent(g, vm.write_url, "passes_total")
    gw.wait_for(function() return sent(g, vm.write_url, "passes_total") >= before + 10 end, 10,
                "passes while the receiver is down")
    assert.is_true(sent(g, vm.write_url, "pending_samples") > 0)
    vm.start()
    local r = exact(g, vm, vm.write_url)
    assert.are.equal(0, r.dropped)
    assert.are.equal(0, r.failed)
    assert.is_true(r.passes >= before + 10)
  end)

  it("drops the oldest past the bound and counts exactly what it dropped", function()
    vm = remote.victoria()
    g = gw.start_with_config(config(remote.dest(vm.write_url, [[interval = "100ms",
      queue = { capacity = 30, max_samples_per_send = 3, min_shards = 1, max_shards = 1,
                min_backoff = "20ms", max_backoff = "200ms" }, metadata = { send = false }, ]]
      .. RELABEL)))
    g.rw_url = vm.write_url
    push(g, 1, 1)
    vm.await('count(rw_requests_total)', near(2))
    vm.halt()
    local before = sent(g, vm.write_url, "passes_total")
    -- 20 passes of 3 samples: 60 queued against a bound of 30
    gw.wait_for(function() return sent(g, vm.write_url, "passes_total") >= before + 20 end, 10,
                "passes while the receiver is down")
    vm.start()
    local r = exact(g, vm, vm.write_url)
    assert.is_true(r.dropped >= 30, "dropped " .. r.dropped)
    assert.are.equal(0, r.dropped % 3)
  end)
end)

describe("remote write to prometheus", function()
  local prom, g
  after_each(function()
    if g then g:stop() end
    if prom then prom.stop() end
    g, prom = nil, nil
  end)

  it("sends in timestamp order what Prometheus reads back", function()
    prom = remote.prometheus()
    g = gw.start_with_config(config(remote.dest(prom.write_url, 'interval = "300ms"')))
    g.rw_url = prom.write_url
    feed(g)
    read_back(prom)
    -- Prometheus answers 400 to an out-of-order sample: none was
    assert.are.equal(0, sent(g, prom.write_url, "samples_failed_total"))
  end)
end)

describe("remote write faults", function()
  local f, g
  after_each(function()
    if g then g:stop() end
    if f then f.stop() end
    g, f = nil, nil
  end)

  it("does not retry a batch the receiver answers 400", function()
    f = remote.fault(400, 1000)
    g = gw.start_with_config(config(remote.dest(f.write_url, [[interval = "500ms",
      metadata = { send = false },
      queue = { min_shards = 1, max_shards = 1, min_backoff = "20ms" } ]])))
    push(g, 1, 1)
    gw.wait_for(function() return sent(g, f.write_url, "passes_total") >= 4 end, 10, "passes")
    local passes = sent(g, f.write_url, "passes_total")
    local n = #f.requests()
    -- one request per pass; a retry every 20 ms would be dozens
    assert.is_true(n >= 3 and n <= passes, n .. " requests in " .. passes .. " passes")
    assert.are.equal(0, sent(g, f.write_url, "samples_retried_total"))
    assert.is_true(sent(g, f.write_url, "samples_failed_total") > 0)
    assert.are.equal(0, sent(g, f.write_url, "samples_sent_total"))
  end)

  it("waits as long as a 429's Retry-After says", function()
    f = remote.fault(429, 1, 2)
    g = gw.start_with_config(config(remote.dest(f.write_url, [[interval = "5s",
      metadata = { send = false },
      queue = { min_shards = 1, max_shards = 1, min_backoff = "20ms" } ]])))
    push(g, 1, 1)
    gw.wait_for(function() return #f.requests() >= 2 end, 15, "the retry")
    local r = f.requests()
    assert.are.equal(429, r[1].status)
    assert.are.equal(204, r[2].status)
    assert.are.equal(r[1].bytes, r[2].bytes) -- the same batch again
    local gap = r[2].t - r[1].t
    assert.is_true(gap >= 1.9 and gap < 4, "retried after " .. gap .. " s")
    gw.wait_for(function() return sent(g, f.write_url, "samples_sent_total") > 0 end, 5, "sent")
    assert.is_true(sent(g, f.write_url, "samples_retried_total") > 0)
  end)
end)

describe("remote write configuration", function()
  local function refused(src)
    local ok, err = pcall(gw.start_with_config, src)
    assert.is_false(ok, "started with a bad config")
    return tostring(err)
  end

  it("refuses an unknown key, a bad duration, a bad relabel and tls without https, saying where", function()
    assert.matches("remote_write: unknown key queue.max_shard",
      refused('return { remote_write = { { url = "http://127.0.0.1:1/w", queue = { max_shard = 2 } } } }'))
    assert.matches("remote_write: interval: wrong type or value",
      refused('return { remote_write = { { url = "http://127.0.0.1:1/w", interval = "15 s" } } }'))
    assert.matches("write_relabel_configs: relabel%[1%]",
      refused('return { remote_write = { { url = "http://127.0.0.1:1/w", write_relabel_configs = { { regex = "(" } } } } }'))
    assert.matches("tls settings need an https:// url",
      refused('return { remote_write = { { url = "http://127.0.0.1:1/w", tls = { ca_file = "/x" } } } }'))
    assert.matches("tls: ",
      refused('return { remote_write = { { url = "https://127.0.0.1:1/w", tls = { ca_file = "/nonexistent/ca.crt" } } } }'))
    assert.matches("external_labels: __x: not a valid label name",
      refused('return { external_labels = { __x = "1" } }'))
  end)
end)

describe("remote write over HTTPS", function()
  local vm, g
  after_each(function()
    if g then g:stop() end
    if vm then vm.stop() end
    g, vm = nil, nil
  end)

  -- A CA and a certificate for 127.0.0.1 signed by it, made here.
  local function certs(dir)
    local rc = gw.sh(("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 " ..
      "-nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=rw-ca >/dev/null 2>&1 && " ..
      "printf 'subjectAltName=IP:127.0.0.1\\n' > vm.ext && " ..
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout vm.key " ..
      "-out vm.csr -subj /CN=127.0.0.1 >/dev/null 2>&1 && openssl x509 -req -in vm.csr -CA ca.crt " ..
      "-CAkey ca.key -CAcreateserial -out vm.crt -days 2 -extfile vm.ext >/dev/null 2>&1 && " ..
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key " ..
      "-out other.crt -days 2 -subj /CN=other-ca >/dev/null 2>&1"):format(gw.quote(dir)))
    assert(rc == 0, "openssl could not make the certificates")
  end

  local function query(url, ca, expr)
    local p = io.popen(("curl -sf --cacert %s %s"):format(gw.quote(ca),
      gw.quote(url .. "/api/v1/query?query=" .. expr:gsub("[^%w]", function(c)
        return ("%%%02X"):format(c:byte()) end))))
    local body = p:read("*a")
    p:close()
    return tonumber(body:match('"value":%[[^,]+,"([^"]+)"%]'))
  end

  it("sends to a store that serves TLS, verified against the configured CA; a wrong CA sends nothing", function()
    local dir = gw.tmpdir()
    certs(dir)
    vm = remote.victoria { cert = dir .. "/vm.crt", key = dir .. "/vm.key" }
    local dest = remote.dest(vm.write_url, ('interval = "200ms", tls = { ca_file = %q }'):format(dir .. "/ca.crt"))
    g = gw.start_with_config(config(dest))
    g.rw_url = vm.write_url
    push(g, 600, 300)
    gw.wait_for(function()
      return query(vm.url, dir .. "/ca.crt", 'rw_requests_total{path="/a"}') == 600
    end, 20, "the sample read back over HTTPS")
    assert.are.equal(0, sent(g, vm.write_url, "samples_failed_total"))
    g:stop()
    -- the same store, a CA that did not sign it: nothing is sent
    dest = remote.dest(vm.write_url, ('interval = "200ms", tls = { ca_file = %q }'):format(dir .. "/other.crt"))
    g = gw.start_with_config(config(dest))
    g.rw_url = vm.write_url
    push(g, 1, 1)
    gw.wait_for(function() return sent(g, vm.write_url, "passes_total") >= 3 end, 10, "three passes")
    assert.are.equal(0, sent(g, vm.write_url, "samples_sent_total"))
  end)
end)
