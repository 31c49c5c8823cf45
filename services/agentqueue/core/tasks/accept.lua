-- Accept a task: its record, its "queued" event, its Idempotency-Key, its place in the
-- in-flight index and its Dramatiq message, all or nothing (core/tasks/submission.py).
-- The event is the first entry of the task's log: it is written with the message, in the
-- same script, so no worker can start the task (and log "started") before it.
--
-- KEYS[1] aq:task:<id>            the record
-- KEYS[2] aq:idem:<tenant>:<hash> the Idempotency-Key (KEYS[1] again when there is none)
-- KEYS[3] aq:inflight             task id -> when the reconciler looks at it next
-- KEYS[4] aq:msg                  task id -> "<queue>|<redis message id>"
-- KEYS[5] dramatiq:<queue>.msgs   the queue's messages, as Dramatiq's dispatch.lua writes
-- KEYS[6] dramatiq:<queue>        the queue's ready message ids
-- KEYS[7] aq:task:<id>:events     the task's event log (core/tasks/events.py)
-- KEYS[8] aq:tasks:<tenant>        the tenant's listing index (core/tasks/listing.py):
--                                  created ms -> task id, entries older than the TTL trimmed
-- KEYS[9] aq:task-tenants          the tenants that have a listing index (the admin
--                                  console lists them without SCAN)
-- ARGV: task id, record JSON, ttl (s), body hash, "1" with an Idempotency-Key,
--       next check (score), redis message id, encoded message, queue name,
--       the log's cap (MAXLEN ~), the event's type, the event's data (JSON),
--       created (ms, the index score), the oldest score kept (ms), the tenant
--
-- Returns {outcome, task id}: "created" (also for a replay of this very call, whose
-- reply was lost and which the client retried: the record is already there), "replay"
-- (the key's task, nothing written) or "conflict" (the key was used with another body).
local task_id = ARGV[1]
local with_key = ARGV[5] == "1"

if with_key then
    local existing = redis.call("get", KEYS[2])
    if existing then
        local sep = string.find(existing, " ", 1, true)
        local owner, hash = existing, ""
        if sep then
            owner = string.sub(existing, 1, sep - 1)
            hash = string.sub(existing, sep + 1)
        end
        if owner == task_id then
            return {"created", task_id}
        end
        if string.sub(hash, 1, #ARGV[4]) ~= ARGV[4] then  -- stored whole by older versions
            return {"conflict", owner}
        end
        return {"replay", owner}
    end
end

if redis.call("exists", KEYS[1]) == 1 then
    return {"created", task_id}
end

redis.call("xadd", KEYS[7], "MAXLEN", "~", ARGV[10], "*", "type", ARGV[11], "data", ARGV[12])
redis.call("expire", KEYS[7], ARGV[3])
redis.call("set", KEYS[1], ARGV[2], "EX", ARGV[3])
if KEYS[8] then
    redis.call("zadd", KEYS[8], ARGV[13], task_id)
    redis.call("zremrangebyscore", KEYS[8], "-inf", "(" .. ARGV[14])
    redis.call("expire", KEYS[8], ARGV[3])
end
if KEYS[9] then
    redis.call("sadd", KEYS[9], ARGV[15])
    redis.call("expire", KEYS[9], ARGV[3])
end
if with_key then
    redis.call("set", KEYS[2], task_id .. " " .. ARGV[4], "EX", ARGV[3])
end
redis.call("zadd", KEYS[3], ARGV[6], task_id)
redis.call("hset", KEYS[5], ARGV[7], ARGV[8])
redis.call("rpush", KEYS[6], ARGV[7])
redis.call("hset", KEYS[4], task_id, ARGV[9] .. "|" .. ARGV[7])
return {"created", task_id}
