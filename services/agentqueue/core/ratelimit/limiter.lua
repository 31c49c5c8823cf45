-- agentqueue global rate limiter: continuous-refill budgets with leases, priority
-- floors and per-priority arrival order. One script, several commands, so that every
-- decision is atomic and timed by the Redis server's clock (all clients agree).
--
-- A budget key (hash) holds, per dimension d in {r (requests), t (tokens), and where the
-- provider counts them apart i (input tokens) and o (output tokens)}:
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

local DIMS = {'r', 't', 'i', 'o'}

-- the dimensions budget b holds (r and t always; i and o when configured)
local function dims(b)
  local out = {}
  for _, d in ipairs(DIMS) do
    if b['cap_' .. d] ~= nil then out[#out + 1] = d end
  end
  return out
end

-- what a charge asks of each dimension: requests, total, input, output tokens
local function amounts(r, tk, out)
  return {r = r, t = tk, i = tk - out, o = out}
end

local function load(key)
  local raw = redis.call('HGETALL', key)
  if #raw == 0 then return nil end
  local b = {}
  for i = 1, #raw, 2 do b[raw[i]] = tonumber(raw[i + 1]) or raw[i + 1] end
  -- refill up to now
  local dt = math.max(0, now - b.ts)
  for _, d in ipairs(dims(b)) do
    b['lvl_' .. d] = math.min(b['cap_' .. d], b['lvl_' .. d] + dt * b['rate_' .. d])
  end
  b.ts = now
  return b
end

local function save(key, b)
  for _, d in ipairs(dims(b)) do redis.call('HSET', key, 'lvl_' .. d, b['lvl_' .. d]) end
  redis.call('HSET', key, 'ts', b.ts)
end

-- the level priority p may not draw dimension d of b below: its reserve of the capacity,
-- in whole requests for d = r (a reserve of less than one request is none: with a
-- 1-RPM budget a fractional floor would make the only request impossible)
local function floor_of(b, p, d)
  local floor = (b['f_' .. p] or 0) * b['cap_' .. d]
  if d == 'r' then floor = math.floor(floor) end
  return floor
end

-- ms until b can give amounts a to priority p without going below its floor (-1: never)
local function wait_for(b, p, a)
  local w = 0
  for _, d in ipairs(dims(b)) do
    local cap, lvl, amt, floor = b['cap_' .. d], b['lvl_' .. d], a[d], floor_of(b, p, d)
    if amt > cap - floor then return -1 end
    if lvl - amt < floor then w = math.max(w, (floor + amt - lvl) / b['rate_' .. d]) end
  end
  return math.ceil(w)
end

-- give amounts a back to budget key (negative amounts charge more)
local function refund(key, a)
  local b = load(key)
  if b == nil then return end
  for _, d in ipairs(dims(b)) do
    b['lvl_' .. d] = math.min(b['cap_' .. d], b['lvl_' .. d] + a[d])
  end
  save(key, b)
end

-- Open leases by the time their call goes out (zset per budget: lease id -> ms). Feedback
-- needs the calls the provider had not seen when it counted: those sent since (less the
-- time a request takes to reach it). Counting every open lease instead would count the
-- calls in flight twice, once in the provider's count and once here, and leave the
-- level lower by what is in flight after every feedback.
local function sent_key(key)
  return prefix .. 'sent:' .. string.sub(key, #prefix + #'budget:' + 1)
end

-- what a lease reserved on budget key (from the lease hash fields)
local function reserved_of(lease_key, key)
  local t = tonumber(redis.call('HGET', lease_key, 't:' .. key))
  if t == nil then return nil end
  local out = tonumber(redis.call('HGET', lease_key, 'o:' .. key)) or 0
  local r = tonumber(redis.call('HGET', lease_key, 'r:' .. key)) or 1
  return amounts(r, t, out)
end

-- return the unused output reservation of leases whose holder never settled
local function sweep()
  local expired = redis.call('ZRANGEBYSCORE', prefix .. 'leases', '-inf', now, 'LIMIT', 0, 50)
  for _, id in ipairs(expired) do
    local lease_key = prefix .. 'lease:' .. id
    local lease = redis.call('HGETALL', lease_key)
    for i = 1, #lease, 2 do
      if string.sub(lease[i], 1, 2) == 'o:' then
        local key = string.sub(lease[i], 3)
        local out = tonumber(lease[i + 1])
        redis.call('ZREM', sent_key(key), id)
        refund(key, amounts(0, out, out))
      end
    end
    redis.call('DEL', prefix .. 'lease:' .. id)
    redis.call('ZREM', prefix .. 'leases', id)
  end
  return #expired
end

if cmd == 'acquire' then
  -- ARGV: cmd, priority, deadline_ms, lease_id, lease_ttl_ms, ticket_ms, n,
  --       then n times: budget_key, requests, tokens, output_tokens, quota (0|1)
  -- A quota charge (a tenant's own limit) is never waited for: if it does not fit now,
  -- the call is refused with the time it would fit.
  local p, deadline, lease_id = ARGV[2], tonumber(ARGV[3]), ARGV[4]
  local ttl, ticket, n = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  local swept = sweep()
  local budgets, wait = {}, 0
  for i = 0, n - 1 do
    local base = 8 + i * 5
    local key = ARGV[base]
    local b = load(key)
    if b == nil then return {'unknown', key} end
    local r, tk, out = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
    local a = amounts(r, tk, out)
    local w = wait_for(b, p, a)
    if w < 0 then return {'too_large', key} end
    if ARGV[base + 4] == '1' and w > 0 then return {'quota', tostring(w), key} end
    wait = math.max(wait, w)
    budgets[i + 1] = {key = key, b = b, a = a, t = tk, out = out}
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
      for _, d in ipairs(dims(e.b)) do
        if e.b['lvl_' .. d] < floor_of(e.b, p, d) then ahead = false end
      end
    end
  end
  if wait <= 0 or ahead then
    redis.call('HSET', prefix .. 'lease:' .. lease_id, 'exp', now + math.max(wait, 0) + ttl)
    for _, e in ipairs(budgets) do
      for _, d in ipairs(dims(e.b)) do e.b['lvl_' .. d] = e.b['lvl_' .. d] - e.a[d] end
      save(e.key, e.b)
      redis.call('HSET', prefix .. 'lease:' .. lease_id, 't:' .. e.key, e.t, 'o:' .. e.key, e.out,
                 'r:' .. e.key, e.a.r)
      redis.call('ZADD', sent_key(e.key), now + math.max(wait, 0), lease_id)
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
    local span = math.max(e.a.r / e.b.rate_r, used / e.b.rate_t)
    redis.call('HSET', e.key, 'next_' .. p, now + wait + math.ceil(span))
  end
  return {'wait', tostring(wait), tostring(swept)}

elseif cmd == 'settle' then
  -- ARGV: cmd, lease_id, n, then n times: budget_key, actual_tokens, actual_output|-1
  local lease_key = prefix .. 'lease:' .. ARGV[2]
  if redis.call('EXISTS', lease_key) == 0 then return 'expired' end
  for i = 0, tonumber(ARGV[3]) - 1 do
    local key, actual = ARGV[4 + i * 3], tonumber(ARGV[5 + i * 3])
    local actual_out = tonumber(ARGV[6 + i * 3])
    local held = reserved_of(lease_key, key)
    if held ~= nil then
      local reserved, reserved_out = held.t, held.o
      redis.call('ZREM', sent_key(key), ARGV[2])
      -- unknown split: assume the input was as estimated, the rest was output
      if actual_out < 0 then actual_out = math.max(0, actual - (reserved - reserved_out)) end
      refund(key, amounts(0, reserved - actual, reserved_out - actual_out))
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
  -- ARGV: cmd, budget_key, margin, age_ms, retry_after_ms, in_transit_ms, then per
  -- dimension r, t, i, o the provider's remaining count or -1. The provider counted
  -- ``age_ms`` ago and has refilled since, as we have: its count is aged by our refill
  -- rate before comparing. Open leases whose call went out less than ``in_transit_ms``
  -- before it counted (or since) may not have reached it, so they come off its count:
  -- taking its count as it stands would forget them and admit them twice. Calls that
  -- went out earlier are in its count already. Feedback only ever lowers a level (the
  -- provider knows of traffic we don't).
  local key = ARGV[2]
  local b = load(key)
  if b == nil then return 'unknown' end
  local margin, age, retry = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local since = now - age - tonumber(ARGV[6])
  local unseen = amounts(0, 0, 0)
  local recent = redis.call('ZRANGEBYSCORE', sent_key(key), '(' .. since, '+inf')
  for _, id in ipairs(recent) do
    local held = reserved_of(prefix .. 'lease:' .. id, key)
    if held ~= nil then
      for _, d in ipairs(DIMS) do unseen[d] = unseen[d] + held[d] end
    end
  end
  local lowered = 0
  for j, d in ipairs(DIMS) do
    local remaining = tonumber(ARGV[6 + j])
    if remaining >= 0 and b['cap_' .. d] ~= nil then
      local theirs = (remaining + age * b['rate_' .. d]) * (1 - margin) - unseen[d]
      if theirs < b['lvl_' .. d] then
        b['lvl_' .. d] = theirs
        lowered = 1
      end
    end
  end
  if retry > 0 then
    for _, d in ipairs(dims(b)) do
      b['lvl_' .. d] = math.min(b['lvl_' .. d], -retry * b['rate_' .. d])
    end
    lowered = 1
  end
  save(key, b)
  return lowered

elseif cmd == 'configure' then
  -- ARGV: cmd, budget_key, minute_ms, f_high, f_standard, f_batch, then per dimension
  -- r, t, i, o its per-minute limit (i and o: 0 = not counted apart)
  local key = ARGV[2]
  local minute = tonumber(ARGV[3])
  local b = load(key) or {}
  redis.call('HSET', key, 'ts', now, 'f_high', ARGV[4], 'f_standard', ARGV[5],
             'f_batch', ARGV[6])
  -- an earlier version's totals of open leases, unused since feedback reads 'sent:'
  redis.call('HDEL', key, 'pend_r', 'pend_t', 'pend_i', 'pend_o')
  for j, d in ipairs(DIMS) do
    local limit = tonumber(ARGV[6 + j])
    if limit > 0 then
      -- a lowered limit applies at once; a raised one fills in with the refill
      local lvl = math.min(b['lvl_' .. d] or limit, limit)
      redis.call('HSET', key, 'cap_' .. d, limit, 'rate_' .. d, limit / minute, 'lvl_' .. d, lvl)
    else
      redis.call('HDEL', key, 'cap_' .. d, 'rate_' .. d, 'lvl_' .. d)
    end
  end
  return 'ok'

elseif cmd == 'peek' then
  local b = load(ARGV[2])
  if b == nil then return nil end
  save(ARGV[2], b)
  local out = {tostring(redis.call('ZCARD', prefix .. 'leases'))}
  for _, d in ipairs(DIMS) do
    if b['cap_' .. d] ~= nil then
      out[#out + 1] = d
      out[#out + 1] = tostring(b['lvl_' .. d])
      out[#out + 1] = tostring(b['cap_' .. d])
      out[#out + 1] = tostring(b['rate_' .. d] * 60000)
    end
  end
  return out
end
return redis.error_reply('unknown command ' .. cmd)
