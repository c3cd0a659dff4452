-- The docs say what the code does: every config key the parser accepts
-- and every own metric family a daemon exposes is documented, no file
-- points outside the repository, every marked Lua example loads or runs,
-- every Prometheus config passes promtool, and every tokens file loads.
--
-- Marking a ```lua block in README.md or docs/*.md (its first line):
--   -- scripts/NAME.lua   a pipeline script: loaded with moongate.new{scripts=...}
--   -- rules/NAME.lua     a rules file: loaded with moongate.new{rules=...}
--   -- spec: WHAT         a chunk run from the repository root, assert available
--   -- config: WHAT       a config file: its table goes to moongate.new{config=...}
--                        (paths under /etc/moongate/ become empty files of a
--                        scratch directory)
--   -- message: WHAT      a message table: pushed with gw:push, none refused
--   -- busted: WHAT       a busted test: `it` runs its function at once, and
--                        "rules/NAME.lua" names that marked block of the same file
-- Unmarked blocks are fragments (a config excerpt, a module call in passing).
local moongate = require "moongate"
local gw = require "support.gateway"

local root = gw.root

local function lines_of(cmd)
  local p = io.popen(cmd)
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

local function doc_files()
  local files = { "README.md" }
  for _, f in ipairs(lines_of("cd " .. gw.quote(root) .. " && ls docs/*.md")) do
    files[#files + 1] = f
  end
  return files
end

local function read(rel)
  return assert(gw.read_file(root .. "/" .. rel), rel)
end

-- Every key name of a `struct key` table in the C source.
local function config_keys()
  local src = read("gateway/core/mg_config.c")
  local keys, seen = {}, {}
  for name in src:gmatch('{"([%w_]+)", K_[%u_]+,') do
    if not seen[name] then
      seen[name] = true
      keys[#keys + 1] = name
    end
  end
  return keys
end

-- The ```lua blocks of a markdown text: { {first=..., body=..., line=n} }.
local function lua_blocks(text)
  local blocks, n, cur = {}, 0, nil
  for l in (text .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    local fence = l:match("^%s*```(%w*)")
    if cur then
      if fence then
        blocks[#blocks + 1] = cur
        cur = nil
      else
        cur.body[#cur.body + 1] = l:gsub("^" .. cur.indent, "")
      end
    elseif fence == "lua" then
      cur = { body = {}, line = n, indent = l:match("^(%s*)") }
    elseif fence then
      -- another language's block: skip to its closing fence
      cur = { body = {}, line = n, indent = l:match("^(%s*)"), skip = true }
    end
  end
  local out = {}
  for _, b in ipairs(blocks) do
    if not b.skip then
      b.text = table.concat(b.body, "\n") .. "\n"
      b.marker = b.body[1] or ""
      out[#out + 1] = b
    end
  end
  return out
end

-- The fenced blocks with no language (file contents, output) of a text.
local function plain_blocks(text)
  local out, cur, lang = {}, nil, nil
  for l in (text .. "\n"):gmatch("(.-)\n") do
    local fence = l:match("^%s*```(%w*)")
    if lang then
      if fence then
        if lang == "" then out[#out + 1] = table.concat(cur, "\n") end
        lang, cur = nil, nil
      else
        cur[#cur + 1] = l
      end
    elseif fence then
      lang, cur = fence, {}
    end
  end
  return out
end

describe("docs", function()
  it("name every config key of mg_config.c in docs/config.md", function()
    local doc = read("docs/config.md")
    local keys = config_keys()
    assert.is_true(#keys > 60, "the key tables were not found: " .. #keys)
    local missing = {}
    for _, k in ipairs(keys) do
      if not doc:find("`" .. k .. "`", 1, true) then missing[#missing + 1] = k end
    end
    assert.are.same({}, missing)
  end)

  it("name every own metric family a daemon exposes in docs/metrics.md", function()
    local doc = read("docs/metrics.md")
    local dir = gw.tmpdir()
    -- a data directory, a remote write destination (nothing listens there)
    -- and a rule: the families those features add are exposed too
    os.execute("mkdir " .. gw.quote(dir .. "/scripts"))
    gw.write_file(dir .. "/r.lua", 'record "x" { expr = function(q) return 1 end }\n')
    gw.write_file(dir .. "/scripts/c.lua", 'cap { label = "path", max_values = 2 }\n')
    local g = gw.start_with_config(([[
return { data_dir = %q, rule_interval = 1,
         remote_write = { { url = "http://127.0.0.1:9/api/v1/write", interval = 1 } } }
]]):format(dir .. "/data"), nil, { "--rules", dir, "--scripts", dir .. "/scripts" })
    g:push_http(moongate.encode { metrics = { { name = "docs_probe", value = 1 } } })
    gw.wait_for(function()
      return g:scrape():find("moongate_rule_evaluation_duration_seconds", 1, true)
    end, 10, "a rule evaluation")
    local body = g:scrape()
    g:stop()
    os.execute("rm -rf " .. gw.quote(dir))
    local fams, missing = {}, {}
    for name in body:gmatch("# TYPE ([%w_:]+) ") do
      if name:match("^moongate_") or name:match("^process_") then
        fams[#fams + 1] = name
        if not doc:find("`" .. name .. "`", 1, true) and not doc:find("`" .. name .. "{", 1, true) then
          missing[#missing + 1] = name
        end
      end
    end
    assert.is_true(#fams > 30, "too few families scraped: " .. #fams)
    assert.are.same({}, missing)
  end)

  it("point nowhere outside the repository", function()
    local files = doc_files()
    for _, f in ipairs(lines_of("cd " .. gw.quote(root) .. " && find examples scripts rules -type f")) do
      files[#files + 1] = f
    end
    local bad = {}
    for _, f in ipairs(files) do
      local text = read(f)
      for _, pat in ipairs({ "shared/", "SPEC%.md", "SPEC section", "%]%(%.%./", "%]%(/" }) do
        if text:find(pat) then bad[#bad + 1] = f .. ": " .. pat end
      end
      -- every relative markdown link names a file of the repository
      if f:match("%.md$") then
        local dir = f:match("^(.*)/") or "."
        for target in text:gmatch("%]%(([^)#%s]+)[^)]*%)") do
          if not target:match("^%a+://") and not target:match("^mailto:") then
            local p = root .. "/" .. dir .. "/" .. target
            if not gw.read_file(p) and os.execute("test -d " .. gw.quote(p)) ~= true then
              bad[#bad + 1] = f .. ": broken link " .. target
            end
          end
        end
      end
    end
    assert.are.same({}, bad)
  end)

  it("name no contract or folder outside the repository, in any tracked file", function()
    -- sources and specs included: their comments send readers to docs/
    local hits = lines_of("cd " .. gw.quote(root) .. " && git grep -nE "
      .. gw.quote("SPEC sections?[ .]|SPEC\\.md|SPEC's|shared folder|shared/|/work/")
      .. " -- . ':!spec/unit/docs_spec.lua' 2>/dev/null")
    assert.are.same({}, hits)
  end)

  it("give Prometheus configs promtool accepts", function()
    local dir = gw.tmpdir()
    local checked, failed = 0, {}
    for _, f in ipairs(doc_files()) do
      for body in read(f):gmatch("\n```yaml\n(.-)\n```") do
        if body:find("scrape_configs:", 1, true) then
          -- files the example names become empty files of the scratch directory
          body = body:gsub("/etc/prometheus/([%w_.-]+)", function(name)
            gw.write_file(dir .. "/" .. name, "")
            return dir .. "/" .. name
          end)
          gw.write_file(dir .. "/prometheus.yml", body .. "\n")
          local p = io.popen("promtool check config " .. gw.quote(dir .. "/prometheus.yml") .. " 2>&1")
          local out = p:read("a")
          local ok = p:close()
          checked = checked + 1
          if not ok then failed[#failed + 1] = f .. ": " .. out end
        end
      end
    end
    os.execute("rm -rf " .. gw.quote(dir))
    assert.are.same({}, failed)
    assert.is_true(checked >= 2, "too few Prometheus configs: " .. checked)
  end)

  it("give tokens files that moongate check --config accepts", function()
    local dir = gw.tmpdir()
    local checked, failed = 0, {}
    for _, body in ipairs(plain_blocks(read("docs/security.md"))) do
      local first = body:match("^[^\n]*")
      if first:find("TOKEN", 1, true) or first:find("%.tokens$") then
        gw.write_file(dir .. "/push.tokens", body .. "\n")
        gw.write_file(dir .. "/conf.lua", ("return { auth = { push = { tokens_file = %q } } }\n")
          :format(dir .. "/push.tokens"))
        local p = io.popen(gw.quote(gw.bin) .. " check --config " .. gw.quote(dir .. "/conf.lua") .. " 2>&1")
        local out = p:read("a")
        local ok = p:close()
        checked = checked + 1
        if not ok then failed[#failed + 1] = first .. ": " .. out end
      end
    end
    os.execute("rm -rf " .. gw.quote(dir))
    assert.are.same({}, failed)
    assert.is_true(checked >= 2, "too few tokens files: " .. checked)
  end)

  it("load every marked Lua example through the module", function()
    local dir = gw.tmpdir()
    local ran, failed, files = 0, {}, {}
    for _, f in ipairs(doc_files()) do
      for _, b in ipairs(lua_blocks(read(f))) do
        local where = f .. ":" .. b.line
        local path = dir .. "/example.lua"
        local ok, err
        local named = b.marker:match("^%-%- (rules/[%w_-]+%.lua)")
        if named then files[f .. ":" .. named] = b.text end
        if b.marker:match("^%-%- scripts/") then
          gw.write_file(path, b.text)
          ok, err = pcall(moongate.new, { scripts = { path } })
        elseif b.marker:match("^%-%- rules/") then
          gw.write_file(path, b.text)
          ok, err = pcall(moongate.new, { rules = { path } })
        elseif b.marker:match("^%-%- spec:") then
          local chunk, cerr = load(b.text, "=" .. where, "t",
                                   setmetatable({ assert = assert, print = function() end }, { __index = _G }))
          ok, err = chunk ~= nil, cerr
          if chunk then ok, err = pcall(chunk) end
        elseif b.marker:match("^%-%- config:") then
          local text = b.text:gsub("/etc/moongate/([%w_.-]+)", function(name)
            gw.write_file(dir .. "/" .. name, "")
            return dir .. "/" .. name
          end)
          local chunk, cerr = load(text, "=" .. where, "t", {})
          ok, err = chunk ~= nil, cerr
          if chunk then ok, err = pcall(function() return moongate.new { config = chunk() } end) end
        elseif b.marker:match("^%-%- message:") then
          local chunk, cerr = load("return " .. b.text, "=" .. where, "t", {})
          ok, err = chunk ~= nil, cerr
          if chunk then
            ok, err = pcall(function()
              local accepted, rejected, errs = moongate.new {}:push(chunk())
              assert(rejected == 0 and accepted > 0, "refused: " .. tostring(errs[1] and errs[1].detail))
            end)
          end
        elseif b.marker:match("^%-%- busted:") then
          local text = b.text:gsub('"rules/([%w_-]+%.lua)"', function(name)
            gw.write_file(dir .. "/" .. name, assert(files[f .. ":rules/" .. name], "no block rules/" .. name))
            return '"' .. dir .. "/" .. name .. '"'
          end)
          local env = setmetatable({ assert = assert, describe = function(_, fn) fn() end,
                                     it = function(_, fn) fn() end }, { __index = _G })
          local chunk, cerr = load(text, "=" .. where, "t", env)
          ok, err = chunk ~= nil, cerr
          if chunk then ok, err = pcall(chunk) end
        else
          ok = nil
        end
        if ok ~= nil then
          ran = ran + 1
          if not ok then failed[#failed + 1] = where .. ": " .. tostring(err) end
        end
      end
    end
    os.execute("rm -rf " .. gw.quote(dir))
    assert.are.same({}, failed)
    assert.is_true(ran >= 8, "too few marked examples: " .. ran)
  end)
end)
