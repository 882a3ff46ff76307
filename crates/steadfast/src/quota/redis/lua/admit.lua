-- Admission of one request for one scope: GCRA over the request and the token limit together,
-- all-or-nothing, on Redis's clock. A line-by-line transcription of `gcra::decide`
-- (crates/steadfast/src/quota/gcra.rs); a test in ../tests.rs checks that the two agree.
--
-- KEYS[1]  the scope's state hash: fields r and t, the theoretical arrival times (µs)
-- KEYS[2]  the scope's cooldown key: when the cooldown ends (µs)
-- ARGV[1], ARGV[2]  the request limit's increment and tolerance (µs); increment 0 = no limit
-- ARGV[3], ARGV[4]  the token limit's increment and tolerance (µs); increment 0 = no limit
-- ARGV[5]  how far ahead a request may be reserved (µs; 0 = admit now or not at all)
-- Returns {code, wait_us, now_us}: code 0 = admitted, 3 = admitted for now + wait_us (reserved),
-- 1 = wait for the quota (nothing counted), 2 = cooling down (nothing counted).
-- Every number stays an integer below 2^53, exact in Lua's doubles; stored with %.0f.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local cooldown = tonumber(redis.call('GET', KEYS[2]) or 0) or 0
if cooldown > now then
  return {2, cooldown - now, now}
end
local tats = redis.call('HMGET', KEYS[1], 'r', 't')
local function check(tat, increment, tolerance)
  if increment == 0 then
    return tat, 0
  end
  local new = math.max(tat, now) + increment
  local over = new - now - tolerance
  if over < 0 then
    over = 0
  end
  return new, over
end
local r, wait_r = check(tonumber(tats[1]) or 0, tonumber(ARGV[1]), tonumber(ARGV[2]))
local t, wait_t = check(tonumber(tats[2]) or 0, tonumber(ARGV[3]), tonumber(ARGV[4]))
local wait = math.max(wait_r, wait_t)
if wait > tonumber(ARGV[5] or 0) then
  return {1, wait, now}
end
redis.call('HSET', KEYS[1], 'r', string.format('%.0f', r), 't', string.format('%.0f', t))
-- The state means nothing once both times are past: let it expire a second after that.
local ttl_ms = math.floor((math.max(r, t) - now) / 1000) + 1000
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl_ms))
if wait > 0 then
  return {3, wait, now}
end
return {0, 0, now}
