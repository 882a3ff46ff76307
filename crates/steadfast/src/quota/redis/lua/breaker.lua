-- A shared circuit-breaker decision for one target (crates/steadfast/src/quota/redis/breakers.rs).
-- Failures are counted by each process; only the open/closed decision and the one half-open
-- probe of the fleet live here, on Redis's clock.
--
-- KEYS[1]  the target's state hash: u = open until (µs; 0 = closed), i = the decision's id
--          (it grows with every decision written, even across an expiry or a Redis restart:
--          max(previous + 1, now))
-- KEYS[2]  the target's probe lease: the token of the process holding the probe
-- ARGV[1]  op: 0 read; 1 open for ARGV[2] µs from now (never shortens a longer open; releases
--          our lease); 2 close, if we hold the lease and the state's id is still ARGV[2] (the
--          id we held the lease for; releases our lease either way); 3 take the lease if the
--          cooldown is over (SET NX PX)
-- ARGV[3]  this process's token
-- ARGV[4]  the lease's life (ms)
-- ARGV[5]  how long the state outlives the end of its cooldown (ms)
-- Returns {until_us, now_us, id, lease} with lease 1 when this process holds the probe lease.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', KEYS[1], 'u', 'i')
local u = tonumber(state[1]) or 0
local id = tonumber(state[2]) or 0
local op = tonumber(ARGV[1])
local arg = tonumber(ARGV[2])
local mine = redis.call('GET', KEYS[2]) == ARGV[3]
local function write(new_u)
  id = math.max(id + 1, now)
  u = new_u
  redis.call('HSET', KEYS[1], 'u', string.format('%.0f', u), 'i', string.format('%.0f', id))
  local ttl_ms = math.floor(math.max(u - now, 0) / 1000) + tonumber(ARGV[5])
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl_ms))
end
local function release()
  if mine then
    redis.call('DEL', KEYS[2])
    mine = false
  end
end
if op == 1 then
  if now + arg > u then
    write(now + arg)
  end
  release()
elseif op == 2 then
  if mine and id == arg then
    write(0)
  end
  release()
elseif op == 3 then
  if u <= now and not mine then
    if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then
      mine = true
    end
  end
end
local lease = 0
if mine then
  lease = 1
end
return {u, now, id, lease}
