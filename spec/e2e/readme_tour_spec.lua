-- The README's five-minute walk-through, run as written against a daemon
-- started as `make run` starts it (the repository's scripts/ and rules/):
-- its curl push is taken from the README, and the series it says the
-- scrape shows must be there; its marked scripts and rules then load into
-- the running daemon through a reload.
local gw = require "support.gateway"

local readme = assert(gw.read_file(gw.root .. "/README.md"))

-- The fenced blocks of a language, in order.
local function blocks(lang)
  local out = {}
  for body in readme:gmatch("\n```" .. lang .. "\n(.-)\n```") do out[#out + 1] = body end
  return out
end

local function find_block(lang, needle)
  for _, b in ipairs(blocks(lang)) do
    if b:find(needle, 1, true) then return b end
  end
  error("README has no ```" .. lang .. " block with " .. needle)
end

describe("the README tour", function()
  local g, dir

  setup(function()
    dir = gw.tmpdir()
    os.execute("cp -r " .. gw.quote(gw.root .. "/scripts") .. " " .. gw.quote(gw.root .. "/rules")
               .. " " .. gw.quote(dir))
    g = gw.start({ "--scripts", dir .. "/scripts", "--rules", dir .. "/rules", "--enable-lifecycle" })
  end)

  teardown(function()
    if g then g:stop() end
    if dir then os.execute("rm -rf " .. gw.quote(dir)) end
  end)

  it("pushes with the README's curl and scrapes what it says", function()
    local push = find_block("sh", "--data-binary @-")
    push = push:gsub("http://127%.0%.0%.1:9477", g.url)
    local ok = os.execute("set -e\n" .. push .. "\n")
    assert.is_true(ok == true or ok == 0, "the push failed")
    local see = find_block("sh", "curl -s http://127.0.0.1:9477/metrics")
    local want = {}
    for line in see:gmatch("\n# ([%w_]+{[^\n]*} [%d.]+)") do want[#want + 1] = line end
    assert.is_true(#want >= 2, "no expected series in the README")
    local body = g:scrape()
    for _, line in ipairs(want) do
      assert.truthy(body:find("\n" .. line .. "\n", 1, true), line .. "\nnot in\n" .. body)
    end
    -- the explain call the README shows answers for the pushed series
    local code, answer = gw.curl(g.url .. "/api/v1/explain?series=http_requests_total")
    assert.are.equal(200, code)
    assert.truthy(answer:find("workspace_id", 1, true))
  end)

  it("reloads with the README's scripts and rules added", function()
    for _, b in ipairs(blocks("lua")) do
      local file = b:match("^%-%- ([%w]+/[%w%-_]+%.lua)\n")
      if file then gw.write_file(dir .. "/" .. file, b .. "\n") end
    end
    local code, body = gw.curl(g.url .. "/-/reload", { "-X", "POST" })
    assert.are.equal(200, code, body)
    code, body = gw.curl(g.url .. "/api/v1/rules")
    assert.are.equal(200, code)
    assert.truthy(body:find('"ServerErrors"', 1, true), body)
    code, body = gw.curl(g.url .. "/api/v1/status/cardinality")
    assert.truthy(body:find("per_label", 1, true) or body:find("workspace_id", 1, true), body)
  end)
end)
