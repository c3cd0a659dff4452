-- The real Pushgateway clients against a real daemon on 127.0.0.1, unchanged:
-- Python's prometheus_client (Debian's python3-prometheus-client, run by
-- /usr/bin/python3) and Go's client_golang push package (Debian's
-- golang-github-prometheus-client-golang-dev, built here in GOPATH mode
-- with no network), then Debian's Prometheus scrapes the gateway and sees
-- what they pushed. A missing component fails the spec with what to
-- install; nothing is skipped.
local gw = require "support.gateway"
local prometheus = require "support.prometheus"
local socket = require "socket"

local FIXTURES = gw.root .. "/spec/e2e/fixtures/pushgw"
local PYTHON = "/usr/bin/python3"

local function need(ok, what)
  assert(ok, what .. " (.ci/deps.sh installs it)")
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

local function near(want)
  return function(v) return v and math.abs(v - want) < 1e-9 end
end

-- Builds the Go client from the fixture: GOPATH mode over Debian's
-- /usr/share/gocode, no module proxy, a build cache kept in the build tree.
local function build_go(dir)
  need(gw.sh("test -x /usr/bin/go") == 0, "golang-go is not installed")
  need(gw.sh("test -d /usr/share/gocode/src/github.com/prometheus/client_golang/prometheus/push")
       == 0, "golang-github-prometheus-client-golang-dev is not installed")
  gw.sh("mkdir -p " .. gw.quote(dir .. "/src/gopush"))
  gw.sh("cp " .. gw.quote(FIXTURES .. "/gopush/main.go") .. " " .. gw.quote(dir .. "/src/gopush/"))
  local env = table.concat({
    "GO111MODULE=off", "GOFLAGS=", "GOPROXY=off", "GOTOOLCHAIN=local",
    "GOPATH=" .. gw.quote("/usr/share/gocode:" .. dir),
    "GOCACHE=" .. gw.quote(gw.build .. "/go-cache"),
    "HOME=" .. gw.quote(dir),
  }, " ")
  local ok, out = run("cd " .. gw.quote(dir) .. " && env " .. env .. " /usr/bin/go build -o " ..
                      gw.quote(dir .. "/gopush") .. " gopush")
  assert(ok, "building the Go client failed:\n" .. out)
  return dir .. "/gopush"
end

-- Runs cmd(url) in the background against a one-shot HTTP listener and
-- returns the request line and headers of what it sent.
local function capture(cmd)
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  srv:settimeout(30)
  gw.sh(cmd("http://127.0.0.1:" .. port) .. " >/dev/null 2>&1 &")
  local c = assert(srv:accept())
  c:settimeout(10)
  local reqline = c:receive("*l")
  local headers = {}
  while true do
    local line = c:receive("*l")
    if not line or line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k:lower()] = v end
  end
  local n = tonumber(headers["content-length"] or "0")
  if n > 0 then c:receive(n) end
  c:send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
  c:close()
  srv:close()
  return reqline, headers
end

describe("Pushgateway clients, unchanged, against moongate", function()
  local g, dir, gopush

  setup(function()
    need(gw.sh("test -x " .. PYTHON) == 0, PYTHON .. " is missing")
    local ok, out = run(PYTHON .. " -c 'import prometheus_client'")
    need(ok, "python3-prometheus-client is not installed: " .. out)
    dir = gw.tmpdir()
    gopush = build_go(dir)
    g = gw.start({ "--enable-lifecycle" })
  end)

  teardown(function()
    if g then g:stop() end
    if dir then gw.sh("rm -rf " .. gw.quote(dir)) end
  end)

  local function python(step)
    local ok, out = run(PYTHON .. " " .. gw.quote(FIXTURES .. "/client.py") .. " " ..
                        gw.quote(g.url) .. " " .. step)
    assert(ok, "client.py " .. step .. ":\n" .. out)
  end

  local function go(step)
    local ok, out = run(gw.quote(gopush) .. " " .. gw.quote(g.url) .. " " .. step)
    assert(ok, "gopush " .. step .. ":\n" .. out)
  end

  local PY = 'job="py/batch",path="/var/lib/job"'
  local GO = 'job="gojob",path="a/b"'

  it("push_to_gateway replaces the group; the slash and the empty value survive", function()
    python("push")
    local text = g:scrape()
    assert.are.equal(1700000000, gw.value(text, 'py_job_last_success_unixtime{' .. PY ..
                                          ',stage="load"}'))
    assert.are.equal(42, gw.value(text, "py_job_records_total{" .. PY .. "}"))
    assert.are.equal(1, gw.value(text, 'py_job_seconds_bucket{' .. PY .. ',le="5"}'))
    assert.are.equal(512, gw.value(text, "py_job_batch_bytes_sum{" .. PY .. "}"))
    assert.is_true(gw.value(text, "push_time_seconds{" .. PY .. "}") > 1e9)
  end)

  it("pushadd_to_gateway adds a family and keeps the others", function()
    python("pushadd")
    local text = g:scrape()
    assert.are.equal(5, gw.value(text, "py_job_added{" .. PY .. "}"))
    assert.are.equal(42, gw.value(text, "py_job_records_total{" .. PY .. "}"))
  end)

  it("delete_from_gateway removes the group", function()
    python("delete")
    local text = g:scrape()
    assert.is_nil(gw.value(text, "py_job_added{" .. PY .. "}"))
    assert.is_nil(gw.value(text, "push_time_seconds{" .. PY .. "}"))
    python("push") -- back, for Prometheus below
  end)

  it("the Go client pushes delimited protobuf by default", function()
    local reqline, headers = capture(function(url)
      return gw.quote(gopush) .. " " .. gw.quote(url) .. " push"
    end)
    assert.matches("^PUT /metrics/job/gojob/path@base64/", reqline)
    assert.matches("application/vnd.google.protobuf", headers["content-type"], 1, true)
    assert.matches("encoding=delimited", headers["content-type"], 1, true)
  end)

  it("Push() and Add() from Go land in the group", function()
    go("push")
    local text = g:scrape()
    assert.are.equal(7, gw.value(text, 'go_job_last_success{' .. GO .. ',stage="x"}'))
    assert.are.equal(3, gw.value(text, "go_job_runs_total{" .. GO .. "}"))
    assert.are.equal(1, gw.value(text, 'go_job_seconds_bucket{' .. GO .. ',le="1"}'))
    assert.are.equal(10, gw.value(text, 'go_job_size{' .. GO .. ',quantile="0.5"}'))
    go("add")
    text = g:scrape()
    assert.are.equal(1, gw.value(text, "go_job_added{" .. GO .. "}"))
    assert.are.equal(3, gw.value(text, "go_job_runs_total{" .. GO .. "}"))
  end)

  it("Prometheus scrapes moongate and sees what both clients pushed", function()
    local prom = prometheus.start(g.http, "moongate")
    local ok, err = pcall(function()
      prom.await_value('go_job_runs_total{job="gojob",path="a/b"}', near(3))
      prom.await_value('py_job_records_total{job="py/batch",path="/var/lib/job"}', near(42))
      prom.await_value('go_job_seconds_count{job="gojob",path="a/b"}', near(1))
      prom.await_value('push_time_seconds{job="gojob",path="a/b"}',
                       function(v) return v and v > 1e9 end)
    end)
    prom.stop()
    assert(ok, err)
  end)
end)
