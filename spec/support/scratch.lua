-- Scratch files for unit specs: file(text [, suffix]) writes text to a new
-- temporary file and returns its path; cleanup() removes every file made
-- since the last cleanup (call it from teardown or after_each).
local M = {}
local files = {}

function M.file(text, suffix)
  local base = os.tmpname() -- made on disk: removed with the file
  local path = base .. (suffix or "")
  if suffix then files[#files + 1] = base end
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  files[#files + 1] = path
  return path
end

function M.cleanup()
  for _, p in ipairs(files) do os.remove(p) end
  files = {}
end

return M
