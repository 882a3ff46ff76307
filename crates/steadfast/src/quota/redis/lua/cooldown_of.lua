-- When a scope's cooldown ends, with Redis's clock: KEYS[1] the cooldown key.
-- Returns {until_us (0 if none), now_us}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
return {tonumber(redis.call('GET', KEYS[1]) or 0) or 0, now}
