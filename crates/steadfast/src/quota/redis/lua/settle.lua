-- Corrects the token limit after a response: `gcra::settle` on Redis's clock.
--
-- KEYS[1]  the scope's state hash (field t, the token limit's theoretical arrival time, µs)
-- ARGV[1]  the correction in µs: positive debits (more tokens used than estimated), negative
--          credits back (never before now)
-- Returns {t, now_us}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('HGET', KEYS[1], 't') or 0) or 0
local new = math.max(tat, now) + tonumber(ARGV[1])
if new < now then
  new = now
end
redis.call('HSET', KEYS[1], 't', string.format('%.0f', new))
local ttl_ms = math.floor((new - now) / 1000) + 1000
if redis.call('PTTL', KEYS[1]) < ttl_ms then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl_ms))
end
return {new, now}
