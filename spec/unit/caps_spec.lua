-- Cardinality caps through the module, on the virtual clock.
local moongate = require "moongate"

local dir = "spec/unit/fixtures/caps/"
local function gw_with(f, config)
  return moongate.new { scripts = { dir .. f }, config = config }
end

local function samples(text, name)
  local n, sum = 0, 0
  for line in text:gmatch("[^\n]+") do
    local v = line:match("^" .. name .. "{.*} (%S+)$") or line:match("^" .. name .. " (%S+)$")
    if v then n, sum = n + 1, sum + tonumber(v) end
  end
  return n, sum
end

local value = require("support.exposition").value

describe("caps", function()
  it("5,000 paths under max_values = 100 with fold: at most 101 series, the total exact", function()
    local gw = gw_with("path_fold.lua")
    local total = 0
    for batch = 0, 49 do
      local m = {}
      for i = 1, 100 do
        local v = (batch * 100 + i) % 7 + 1
        total = total + v
        m[i] = { name = "http_requests_total", type = "counter", value = v,
                 labels = { path = "/p/" .. (batch * 100 + i) } }
      end
      gw:push { metrics = m }
    end
    local text = gw:expose()
    local n, sum = samples(text, "http_requests_total")
    assert.are.equal(101, n)
    assert.are.equal(total, sum)
    assert.truthy(text:find('http_requests_total{path="__overflow__"}', 1, true))
    assert.are.equal(4900, value(text, 'moongate_cap_hits_total{cap="cap{label=\\"path\\",max_values=100,overflow=\\"fold\\"}"}'))
    assert.are.equal(101, value(text, 'moongate_cap_usage{cap="cap{label=\\"path\\",max_values=100,overflow=\\"fold\\"}"}'))
    assert.are.equal(100, value(text, 'moongate_cap_limit{cap="cap{label=\\"path\\",max_values=100,overflow=\\"fold\\"}"}'))
  end)

  it("a per-workspace budget stops the noisy workspace only", function()
    local gw = gw_with("per_workspace.lua")
    local m = {}
    for i = 1, 50 do
      m[#m + 1] = { name = "agent_files", type = "gauge", value = 1, labels = { workspace_id = "noisy", file = "f" .. i } }
    end
    for w = 1, 5 do
      for i = 1, 5 do
        m[#m + 1] = { name = "agent_files", type = "gauge", value = 1, labels = { workspace_id = "w" .. w, file = "f" .. i } }
      end
    end
    local acc, rej, errs = gw:push { metrics = m }
    assert.are.equal(75, acc)
    assert.are.equal(0, rej)
    assert.are.equal("cardinality_cap", errs[1].reason)
    assert.truthy(errs[1].detail:find("per-workspace", 1, true))
    local text = gw:expose()
    local noisy = select(1, samples(text, 'agent_files{file="f%d+",workspace_id="noisy"}'))
    local n = samples(text, "agent_files")
    assert.are.equal(10 + 25, n)
    assert.are.equal(40, value(text, 'moongate_samples_dropped_total{reason="cardinality_cap"}'))
    assert.are.equal(40, value(text, 'moongate_cap_hits_total{cap="per-workspace"}'))
    -- a capped series stays dropped without running the pipeline again
    gw:push { metrics = { { name = "agent_files", type = "gauge", value = 2, labels = { workspace_id = "noisy", file = "f50" } } } }
    assert.are.equal(41, value(gw:expose(), 'moongate_samples_dropped_total{reason="cardinality_cap"}'))
  end)

  it("shadow mode counts what it would refuse and refuses nothing", function()
    local gw = gw_with("shadow.lua")
    local m = {}
    for i = 1, 8 do m[i] = { name = "http_x", value = i, labels = { i = tostring(i) } } end
    gw:push { metrics = m }
    local text = gw:expose()
    assert.are.equal(8, (samples(text, "http_x")))
    assert.are.equal(3, value(text, 'moongate_cap_hits_total{cap="cap{metric=\\"http_.*\\",max_series=5,mode=\\"shadow\\"}"}'))
    assert.are.equal(0, value(text, 'moongate_samples_dropped_total{reason="cardinality_cap"}'))
  end)

  it("room freed by expiry is reused", function()
    local gw = gw_with("per_workspace.lua")
    local function push(prefix, n, ttl)
      local m = {}
      for i = 1, n do m[i] = { name = "g", type = "gauge", value = 1, labels = { workspace_id = "w", k = prefix .. i } } end
      gw:push { ttl = ttl, metrics = m }
    end
    push("a", 10, 30)
    push("b", 5, 300)
    assert.are.equal(10, (samples(gw:expose(), "g")))
    gw:advance(31)
    push("c", 10, 300)
    local text = gw:expose()
    assert.are.equal(10, (samples(text, "g")))
    assert.truthy(text:find('g{k="c10",workspace_id="w"}', 1, true))
  end)

  it("a metric cap folds every label into one overflow series per metric", function()
    local gw = gw_with("metric_fold.lua")
    local m = {}
    for i = 1, 10 do m[i] = { name = "jobs_total", type = "counter", value = 2, labels = { job = "j" .. i, kind = "k" } } end
    gw:push { metrics = m }
    local text = gw:expose()
    local n, sum = samples(text, "jobs_total")
    assert.are.equal(4, n)
    assert.are.equal(20, sum)
    assert.truthy(text:find('jobs_total{job="__overflow__",kind="__overflow__"} 14', 1, true))
  end)

  it("drop_label strips the label and re-aggregates", function()
    local gw = gw_with("drop_label.lua")
    local m = {}
    for i = 1, 5 do m[i] = { name = "logins_total", type = "counter", value = 1, labels = { user = "u" .. i, app = "a" } } end
    gw:push { metrics = m }
    local text = gw:expose()
    assert.are.equal(3, value(text, 'logins_total{app="a"}'))
    assert.are.equal(1, value(text, 'logins_total{app="a",user="u1"}'))
  end)

  it("limits{max_series} drops past the global budget with reason limit", function()
    local gw = gw_with("limits.lua")
    local m = {}
    for i = 1, 8 do m[i] = { name = "m" .. i, value = 1 } end
    local _, _, errs = gw:push { metrics = m }
    local text = gw:expose()
    assert.are.equal(5, (function() local n = 0 for i = 1, 8 do if value(text, "m" .. i) then n = n + 1 end end return n end)())
    assert.are.equal(3, value(text, 'moongate_samples_dropped_total{reason="limit"}'))
    assert.are.equal("limit", errs[1].reason)
  end)

  it("limits{max_input_series} bounds inputs even when they all fold into one output", function()
    local gw = gw_with("max_inputs.lua")
    local m = {}
    for i = 1, 80 do m[i] = { name = "c_total", type = "counter", value = 1, labels = { id = tostring(i) } } end
    gw:push { metrics = m }
    local text = gw:expose()
    assert.are.equal(50, value(text, "c_total"))
    assert.are.equal(50, value(text, 'moongate_series{kind="input"}'))
    assert.are.equal(30, value(text, 'moongate_samples_dropped_total{reason="limit"}'))
  end)

  it("limits{max_input_series_per_source}: one producer's ttl=0 series leave others room", function()
    local gw = gw_with("per_source.lua")
    local CAP = 'limits{max_input_series_per_source=20}'
    local function drops()
      return value(gw:expose(), 'moongate_samples_dropped_total{reason="limit"}') or 0
    end
    -- pushes g{id=from..to} from producer host; returns accepted and how many dropped
    local function push(host, from, to, ttl)
      local m = {}
      for i = from, to do m[#m + 1] = { name = "g", type = "gauge", value = 1, labels = { id = tostring(i) } } end
      local before = drops()
      local accepted, rejected, errors = gw:push { ttl = ttl, source = host and { host = host }, metrics = m }
      assert.are.equal(0, rejected)
      return accepted, drops() - before, errors
    end
    -- A fills its budget with series that never expire, and goes on trying
    local accepted, dropped, errors = push("a", 1, 30, 0)
    assert.are.equal(30, accepted)
    assert.are.equal(10, dropped)
    assert.are.equal("limit", errors[1].reason)
    assert.are.equal(21, errors[1].index)
    assert.truthy(errors[1].detail:find(CAP, 1, true), errors[1].detail)
    assert.are.equal(30, select(2, push("a", 31, 60, 0)))
    -- B's new series are all accepted, and so is a producer without source
    assert.are.equal(0, select(2, push("b", 1, 20, 60)))
    assert.are.equal(0, select(2, push(nil, 1, 1, 60)))
    local text = gw:expose()
    assert.are.equal(41, value(text, 'moongate_series{kind="input"}'))
    assert.are.equal(40, value(text, 'moongate_cap_hits_total{cap="' .. CAP:gsub('"', '\\"') .. '"}'))
    assert.are.equal(20, value(text, 'moongate_cap_usage{cap="' .. CAP .. '"}'))
    -- A's known series still update
    assert.are.equal(0, select(2, push("a", 1, 20, 0)))
    -- B at its budget too; once B's series expire, B has room again
    assert.are.equal(1, select(2, push("b", 21, 21, 60)))
    gw:advance(61)
    assert.are.equal(0, select(2, push("b", 21, 40, 60)))
    assert.are.equal(1, select(2, push("b", 41, 41, 60)))
    -- a source label with an empty value is no label: the same producer
    local before = drops()
    gw:push { source = { host = "b", zone = "" }, metrics = { { name = "g", type = "gauge", value = 1, labels = { id = "x" } } } }
    assert.are.equal(1, drops() - before)
  end)

  it("a cap Prometheus users would misread is refused at load", function()
    assert.has_error(function() gw_with("bad_cap.lua") end)
    local ok, err = pcall(gw_with, "bad_cap.lua")
    assert.truthy(tostring(err):find("bad_cap.lua:1: cap: a label cap takes max_values", 1, true), err)
  end)

  it("an unchanged cap keeps what it admitted across a reload", function()
    local gw = gw_with("per_workspace.lua")
    local m = {}
    for i = 1, 15 do m[i] = { name = "g", type = "gauge", value = 1, labels = { workspace_id = "w", k = "a" .. i } } end
    gw:push { metrics = m }
    assert.are.equal(10, (samples(gw:expose(), "g")))
    assert.is_true(gw:load { scripts = { dir .. "per_workspace.lua", dir .. "shadow.lua" } })
    local text = gw:expose()
    assert.are.equal(10, (samples(text, "g")))
    -- the same 10 series, and still full: a new one is refused
    assert.truthy(text:find('g{k="a1",workspace_id="w"}', 1, true))
    gw:push { metrics = { { name = "g", type = "gauge", value = 1, labels = { workspace_id = "w", k = "new" } } } }
    assert.is_nil(gw:expose():find('k="new"', 1, true))
    -- hits: 5 at first, 5 again when the reload re-routes the refused
    -- series (still no room), 1 for the new one
    assert.are.equal(5 + 5 + 1, value(gw:expose(), 'moongate_cap_hits_total{cap="per-workspace"}'))
  end)
  it("a new input joining an output that exists passes a full cap, with no hit", function()
    local gw = gw_with("join_existing.lua")
    local acc, rej, errs = gw:push { metrics = {
      { name = "jobs", type = "gauge", value = 1, labels = { pod = "a" } },
      { name = "jobs", type = "gauge", value = 2, labels = { pod = "b" } },
      { name = "jobs", type = "gauge", value = 3, labels = { pod = "c", queue = "q" } },
    } }
    assert.are.equal(3, acc)
    assert.are.equal(0, rej)
    -- only the third, a second output, meets the full cap
    assert.are.equal(1, #errs)
    assert.are.equal(3, errs[1].index)
    local text = gw:expose()
    assert.are.equal(1 + 2, value(text, "jobs")) -- two inputs, one output: summed
    assert.is_nil(text:find('queue="q"', 1, true))
    assert.are.equal(1, value(text, 'moongate_cap_hits_total{cap="one"}'))
  end)
end)
