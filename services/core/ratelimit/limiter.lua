-- agentqueue global rate limiter: continuous-refill budgets with leases, priority
-- floors and per-priority arrival order. One script, several commands, so that every
-- decision is atomic and timed by the Redis server's clock (all clients agree).
--
-- A budget key (hash) holds, per dimension d in {r (requests), t (tokens)}:
--   cap_d    capacity (the per-minute limit, after the safety margin)
--   rate_d   refill per millisecond
--   lvl_d    level at time ts (may be negative: feedback can put us in debt)
-- plus ratio (moving average of settled / reserved tokens), ts (ms), the reserve fractions f_high, f_standard, f_batch (each priority may not
-- draw the level below f_p * cap) and next_<priority> (ms): the arrival cursor of that
-- priority, so that waiters are given distinct, ordered wake-up times.
--
-- Leases live in hash <prefix>lease:<id> and zset <prefix>leases (score = expiry ms).

local prefix = KEYS[1]
local cmd = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function load(key)
  local raw = redis.call('HGETALL', key)
  if #raw == 0 then return nil end
  local b = {}
  for i = 1, #raw, 2 do b[raw[i]] = tonumber(raw[i + 1]) or raw[i + 1] end
  -- refill up to now
  local dt = math.max(0, now - b.ts)
  b.lvl_r = math.min(b.cap_r, b.lvl_r + dt * b.rate_r)
  b.lvl_t = math.min(b.cap_t, b.lvl_t + dt * b.rate_t)
  b.ts = now
  return b
end

local function save(key, b)
  redis.call('HSET', key, 'lvl_r', b.lvl_r, 'lvl_t', b.lvl_t, 'ts', b.ts)
end

-- ms until b can give (r, t) to priority p without going below its floor (-1: never)
local function wait_for(b, p, r, tk)
  local f = b['f_' .. p] or 0
  local floor_r, floor_t = f * b.cap_r, f * b.cap_t
  if r > b.cap_r - floor_r or tk > b.cap_t - floor_t then return -1 end
  local w = 0
  if b.lvl_r - r < floor_r then w = math.max(w, (floor_r + r - b.lvl_r) / b.rate_r) end
  if b.lvl_t - tk < floor_t then w = math.max(w, (floor_t + tk - b.lvl_t) / b.rate_t) end
  return math.ceil(w)
end

local function refund(key, r, tk)
  local b = load(key)
  if b == nil then return end
  b.lvl_r = math.min(b.cap_r, b.lvl_r + r)
  b.lvl_t = math.min(b.cap_t, b.lvl_t + tk)
  save(key, b)
end

-- return the unused output reservation of leases whose holder never settled
local function sweep()
  local expired = redis.call('ZRANGEBYSCORE', prefix .. 'leases', '-inf', now, 'LIMIT', 0, 50)
  for _, id in ipairs(expired) do
    local lease = redis.call('HGETALL', prefix .. 'lease:' .. id)
    for i = 1, #lease, 2 do
      if string.sub(lease[i], 1, 2) == 'o:' then
        refund(string.sub(lease[i], 3), 0, tonumber(lease[i + 1]))
      end
    end
    redis.call('DEL', prefix .. 'lease:' .. id)
    redis.call('ZREM', prefix .. 'leases', id)
  end
  return #expired
end

