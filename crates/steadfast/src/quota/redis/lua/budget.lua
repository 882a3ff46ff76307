-- A retry budget's window shared by a fleet (crates/steadfast/src/quota/redis/budget.rs): adds
-- a process's units to the count of the current window, on Redis's clock.
--
-- KEYS[1]  the budget's hash: w = the current window's index (Redis time ÷ the length),
--          n = units the fleet took in it
-- ARGV[1]  the window's length (µs); every process sharing the budget uses the same
-- ARGV[2]  units to add (0 just reads)
-- Returns {n, ends_in_us, w}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local length = tonumber(ARGV[1])
local w = math.floor(now / length)
local state = redis.call('HMGET', KEYS[1], 'w', 'n')
local n = tonumber(state[2]) or 0
if tonumber(state[1]) ~= w then
  n = 0
end
n = n + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'w', string.format('%.0f', w), 'n', string.format('%.0f', n))
-- Nothing in it matters once the next window has begun: expire a window and a second later.
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.floor(2 * length / 1000) + 1000))
return {n, (w + 1) * length - now, w}
