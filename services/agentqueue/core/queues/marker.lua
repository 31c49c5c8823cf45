-- agentqueue: appended to Dramatiq's own dispatch.lua (same KEYS[1] and ARGV), so that
-- the enqueue of a task message and the move of its task's marker are one script.
-- KEYS[2]: the marker hash (aq:msg), task id -> "<queue>|<redis message id>".
-- ARGS[1], ARGS[2]: Dramatiq's message id and data; ARGS[3]: the task id.
if command == "enqueue" and ARGS[3] then
    redis.call("hset", KEYS[2], ARGS[3], queue_name .. "|" .. ARGS[1])
end