if cmd == 'acquire' then
  -- ARGV: cmd, priority, deadline_ms, lease_id, lease_ttl_ms, ticket_ms, n,
  --       then n times: budget_key, requests, tokens, output_tokens
  local p, deadline, lease_id = ARGV[2], tonumber(ARGV[3]), ARGV[4]
  local ttl, ticket, n = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  local swept = sweep()
  local budgets, wait = {}, 0
  for i = 0, n - 1 do
    local key = ARGV[8 + i * 4]
    local b = load(key)
    if b == nil then return {'unknown', key} end
    local r, tk, out = tonumber(ARGV[9 + i * 4]), tonumber(ARGV[10 + i * 4]), tonumber(ARGV[11 + i * 4])
    local w = wait_for(b, p, r, tk)
    if w < 0 then return {'too_large', key} end
    wait = math.max(wait, w)
    budgets[i + 1] = {key = key, b = b, r = r, t = tk, out = out}
  end
  -- Arrival order within the priority: a newcomer that cannot be served now queues
  -- behind earlier waiters (the cursor), so waiters wake one after another. A newcomer
  -- that fits now is served now: budget left idle while a waiter oversleeps its slot
  -- would be lost for good. A returning waiter (ticket) needs only budget.
  local lane = budgets[1].b
  local cursor = tonumber(lane['next_' .. p]) or 0
  if ticket == 0 and wait > 0 then wait = math.max(wait, cursor - now) end
  -- A returning waiter that still does not fit (newcomers took what it waited for)
  -- reserves ahead: it takes its tokens now, driving the level into debt, and is told
  -- when to go. Allowed only while the level is at or above its priority's floor, so the
  -- debt is at most one call deep and waiters cannot starve behind newcomers.
  local ahead = false
  if wait > 0 and ticket ~= 0 and wait <= deadline then
    ahead = true
    for _, e in ipairs(budgets) do
      local f = e.b['f_' .. p] or 0
      if e.b.lvl_t < f * e.b.cap_t or e.b.lvl_r < f * e.b.cap_r then ahead = false end
    end
  end
  if wait <= 0 or ahead then
    redis.call('HSET', prefix .. 'lease:' .. lease_id, 'exp', now + math.max(wait, 0) + ttl)
    for _, e in ipairs(budgets) do
      e.b.lvl_r = e.b.lvl_r - e.r
      e.b.lvl_t = e.b.lvl_t - e.t
      save(e.key, e.b)
      redis.call('HSET', prefix .. 'lease:' .. lease_id, 't:' .. e.key, e.t, 'o:' .. e.key, e.out)
    end
    redis.call('ZADD', prefix .. 'leases', now + math.max(wait, 0) + ttl, lease_id)
    return {'granted', tostring(math.max(wait, 0)), tostring(swept)}
  end
  if wait > deadline then return {'deadline', tostring(wait), tostring(swept)} end
  if ticket == 0 then
    -- this waiter's slot is now + wait; the next newcomer queues behind what this one
    -- will really use: its reservation times the settled/reserved ratio seen so far
    local e = budgets[1]
    local used = e.t * (tonumber(e.b.ratio) or 1)
    local span = math.max(e.r / e.b.rate_r, used / e.b.rate_t)
    redis.call('HSET', e.key, 'next_' .. p, now + wait + math.ceil(span))
  end
  return {'wait', tostring(wait), tostring(swept)}

elseif cmd == 'settle' then
  -- ARGV: cmd, lease_id, n, then n times: budget_key, actual_tokens
  local lease_key = prefix .. 'lease:' .. ARGV[2]
  if redis.call('EXISTS', lease_key) == 0 then return 'expired' end
  for i = 0, tonumber(ARGV[3]) - 1 do
    local key, actual = ARGV[4 + i * 2], tonumber(ARGV[5 + i * 2])
    local reserved = tonumber(redis.call('HGET', lease_key, 't:' .. key))
    if reserved ~= nil then
      refund(key, 0, reserved - actual)
      if reserved > 0 then
        -- learn how much of a reservation calls really use (moving average)
        local ratio = tonumber(redis.call('HGET', key, 'ratio')) or 1
        ratio = 0.95 * ratio + 0.05 * math.min(1, math.max(0, actual / reserved))
        redis.call('HSET', key, 'ratio', ratio)
      end
    end
  end
  redis.call('DEL', lease_key)
  redis.call('ZREM', prefix .. 'leases', ARGV[2])
  return 'settled'

elseif cmd == 'feedback' then
  -- ARGV: cmd, budget_key, remaining_requests|-1, remaining_tokens|-1, retry_after_ms, margin
  local key = ARGV[2]
  local b = load(key)
  if b == nil then return 'unknown' end
  local rr, rt = tonumber(ARGV[3]), tonumber(ARGV[4])
  local retry, margin = tonumber(ARGV[5]), tonumber(ARGV[6])
  if rr >= 0 then b.lvl_r = math.min(b.lvl_r, rr * (1 - margin)) end
  if rt >= 0 then b.lvl_t = math.min(b.lvl_t, rt * (1 - margin)) end
  if retry > 0 then
    b.lvl_r = math.min(b.lvl_r, -retry * b.rate_r)
    b.lvl_t = math.min(b.lvl_t, -retry * b.rate_t)
  end
  save(key, b)
  return 'ok'

elseif cmd == 'configure' then
  -- ARGV: cmd, budget_key, rpm, tpm, minute_ms, f_high, f_standard, f_batch
  local key = ARGV[2]
  local rpm, tpm, minute = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local b = load(key)
  local lvl_r, lvl_t = rpm, tpm
  if b ~= nil then lvl_r, lvl_t = math.min(b.lvl_r, rpm), math.min(b.lvl_t, tpm) end
  redis.call('HSET', key, 'cap_r', rpm, 'cap_t', tpm, 'rate_r', rpm / minute,
             'rate_t', tpm / minute, 'lvl_r', lvl_r, 'lvl_t', lvl_t, 'ts', now,
             'f_high', ARGV[6], 'f_standard', ARGV[7], 'f_batch', ARGV[8])
  return 'ok'

elseif cmd == 'peek' then
  local b = load(ARGV[2])
  if b == nil then return nil end
  save(ARGV[2], b)
  return {tostring(b.lvl_r), tostring(b.lvl_t), tostring(b.cap_r), tostring(b.cap_t),
          tostring(b.rate_r * 60000), tostring(b.rate_t * 60000),
          tostring(redis.call('ZCARD', prefix .. 'leases'))}
end
return redis.error_reply('unknown command ' .. cmd)
