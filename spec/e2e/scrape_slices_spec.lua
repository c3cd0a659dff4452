-- /metrics is rendered in slices, the next when the connection has written
-- the last: a scrape whose reader stalls holds one slice, not the body;
-- pushes are served meanwhile and the rest of the scrape shows their
-- values; a series removed under an open scrape is skipped; a reader that
-- leaves mid-body frees its scrape. The body is larger than the kernel's
-- socket buffers, so a reader that stops reading stops the rendering.
local socket = require "socket"
local gw = require "support.gateway"
local pgw = require "support.pushgw"

local FILLER = 150000 -- about 12 MB of text, past what the socket buffers hold

local function rss_kb(g)
  local status = gw.read_file("/proc/" .. g.pid .. "/status") or ""
  return tonumber(status:match("VmRSS:%s*(%d+)")) or 0
end

-- GET path on a raw connection; returns it once the status line and the
-- headers are read (the body not at all), with the headers.
local function open_get(g, path, extra)
  local h, p = g.http:match("^(.*):(%d+)$")
  local s = assert(socket.connect(h, tonumber(p)))
  s:settimeout(10 * gw.time_scale)
  assert(s:send("GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n" .. (extra or "") .. "\r\n"))
  local status = assert(s:receive("*l"))
  assert.are.equal("HTTP/1.1 200 OK", status)
  local hdr = {}
  while true do
    local l = assert(s:receive("*l"))
    if l == "" then break end
    local k, v = l:match("^([^:]+):%s*(.*)$")
    hdr[k:lower()] = v
  end
  return s, hdr
end

-- The chunked body to its end.
local function read_chunked(s)
  local parts = {}
  while true do
    local size = assert(s:receive("*l"))
    local n = assert(tonumber(size:match("^%x+"), 16), "a chunk size line")
    if n == 0 then
      assert(s:receive("*l"))
      return table.concat(parts)
    end
    parts[#parts + 1] = assert(s:receive(n))
    assert(s:receive("*l"))
  end
end

describe("/metrics in slices", function()
  local g
  setup(function()
    g = gw.start({ "--enable-lifecycle" }) -- lets DELETE remove a group
    -- a Pushgateway group in the same family, created first: the family's
    -- oldest series, the last a scrape reaches
    local lines = { "# TYPE bench_metric gauge" }
    for i = 1, 500 do lines[#lines + 1] = ('bench_metric{id="gone%d"} %d'):format(i, i) end
    local code = pgw.put(g.url, "/metrics/job/gone", table.concat(lines, "\n") .. "\n",
                         { ["content-type"] = "text/plain" })
    assert.are.equal(200, code)
    local bench = gw.build .. "/gateway/moongate-bench"
    assert.are.equal(0, gw.sh(("timeout 120 %s --target %s --series %d --samples 0 --ack >/dev/null")
      :format(gw.quote(bench), g.tcp, FILLER)))
    local r = g:push_tcp { metrics = { { name = "zzz_late", type = "gauge", value = 1 } } }
    assert.are.equal(1, r.accepted)
  end)
  teardown(function() g:stop() end)

  it("serves pushes and removals while a reader stalls, holding a slice, and shows them in the rest", function()
    local rss0 = rss_kb(g)
    local s = open_get(g, "/metrics")
    assert.is_truthy(s)
    -- the reader reads nothing more: the gateway renders what the socket
    -- takes, then waits
    local r = g:push_tcp { metrics = { { name = "zzz_late", type = "gauge", value = 2 } } }
    assert.are.equal(1, r.accepted)
    local code = pgw.delete(g.url, "/metrics/job/gone")
    assert.is_true(code == 202 or code == 200, "DELETE answered " .. tostring(code))
    -- one slice buffered, not the body (12 MB and its copy before slices)
    local grew = rss_kb(g) - rss0
    assert.is_true(grew < 12 * 1024 * gw.mem_scale, ("RSS grew %d kB under a stalled scrape"):format(grew))
    local body = read_chunked(s)
    s:close()
    assert.are.equal(2, gw.value(body, "zzz_late"))
    assert.is_nil(body:find('id="gone', 1, true), "a series deleted mid-scrape was rendered")
    local n = 0
    for _ in body:gmatch("\nbench_metric{") do n = n + 1 end
    assert.are.equal(FILLER, n)
    local _, types = body:gsub("# TYPE bench_metric ", "")
    assert.are.equal(1, types)
  end)

  it("frees a scrape whose reader leaves mid-body and keeps serving", function()
    for _ = 1, 3 do
      local s = open_get(g, "/metrics", "Accept-Encoding: gzip\r\n")
      assert(s:receive(1000))
      s:close()
    end
    local r = g:push_tcp { metrics = { { name = "zzz_late", type = "gauge", value = 3 } } }
    assert.are.equal(1, r.accepted)
    assert.are.equal(3, g:value("zzz_late"))
  end)

  it("streams gzip as one gzip body", function()
    local code, body = gw.curl(g.url .. "/metrics", { "--compressed", "--max-time", "60" })
    assert.are.equal(200, code)
    local n = 0
    for _ in body:gmatch("\nbench_metric{") do n = n + 1 end
    assert.are.equal(FILLER, n)
    assert.are.equal(3, gw.value(body, "zzz_late"))
  end)

  it("answers more scrapes at once than it holds with 503", function()
    local open = {}
    for i = 1, 16 do open[i] = open_get(g, "/metrics") end
    local code = gw.http_request("GET", g.url .. "/metrics")
    assert.are.equal(503, code)
    for _, s in ipairs(open) do s:close() end
    gw.wait_for(function() return gw.http_request("GET", g.url .. "/-/ready") == 200 and
                                  gw.curl(g.url .. "/metrics", { "--max-time", "60" }) == 200 end,
                30, "scrapes served again once the readers left")
  end)
end)
