-- Validation of pushed metrics through the Lua module: each refusal has its
-- reason, and the rest of the message still lands.
local moongate = require "moongate"

local function gateway() return moongate.new() end

local function reasons(errors)
  local r = {}
  for _, e in ipairs(errors) do r[#r + 1] = e.reason end
  return r
end

describe("validation", function()
  it("accepts good metrics and refuses bad ones beside them", function()
    local gw = gateway()
    local acc, rej, errs = gw:push { metrics = {
      { name = "good", value = 1 },
      { name = "0bad", value = 1 },
      { name = "also_good", type = "gauge", value = 2 },
    } }
    assert.are.equal(2, acc)
    assert.are.equal(1, rej)
    assert.are.same({ "invalid_metric_name" }, reasons(errs))
    assert.are.equal(2, errs[1].index)
    local text = gw:expose()
    assert.truthy(text:find("\ngood 1\n", 1, true))
    assert.truthy(text:find("\nalso_good 2\n", 1, true))
  end)

  local cases = {
    { "invalid_label_name", { name = "m", value = 1, labels = { ["1x"] = "v" } } },
    { "invalid_label_name", { name = "m", value = 1, labels = { __reserved = "v" } } },
    { "invalid_label_value", { name = "m", value = 1, labels = { l = "\xff\xfe" } } },
    { "invalid_value", { name = "c_total", type = "counter", value = -1 } },
    { "invalid_value", { name = "c_total", type = "counter", value = 0 / 0 } },
    { "invalid_value", { name = "h", type = "histogram", buckets = { [1] = 5, [2] = 3 }, sum = 1, count = 5 } },
    { "invalid_value", { name = "h", type = "histogram", buckets = { [1] = 1, ["+Inf"] = 2 }, sum = 1, count = 3 } },
    { "invalid_value", { name = "h", type = "histogram", buckets = { [1] = 1 }, sum = 1 } },
    { "invalid_value", { name = "s", type = "summary", quantiles = { [1.5] = 1 }, sum = 1, count = 1 } },
    { "invalid_value", { name = "g", type = "gauge" } },
    { "invalid_label_name", { name = "h", type = "histogram", labels = { le = "1" }, buckets = { [1] = 1 }, sum = 1, count = 1 } },
    { "decode_error", { name = "m", type = "meter", value = 1 } },
  }
  for _, c in ipairs(cases) do
    it("refuses " .. c[1] .. " (" .. c[2].name .. ")", function()
      local gw = gateway()
      local acc, rej, errs = gw:push { metrics = { c[2], { name = "sibling", value = 1 } } }
      assert.are.equal(1, acc)
      assert.are.equal(1, rej)
      assert.are.equal(c[1], errs[1].reason)
      assert.is_string(errs[1].detail)
      assert.truthy(gw:expose():find('moongate_samples_rejected_total{reason="' .. c[1] .. '"} 1', 1, true))
    end)
  end

  it("refuses a second type for one name", function()
    local gw = gateway()
    gw:push { metrics = { { name = "x", type = "counter", value = 1 } } }
    local acc, rej, errs = gw:push { metrics = { { name = "x", type = "gauge", value = 1, labels = { a = "b" } } } }
    assert.are.equal(0, acc)
    assert.are.same({ "type_conflict" }, reasons(errs))
    -- and the same series changing type
    _, _, errs = gw:push { metrics = { { name = "x", type = "gauge", value = 1 } } }
    assert.are.same({ "type_conflict" }, reasons(errs))
  end)

  it("refuses names that would collide in the scrape", function()
    local gw = gateway()
    gw:push { metrics = { { name = "lat", type = "histogram", buckets = { [1] = 1 }, sum = 1, count = 1 } } }
    for _, n in ipairs { "lat_count", "lat_sum", "lat_bucket" } do
      local _, rej, errs = gw:push { metrics = { { name = n, type = "gauge", value = 1 } } }
      assert.are.equal(1, rej, n)
      assert.are.equal("name_collision", errs[1].reason)
    end
    gw:push { metrics = { { name = "jobs", type = "counter", value = 1 } } }
    local _, rej = gw:push { metrics = { { name = "jobs_total", type = "gauge", value = 1 } } }
    assert.are.equal(1, rej)
  end)

  it("treats an empty label value as an absent label", function()
    local gw = gateway()
    gw:push { metrics = { { name = "m", value = 1, labels = { a = "", b = "x" } } } }
    gw:push { metrics = { { name = "m", value = 2, labels = { b = "x" } } } }
    assert.truthy(gw:expose():find('\nm{b="x"} 2\n', 1, true))
  end)

  it("renames a metric label that a source label shadows, again if needed", function()
    local gw = gateway()
    gw:push { source = { job = "s", exported_job = "e" }, metrics = {
      { name = "m", value = 1, labels = { job = "mine" } } } }
    assert.truthy(gw:expose():find('m{exported_exported_job="mine",exported_job="e",job="s"} 1', 1, true))
  end)

  it("refuses too many labels and too many metrics", function()
    local gw = moongate.new { config = { limits = { max_labels = 2, max_metrics = 2 } } }
    local _, _, errs = gw:push { metrics = { { name = "m", value = 1, labels = { a = "1", b = "2", c = "3" } } } }
    assert.are.equal("too_many_labels", errs[1].reason)
    local _, rej, errs2 = gw:push { metrics = { { name = "a", value = 1 }, { name = "b", value = 1 }, { name = "c", value = 1 } } }
    assert.are.equal("too_many_metrics", errs2[1].reason)
    assert.is_nil(errs2[1].index)
  end)

  it("refuses bytes that are not a message", function()
    local gw = gateway()
    local acc, rej, errs = gw:push("\xc1")
    assert.are.equal(0, acc)
    assert.are.equal("decode_error", errs[1].reason)
    _, _, errs = gw:push(moongate.encode { "not", "a", "map" })
    assert.are.equal("decode_error", errs[1].reason)
  end)

  it("refuses a declared size before msgpack-c allocates for it", function()
    local gw = gateway()
    -- an array32 header claiming 4 billion elements, in five bytes
    local _, rej, errs = gw:push("\xdd\xff\xff\xff\xff")
    assert.are.equal(1, rej)
    assert.are.equal("too_large", errs[1].reason)
  end)
end)
