-- Puts a scope in cooldown for ARGV[1] µs from now, on Redis's clock; never shortens a longer
-- cooldown already set. The key expires when the cooldown ends.
--
-- KEYS[1]  the scope's cooldown key (when it ends, µs)
-- ARGV[1]  the duration (µs, at least 1)
-- Returns {until_us, now_us}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local current = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
local new = now + tonumber(ARGV[1])
if new <= current then
  return {current, now}
end
local ttl_ms = math.floor(tonumber(ARGV[1]) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', string.format('%.0f', ttl_ms))
return {new, now}
