-- A small load driver for end-to-end specs: producers that share one Lua
-- process and take turns (no coroutines, no threads). Each step of a
-- producer does a little non-blocking work and returns, so a spec can
-- interleave several of them with scrapes and reloads in one loop.
--
-- A producer keeps what the gateway acknowledged: the last acked value of
-- every series it owns and the sums of accepted, rejected and dropped over
-- its acks, so a spec can compare them with /metrics and the gateway's own
-- counters afterwards.
local socket = require "socket"
local moongate = require "moongate"

local M = {}

local function host_port(addr)
  local h, p = addr:match("^(.*):(%d+)$")
  return h, tonumber(p)
end

local Producer = {}
Producer.__index = Producer

-- A producer of `nseries` gauges named `<prefix>_<i>` over TCP, with at
-- most `window` messages in flight.
function M.producer(addr, prefix, nseries, window)
  local h, p = host_port(addr)
  local s = assert(socket.connect(h, p))
  s:settimeout(0)
  s:setoption("tcp-nodelay", true)
  return setmetatable({
    sock = s, buf = "", prefix = prefix, nseries = nseries, window = window or 8,
    seq = 0, pending = {}, npending = 0, acked = {}, sent_metrics = 0,
    accepted = 0, rejected = 0, dropped = 0, reasons = {}, acks = 0,
  }, Producer)
end

function Producer:name(i) return self.prefix .. "_" .. i end

-- Sends one message when the window allows: every series of the producer
-- set to a value that is new each message.
function Producer:send_one()
  if self.npending >= self.window then return false end
  self.seq = self.seq + 1
  local metrics, values = {}, {}
  for i = 1, self.nseries do
    local v = self.seq * 1000 + i
    metrics[i] = { name = self:name(i), type = "gauge", value = v }
    values[i] = v
  end
  local bytes = moongate.encode { ack = self.seq, metrics = metrics }
  local i = 1
  while i <= #bytes do -- a short blocking wait: the message goes whole
    local n, err, partial = self.sock:send(bytes, i)
    n = n or partial
    if err and err ~= "timeout" then error("producer " .. self.prefix .. ": " .. err) end
    i = n + 1
    if i <= #bytes then socket.select(nil, { self.sock }, 1) end
  end
  self.pending[self.seq] = values
  self.npending = self.npending + 1
  self.sent_metrics = self.sent_metrics + self.nseries
  return true
end

-- Reads what acks have arrived, without waiting.
function Producer:read_acks()
  local data, err, partial = self.sock:receive(65536)
  data = data or partial
  if err == "closed" then error("producer " .. self.prefix .. ": connection closed") end
  if data and #data > 0 then self.buf = self.buf .. data end
  while #self.buf > 0 do
    local r, n = moongate.decode(self.buf)
    if not r then break end
    self.buf = self.buf:sub(n + 1)
    self:on_ack(r)
  end
end

function Producer:on_ack(r)
  local values = assert(self.pending[r.ack], "an ack for no pending message: " .. tostring(r.ack))
  self.pending[r.ack] = nil
  self.npending = self.npending - 1
  self.acks = self.acks + 1
  self.accepted = self.accepted + r.accepted
  self.rejected = self.rejected + r.rejected
  self.dropped = self.dropped + r.dropped
  for _, e in ipairs(r.errors or {}) do
    self.reasons[e.reason] = (self.reasons[e.reason] or 0) + 1
  end
  if r.accepted == self.nseries then
    -- acks come in order on a stream: the later ack's value wins
    for i, v in ipairs(values) do self.acked[i] = v end
  end
end

function Producer:step()
  self:send_one()
  self:read_acks()
end

-- Waits up to `seconds` for every pending ack.
function Producer:drain(seconds)
  local deadline = socket.gettime() + seconds
  while self.npending > 0 and socket.gettime() < deadline do
    socket.select({ self.sock }, nil, 0.1)
    self:read_acks()
  end
  return self.npending == 0
end

function Producer:close() self.sock:close() end

M.Producer = Producer

-- Percentile p (0..1) of a list of numbers.
function M.percentile(xs, p)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  if #s == 0 then return 0 end
  return s[math.max(1, math.ceil(p * #s))]
end

return M
