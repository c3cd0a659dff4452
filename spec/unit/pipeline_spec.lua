-- The Lua pipeline through the module: relabel, drop, transform,
-- aggregate, on_sample; once per series; failures that stay local.
local moongate = require "moongate"
local value = require("support.exposition").value

local dir = "spec/unit/fixtures/"
local function gw_with(...)
  local scripts = {}
  for i, f in ipairs { ... } do scripts[i] = dir .. f end
  return moongate.new { scripts = scripts }
end

describe("pipeline", function()
  it("labeldrop of workspace_id keeps exact totals over 1,000 workspaces, through resets and expiry", function()
    local gw = gw_with("drop_workspace.lua")
    local expected = 0
    for round = 1, 3 do
      local metrics = {}
      for w = 1, 1000 do
        -- every 7th workspace restarts in round 3
        local v = (round == 3 and w % 7 == 0) and 2 or round * 10 + w
        metrics[#metrics + 1] = { name = "agent_requests_total", type = "counter", value = v,
          labels = { workspace_id = "ws" .. w, template = "t" .. (w % 3) } }
      end
      assert.are.equal(1000, (gw:push { ttl = 120, metrics = metrics }))
      gw:advance(10)
    end
    for w = 1, 1000 do
      expected = expected + ((w % 7 == 0) and (20 + w + 2) or (30 + w))
    end
    local text = gw:expose()
    local sum = 0
    for t = 0, 2 do sum = sum + value(text, 'agent_requests_total{template="t' .. t .. '"}') end
    assert.are.equal(expected, sum)
    assert.are.equal(1000, value(text, "moongate_pipeline_runs_total"))
    -- expiry: inputs go, a counter's contribution stays while its output lives
    gw:push { ttl = 1000, metrics = { { name = "agent_requests_total", type = "counter", value = 0,
      labels = { workspace_id = "late", template = "t0" } } } }
    gw:advance(200)
    text = gw:expose()
    assert.is_nil(value(text, 'agent_requests_total{template="t1"}'))
    assert.truthy(value(text, 'agent_requests_total{template="t0"}') > 0)
  end)

  it("buckets status codes into classes and bounds routes", function()
    local gw = gw_with("status_class.lua")
    gw:push { metrics = {
      { name = "http_requests_total", type = "counter", value = 1, labels = { status = "200", path = "/api/users/17" } },
      { name = "http_requests_total", type = "counter", value = 2, labels = { status = "204", path = "/api/users/18" } },
      { name = "http_requests_total", type = "counter", value = 4, labels = { status = "503", path = "/wp-admin.php" } },
    } }
    local text = gw:expose()
    assert.are.equal(3, value(text, 'http_requests_total{route="/api/users",status="2xx"}'))
    assert.are.equal(4, value(text, 'http_requests_total{route="unknown",status="5xx"}'))
  end)

  it("drops by name and by labels, counted under rule", function()
    local gw = gw_with("drops.lua")
    local acc, rej, errs = gw:push { metrics = {
      { name = "go_gc_duration", value = 1 },
      { name = "debug_x", value = 1, labels = { env = "dev" } },
      { name = "debug_x", value = 1, labels = { env = "prod" } },
    } }
    assert.are.equal(3, acc)
    local text = gw:expose()
    assert.is_nil(value(text, "go_gc_duration"))
    assert.is_nil(value(text, 'debug_x{env="dev"}'))
    assert.are.equal(1, value(text, 'debug_x{env="prod"}'))
    assert.are.equal(2, value(text, 'moongate_samples_dropped_total{reason="rule"}'))
    -- a dropped series stays dropped without running the pipeline again
    gw:push { metrics = { { name = "go_gc_duration", value = 2 } } }
    text = gw:expose()
    assert.are.equal(3, value(text, "moongate_pipeline_runs_total"))
    assert.are.equal(3, value(text, 'moongate_samples_dropped_total{reason="rule"}'))
  end)

  it("transform renames _ms to _seconds and scales every update natively", function()
    local gw = gw_with("transform_ms.lua")
    gw:push { metrics = { { name = "latency_ms", type = "gauge", value = 1500 } } }
    gw:push { metrics = { { name = "latency_ms", type = "gauge", value = 250 } } }
    gw:push { metrics = { { name = "work_ms", type = "histogram", buckets = { [100] = 1, [1000] = 3 }, sum = 700, count = 3 } } }
    local text = gw:expose()
    assert.are.equal(0.25, value(text, "latency_seconds"))
    assert.are.equal(1, value(text, 'work_seconds_bucket{le="0.1"}'))
    assert.are.equal(0.7, value(text, "work_seconds_sum"))
    assert.are.equal(2, value(text, "moongate_pipeline_runs_total"))
  end)

  it("transform sets a series' ttl", function()
    local gw = gw_with("transform_ms.lua")
    gw:push { ttl = 3600, metrics = { { name = "m", value = 1, labels = { short = "yes" } }, { name = "n", value = 1 } } }
    gw:advance(6)
    local text = gw:expose()
    assert.is_nil(value(text, 'm{short="yes"}'))
    assert.are.equal(1, value(text, "n"))
  end)

  it("aggregate chooses how gauges of one output combine", function()
    local gw = gw_with("aggregate_max.lua")
    gw:push { metrics = {
      { name = "temperature_celsius", type = "gauge", value = 21, labels = { sensor = "a", room = "r" } },
      { name = "temperature_celsius", type = "gauge", value = 25, labels = { sensor = "b", room = "r" } },
      { name = "humidity", type = "gauge", value = 40, labels = { sensor = "a" } },
      { name = "humidity", type = "gauge", value = 50, labels = { sensor = "b" } },
    } }
    local text = gw:expose()
    assert.are.equal(25, value(text, 'temperature_celsius{room="r"}'))
    assert.are.equal(90, value(text, "humidity"))
  end)

  it("on_sample runs per sample, the documented slow path", function()
    local gw = gw_with("on_sample_double.lua")
    for i = 1, 5 do
      gw:push { metrics = { { name = "g", type = "gauge", value = i }, { name = "skip_me", value = 1 } } }
    end
    local text = gw:expose()
    assert.are.equal(10, value(text, "g"))
    assert.is_nil(value(text, "skip_me"))
    assert.are.equal(1, value(text, "moongate_pipeline_runs_total"))
  end)

  it("a failing, slow or greedy transform fails that series only", function()
    local gw = gw_with("transform_error.lua")
    local acc, rej = gw:push { metrics = {
      { name = "a", value = 1, labels = { boom = "1" } },
      { name = "b", value = 1, labels = { spin = "1" } },
      { name = "c", value = 1, labels = { hog = "1" } },
      { name = "ok", value = 1 },
    } }
    assert.are.equal(4, acc)
    local text = gw:expose()
    assert.are.equal(1, value(text, "ok"))
    assert.is_nil(value(text, 'a{boom="1"}'))
    assert.are.equal(3, value(text, 'moongate_samples_dropped_total{reason="script_error"}'))
    assert.are.equal(3, value(text, 'moongate_script_errors_total{file="' .. dir .. 'transform_error.lua"}'))
    -- the state still works after the budget and memory trips
    gw:push { metrics = { { name = "ok2", value = 2 } } }
    assert.are.equal(2, value(gw:expose(), "ok2"))
  end)

  it("__ labels carry values between steps and leave with the pipeline", function()
    local gw = gw_with("scratch_labels.lua")
    gw:push { metrics = { { name = "up", value = 1 } } }
    local text = gw:expose()
    assert.are.equal(1, value(text, "up"))
    assert.are.equal(0, value(text, 'moongate_samples_dropped_total{reason="script_error"}'))
  end)

  describe("the sandbox holds from a transform:", function()
    -- Real bytecode, dumped outside the sandbox, written into the script as
    -- a string literal: a script that could load it would run it.
    local bytecode = string.dump(function() return "ran" end)
    local literal = '"' .. bytecode:gsub(".", function(c) return ("\\%d"):format(c:byte()) end) .. '"'
    local escapes = {
      { "io", "io ~= nil" },
      { "os.execute", "os ~= nil and os.execute ~= nil" },
      { "require", "require ~= nil" },
      { "dofile", "dofile ~= nil" },
      { "loadfile", "loadfile ~= nil" },
      { "debug", "debug ~= nil" },
      { "string.dump", "string.dump ~= nil" },
      { "(\"\").dump", "(\"\").dump ~= nil" },
      { "__gc", "pcall(setmetatable, {}, { __gc = function() end })" },
      { "binary chunk through load", "(function() local f = load(" .. literal .. ") return f ~= nil and f() == \"ran\" end)()" },
      { "binary chunk through load, mode b", "(function() local f = load(" .. literal .. ", \"x\", \"b\") return f ~= nil end)()" },
      { "string metatable writable", "pcall(function() getmetatable(\"\").__index = {} end)" },
      { "string table writable", "pcall(function() string.upper = nil end)" },
      { "_G escape through rawget", "rawget(_G or {}, \"io\") ~= nil" },
    }
    local probe_dir = os.tmpname()
    os.remove(probe_dir)
    os.execute("mkdir -p " .. probe_dir)
    for i, e in ipairs(escapes) do
      it(e[1], function()
        local file = ("%s/escape_%02d.lua"):format(probe_dir, i)
        local f = assert(io.open(file, "wb"))
        f:write("transform(function(s)\n  local ok, reached = pcall(function() return ", e[2],
                " end)\n  s.labels.reached = (ok and reached) and \"yes\" or \"no\"\n  return s\nend)\n")
        f:close()
        local gw = moongate.new { scripts = { file } }
        gw:push { metrics = { { name = "probe", value = 1 } } }
        assert.are.equal(1, value(gw:expose(), 'probe{reached="no"}'), e[1] .. " is reachable")
      end)
    end
    it("the probe itself can tell: outside the sandbox the bytecode loads", function()
      local f = load(bytecode, "x", "b")
      assert.are.equal("ran", f())
    end)
  end)

  it("a script that fails to load names file:line, and the old pipeline stays", function()
    local gw = gw_with("status_class.lua")
    gw:push { metrics = { { name = "r_total", type = "counter", value = 1, labels = { status = "404" } } } }
    local ok, err = gw:load { scripts = { dir .. "drops.lua", dir .. "bad_syntax.lua" } }
    assert.is_false(ok)
    assert.truthy(err:find("bad_syntax.lua:2:", 1, true), err)
    assert.truthy(err:find("relabel[1].regex", 1, true), err)
    local text = gw:expose()
    assert.are.equal(0, value(text, "moongate_config_last_reload_successful"))
    assert.are.equal(1, value(text, 'r_total{route="unknown",status="4xx"}'))
    assert.has_error(function() moongate.new { scripts = { dir .. "bad_syntax.lua" } } end)
  end)

  it("a reload re-maps every live series at once", function()
    local gw = moongate.new()
    gw:push { metrics = {
      { name = "jobs_total", type = "counter", value = 5, labels = { workspace_id = "a" } },
      { name = "jobs_total", type = "counter", value = 7, labels = { workspace_id = "b" } },
    } }
    assert.are.equal(5, value(gw:expose(), 'jobs_total{workspace_id="a"}'))
    assert.is_true(gw:load { scripts = { dir .. "drop_workspace.lua" } })
    local text = gw:expose()
    assert.are.equal(12, value(text, "jobs_total"))
    assert.is_nil(value(text, 'jobs_total{workspace_id="a"}'))
    assert.are.equal(1, value(text, "moongate_config_last_reload_successful"))
    -- and back
    assert.is_true(gw:load { scripts = {} })
    assert.are.equal(7, value(gw:expose(), 'jobs_total{workspace_id="b"}'))
  end)

  it("keeps source labels apart for the pipeline, also after a reload", function()
    local gw = moongate.new()
    gw:push { source = { workspace_id = "w1" }, metrics = { { name = "x", value = 1 } } }
    assert.is_true(gw:load { scripts = { dir .. "drop_workspace.lua" } })
    assert.are.equal(1, value(gw:expose(), "x"))
  end)
end)

describe("moongate.relabel", function()
  it("gives Prometheus's answers", function()
    local out = moongate.relabel({ __name__ = "http_requests_total", status = "503", instance = "a:1" }, {
      { source_labels = { "status" }, regex = "(\\d)\\d\\d", target_label = "status", replacement = "${1}xx" },
      { action = "labeldrop", regex = "instance" },
    })
    assert.are.same({ __name__ = "http_requests_total", status = "5xx" }, out)
    assert.is_nil(moongate.relabel({ a = "x" }, { { action = "drop", source_labels = { "a" }, regex = "x" } }))
  end)

  it("raises naming the field for a config Prometheus refuses", function()
    assert.has_error(function()
      moongate.relabel({}, { { action = "hashmod", source_labels = { "a" }, target_label = "b" } })
    end, "relabel[1].modulus: relabel configuration for hashmod requires non-zero modulus")
  end)
end)
