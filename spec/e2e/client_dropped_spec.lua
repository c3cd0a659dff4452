-- Drops producers report in a message's `dropped` map become series of
-- moongate_client_dropped_total{<source labels>, reason} that go through
-- the pipeline like pushed ones (docs/wire.md, docs/metrics.md): a
-- labeldrop of workspace_id sums workspaces per job and instance, a cap on
-- the family refuses new series, bad reason keys are refused and counted.
local gw = require "support.gateway"

-- The scripts dir alone (gw.scripts_dir gives the file's path too).
local function scripts_dir(src) return (gw.scripts_dir(src)) end

local PIPELINE = [[
relabel { { action = "labeldrop", regex = "workspace_id" } }
]]

-- A message from one workspace agent reporting drops, and one metric.
local function report(g, instance, ws, dropped)
  local code, r = g:push_http { source = { job = "agent", instance = instance, workspace_id = ws },
    dropped = dropped,
    metrics = { { name = "agent_up", type = "gauge", value = 1 } } }
  assert.are.equal(200, code)
  -- the reply counts the message's metrics, not the drops it reports
  assert.are.equal(1, r.accepted)
  return r
end

local function series(instance, reason)
  return ('moongate_client_dropped_total{instance="%s",job="agent",reason="%s"}'):format(instance, reason)
end

describe("moongate_client_dropped_total", function()
  local g

  after_each(function()
    if g then g:stop() end
    g = nil
    gw.cleanup_dirs()
  end)

  it("carries the producer's labels as the pipeline leaves them, summed across workspaces", function()
    g = gw.start { "--scripts", scripts_dir(PIPELINE) }
    report(g, "i1", "ws-1", { buffer_full = 3 })
    report(g, "i1", "ws-2", { buffer_full = 4, timeout = 1 })
    report(g, "i2", "ws-3", { buffer_full = 10 })
    report(g, "i1", "ws-1", { buffer_full = 2 }) -- a report adds to the count
    local body = g:scrape()
    assert.are.equal(9, gw.value(body, series("i1", "buffer_full")), body)
    assert.are.equal(1, gw.value(body, series("i1", "timeout")))
    assert.are.equal(10, gw.value(body, series("i2", "buffer_full")))
    assert.is_nil(body:find("workspace_id", 1, true), body)
    assert.is_nil(gw.value(body, 'moongate_client_dropped_total{reason="buffer_full"}'))
    assert.is_truthy(body:find("# TYPE moongate_client_dropped_total counter", 1, true))
    -- the web overview lists them as exposed
    local code, page = gw.http_request("GET", g.url .. "/")
    assert.are.equal(200, code)
    assert.is_truthy(page:find('id="client-drops"', 1, true))
    assert.is_truthy(page:find("buffer_full", 1, true))
  end)

  it("is under the caps like any series: a full cap refuses new ones", function()
    g = gw.start { "--scripts", scripts_dir(PIPELINE ..
      'cap { metric = "moongate_client_dropped_total", max_series = 2 }\n') }
    report(g, "i1", "ws-1", { buffer_full = 1, timeout = 2 })
    report(g, "i2", "ws-2", { buffer_full = 5 })
    report(g, "i1", "ws-3", { buffer_full = 1 }) -- an existing series still counts
    local body = g:scrape()
    assert.are.equal(2, gw.value(body, series("i1", "buffer_full")))
    assert.are.equal(2, gw.value(body, series("i1", "timeout")))
    assert.is_nil(gw.value(body, series("i2", "buffer_full")))
    assert.are.equal(1, gw.value(body, 'moongate_samples_dropped_total{reason="cardinality_cap"}'))
  end)

  it("refuses reasons with a NUL byte or bad UTF-8 and counts them; the rest lands", function()
    g = gw.start {}
    local before = g:rejected("invalid_label_value")
    local r = report(g, "i1", "ws-1", { ["bad\0key"] = 1, ["\xff\xfe"] = 2, good = 3 })
    assert.are.equal(before + 2, g:rejected("invalid_label_value"))
    local named = 0
    for _, e in ipairs(r.errors) do
      if e.index == -1 and e.reason == "invalid_label_value" then named = named + 1 end
    end
    assert.are.equal(2, named)
    local body = g:scrape()
    assert.are.equal(3, gw.value(body,
      'moongate_client_dropped_total{instance="i1",job="agent",reason="good",workspace_id="ws-1"}'), body)
    assert.are.equal(1, gw.value(body, 'agent_up{instance="i1",job="agent",workspace_id="ws-1"}'))
  end)

  it("survives a restart from a snapshot, labels and counts", function()
    local dir = scripts_dir(PIPELINE)
    local data = gw.scratch_dir()
    g = gw.start { "--scripts", dir, "--data-dir", data }
    report(g, "i1", "ws-1", { buffer_full = 3 })
    report(g, "i1", "ws-2", { buffer_full = 4 })
    g:stop()
    g = gw.start { "--scripts", dir, "--data-dir", data }
    assert.are.equal(7, g:value(series("i1", "buffer_full")))
    report(g, "i1", "ws-2", { buffer_full = 1 })
    assert.are.equal(8, g:value(series("i1", "buffer_full")))
  end)

  it("keeps at most 63 reasons a message, the rest under other", function()
    g = gw.start {}
    local dropped = {}
    for i = 1, 70 do dropped[("r%02d"):format(i)] = 1 end
    report(g, "i1", "ws-1", dropped)
    local body = g:scrape()
    local n, other = 0, nil
    for line in body:gmatch("moongate_client_dropped_total{[^\n]*") do
      if line:find('reason="other"', 1, true) then other = tonumber(line:match(" (%S+)$")) else n = n + 1 end
    end
    assert.are.equal(63, n)
    assert.are.equal(7, other)
  end)
end)
