-- One task of a reconciler pass, atomically (core/tasks/reconciler.py).
--
-- KEYS[1] aq:task:<id>           the record
-- KEYS[2] aq:inflight            task id -> when the reconciler looks at it next
-- KEYS[3] aq:msg                 task id -> "<queue>|<redis message id>" of its message
-- KEYS[4] aq:requeued            task id -> messages the reconciler gave it so far
-- KEYS[5] dramatiq:<queue>.msgs  where a new message goes (the task's priority queue)
-- KEYS[6] dramatiq:<queue>       its ready list
-- KEYS[7] aq:task:<id>:batch     set while a provider batch owns the task (core/batches)
-- ARGV: task id, broker namespace, next check (score), most requeues,
--       new redis message id, new encoded message, queue name
--
-- Returns {outcome, requeues so far}:
--   "missing" / "terminal"  the task left the index (and its marker and count);
--   "batch"                 a provider batch owns it (its message was acked on
--                           purpose): looked at again later;
--   "alive"                 its message exists (ready, delayed, or held by a worker,
--                           which the broker redelivers if that worker dies): looked
--                           at again later;
--   "requeued"              no message and not finished: a new one was written, the
--                           marker moved to it;
--   "exhausted"             no message, requeued the most times already: the caller
--                           fails the task (it stays in the index until then).
local task_id = ARGV[1]

local function forget()
    redis.call("zrem", KEYS[2], task_id)
    redis.call("hdel", KEYS[3], task_id)
    redis.call("hdel", KEYS[4], task_id)
end

local raw = redis.call("get", KEYS[1])
if not raw then
    forget()
    return {"missing", 0}
end
-- The record is pydantic's compact JSON, id, tenant and state first; decode it whole
-- only if that ever changes.
local state = string.match(raw, '^{"id":"[^"]*","tenant":"[^"]*","state":"(%a+)"')
if not state then
    state = cjson.decode(raw)["state"]
end
if state ~= "queued" and state ~= "running" then
    forget()
    return {"terminal", 0}
end

if KEYS[7] and redis.call("exists", KEYS[7]) == 1 then
    redis.call("zadd", KEYS[2], ARGV[3], task_id)
    return {"batch", 0}
end

local marker = redis.call("hget", KEYS[3], task_id)
if marker then
    local sep = string.find(marker, "|", 1, true)
    if sep then
        local queue = string.sub(marker, 1, sep - 1)
        local message_id = string.sub(marker, sep + 1)
        if redis.call("hexists", ARGV[2] .. ":" .. queue .. ".msgs", message_id) == 1 then
            redis.call("zadd", KEYS[2], ARGV[3], task_id)
            return {"alive", 0}
        end
    end
end

local count = tonumber(redis.call("hget", KEYS[4], task_id) or "0")
if count >= tonumber(ARGV[4]) then
    redis.call("zadd", KEYS[2], ARGV[3], task_id)
    return {"exhausted", count}
end
count = redis.call("hincrby", KEYS[4], task_id, 1)
redis.call("hset", KEYS[5], ARGV[5], ARGV[6])
redis.call("rpush", KEYS[6], ARGV[5])
redis.call("hset", KEYS[3], task_id, ARGV[7] .. "|" .. ARGV[5])
redis.call("zadd", KEYS[2], ARGV[3], task_id)
return {"requeued", count}
