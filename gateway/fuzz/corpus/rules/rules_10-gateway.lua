-- The gateway watches itself: its own metrics are output series like any
-- other, so these rules read them through q like a user's rules would.
-- Edit the thresholds, or delete the file.

-- The elements of a vector whose value is above a threshold.
local function above(vec, threshold)
  local out = {}
  for _, s in ipairs(vec or {}) do
    if s.value > threshold then out[#out + 1] = s end
  end
  return out
end

alert "MoongateSamplesRejected" {
  expr = function(q)
    return above(q.rate("moongate_samples_rejected_total", "5m", { by = { "reason" } }), 0)
  end,
  ["for"] = "5m",
  labels = { severity = "warning" },
  annotations = {
    summary = "moongate refuses {{ $value | humanize }} samples/s: {{ $labels.reason }}",
    description = "Producers push samples moongate refuses; the push replies and acks say why.",
  },
}

alert "MoongateSamplesDropped" {
  expr = function(q)
    return above(q.rate("moongate_samples_dropped_total", "5m", { by = { "reason" } }), 0)
  end,
  ["for"] = "10m",
  labels = { severity = "info" },
  annotations = {
    summary = "moongate drops {{ $value | humanize }} accepted samples/s: {{ $labels.reason }}",
  },
}

alert "MoongateScriptErrors" {
  expr = function(q)
    return above(q.increase("moongate_script_errors_total", "5m", { by = { "file" } }), 0)
  end,
  labels = { severity = "warning" },
  annotations = { summary = "pipeline script {{ $labels.file }} fails ({{ $value }} in 5m)" },
}

alert "MoongateCapHit" {
  expr = function(q)
    return above(q.increase("moongate_cap_hits_total", "15m", { by = { "cap" } }), 0)
  end,
  labels = { severity = "info" },
  annotations = { summary = "cardinality cap {{ $labels.cap }} refused or folded {{ $value }} series in 15m" },
}

alert "MoongateReloadFailed" {
  expr = function(q)
    local ok = q.value("moongate_config_last_reload_successful")
    if ok == 0 then return 1 end
  end,
  labels = { severity = "warning" },
  annotations = { summary = "the last reload of moongate's scripts or rules failed; the previous ones run" },
}

alert "MoongateNotificationsDropped" {
  expr = function(q)
    return above(q.increase("moongate_notifications_dropped_total", "15m", { by = { "reason" } }), 0)
  end,
  labels = { severity = "warning" },
  annotations = { summary = "moongate dropped {{ $value }} alerts on their way to Alertmanager ({{ $labels.reason }})" },
}
