-- The sharded deployment of docs/remote-write.md, end to end: two
-- moongates with distinct gateway_shard external labels, producers spread
-- between them by a hash of their source labels (the client-side rule),
-- both remote-writing to one victoria-metrics. Cross-shard totals are one
-- `sum without (gateway_shard)` away and equal what was pushed; each
-- shard's cap is its own budget and its fold series add up to exactly what
-- it folded. Everything on 127.0.0.1; every wait bounded.
local gw = require "support.gateway"
local remote = require "support.remote"

-- FNV-1a over the producer's source labels, as a client library would
-- pick its gateway.
local function shard_of(source)
  local h = 2166136261
  for i = 1, #source do
    h = ((h ~ source:byte(i)) * 16777619) & 0xffffffff
  end
  return h % 2 + 1
end

describe("two moongate shards remote-writing to one store", function()
  local vm, shards, dirs = nil, {}, {}
  after_each(function()
    for _, g in ipairs(shards) do g:stop() end
    if vm then vm.stop() end
    for _, d in ipairs(dirs) do gw.sh("rm -rf " .. gw.quote(d)) end
    vm, shards, dirs = nil, {}, {}
  end)

  it("keeps totals exact across shards and caps per shard", function()
    vm = remote.victoria()
    local names = { "a", "b" }
    for i, name in ipairs(names) do
      local d = gw.tmpdir()
      dirs[#dirs + 1] = d
      gw.sh("mkdir " .. gw.quote(d .. "/scripts"))
      gw.write_file(d .. "/scripts/caps.lua",
                    'cap { label = "path", max_values = 3, overflow = "fold" }\n')
      shards[i] = gw.start_with_config(([[return {
        scripts = %q,
        external_labels = { gateway_shard = %q },
        remote_write = { { url = %q, interval = "300ms" } } }]])
        :format(d .. "/scripts", name, vm.write_url))
    end
    -- 24 producers, 2 paths each, 48 distinct paths: far past 3 per shard
    local total, per_producer = 0, {}
    local admitted = { {}, {} }    -- paths each shard admitted, in order
    local folded = { 0, 0 }        -- what each shard's cap folded
    for p = 1, 24 do
      local producer = ("p-%02d"):format(p)
      local s = shard_of("producer=" .. producer)
      local metrics = {}
      for k = 1, 2 do
        local path = ("/r%d"):format(p * 2 + k)
        local v = p * 10 + k
        metrics[k] = { name = "sh_requests_total", type = "counter", value = v,
                       labels = { path = path } }
        total = total + v
        per_producer[producer] = (per_producer[producer] or 0) + v
        if #admitted[s] < 3 then
          admitted[s][#admitted[s] + 1] = path
        else
          folded[s] = folded[s] + v
        end
      end
      local code = shards[s]:push_http { source = { producer = producer }, metrics = metrics }
      assert.are.equal(200, code)
    end
    assert.is_true(folded[1] > 0 and folded[2] > 0, "both shards fold")

    -- the cross-shard total, as a dashboard would ask for it
    vm.await("sum(sum without (gateway_shard) (sh_requests_total))",
             function(v) return v == total end)
    -- per producer, each on exactly one shard
    gw.wait_for(function()
      local r = vm.query("sum without (gateway_shard, path) (sh_requests_total)")
      if #r ~= 24 then return false end
      for _, s in ipairs(r) do
        if tonumber(s.value[2]) ~= per_producer[s.metric.producer] then return false end
      end
      return true
    end, 20, "per-producer totals")
    for s, name in ipairs(names) do
      -- each shard's budget: 3 paths and the overflow value
      assert.are.equal(4, vm.scalar(('count(count by (path) (sh_requests_total{gateway_shard="%s"}))')
                                    :format(name)))
      assert.are.equal(folded[s], vm.scalar(
        ('sum(sh_requests_total{gateway_shard="%s",path="__overflow__"})'):format(name)))
    end
  end)
end)
