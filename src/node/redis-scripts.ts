/**
 * Lua scripts of the Redis bus. Each runs atomically, touches only the keys of one job
 * (one hash tag, so one Cluster slot) and is loaded once, then called by EVALSHA.
 *
 * History is a Redis Stream rather than a sorted set: the entry id is the seq, so XADD
 * itself rejects an id that does not go up, XRANGE reads "after seq" by id, exact MAXLEN
 * trimming happens in the same XADD, and small entries pack into listpacks.
 */

/** Acquire: KEYS lease. ARGV owner, ttlMs. SET NX PX, or extend when we already hold it. */
export const ACQUIRE_LEASE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Renew: KEYS lease. ARGV owner, ttlMs. 1 when extended, 0 when the lease is not ours. */
export const RENEW_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Release: KEYS lease. ARGV owner. Deletes the lease only if it is ours. */
export const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Append (one event or a batch): KEYS events, meta. ARGV maxEvents, terminalTtlMs, activeTtlMs, channel,
 * then six per event: seq, data, terminal (0|1), hasSnapshot (0|1), snapshot, writerPrev (the writer's last
 * stored seq, -1: none). For each event, in order, in one atomic step: stored, published and given as
 * the snapshot only when its seq is above the last stored one and the job is not over (so two writers of one
 * event store it once), with the larger of the last stored seq and writerPrev as its prev (so events Redis lost,
 * in a restart without persistence, show as a gap even when another writer re-created the job first); returns
 * one number per event: its prev, or -2 when it was not stored.
 */
export const APPEND_MANY = `
local state = redis.call('HMGET', KEYS[2], 'lastSeq', 'terminalSeq')
local over = state[2] and true or false
local last = state[1]
if not last then
  last = '-1'
  redis.call('DEL', KEYS[1])
end
local results = {}
local stored = false
local ttl = ARGV[3]
for i = 5, #ARGV, 6 do
  local seq = ARGV[i]
  if over or tonumber(seq) <= tonumber(last) then
    results[#results + 1] = -2
  else
    local prev = last
    local hint = ARGV[i + 5]
    if tonumber(hint) > tonumber(last) and tonumber(hint) < tonumber(seq) then prev = hint end
    redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], seq .. '-1', 'p', prev, 'd', ARGV[i + 1], 't', ARGV[i + 2])
    redis.call('HSET', KEYS[2], 'lastSeq', seq)
    if ARGV[i + 3] == '1' then redis.call('HSET', KEYS[2], 'snapshot', ARGV[i + 4]) end
    if ARGV[i + 2] == '1' then
      redis.call('HSET', KEYS[2], 'terminalSeq', seq)
      ttl = ARGV[2]
      over = true
    end
    redis.call('PUBLISH', ARGV[4], seq .. '\\n' .. prev .. '\\n' .. ARGV[i + 2] .. '\\n' .. ARGV[i + 1])
    results[#results + 1] = tonumber(prev)
    last = seq
    stored = true
  end
end
if stored then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return results
`;

/**
 * Publish (the publish API's batch): KEYS events, meta. ARGV maxEvents, terminalTtlMs, activeTtlMs, channel,
 * then three per event: seq ('' for none: numbered last + 1), data, terminal (0|1). In one atomic step: when the
 * job is over and any event is new (no seq, or a seq above the last), nothing is stored and it returns
 * {0, lastSeq, terminalSeq}; else each event in order is stored and published as APPEND_MANY does (after the
 * last stored seq, its prev one below its seq but for a job's first event: a jump is a gap) or, its seq
 * at or below the last, counted a duplicate; returns {1, lastSeq,
 * then seq and prev per event}, prev -2 for a duplicate.
 */
export const PUBLISH = `
local state = redis.call('HMGET', KEYS[2], 'lastSeq', 'terminalSeq')
local last = state[1] or '-1'
if state[2] then
  for i = 5, #ARGV, 3 do
    if ARGV[i] == '' or tonumber(ARGV[i]) > tonumber(last) then return {0, tonumber(last), tonumber(state[2])} end
  end
end
if not state[1] then redis.call('DEL', KEYS[1]) end
local results = {1, 0}
local stored = false
local ttl = ARGV[3]
for i = 5, #ARGV, 3 do
  local seq = ARGV[i]
  if seq == '' then seq = string.format('%d', tonumber(last) + 1) end
  if tonumber(seq) <= tonumber(last) then
    results[#results + 1] = tonumber(seq)
    results[#results + 1] = -2
  else
    local prev = last
    if tonumber(last) >= 0 then prev = string.format('%d', tonumber(seq) - 1) end
    redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], seq .. '-1', 'p', prev, 'd', ARGV[i + 1], 't', ARGV[i + 2])
    redis.call('HSET', KEYS[2], 'lastSeq', seq)
    if ARGV[i + 2] == '1' then
      redis.call('HSET', KEYS[2], 'terminalSeq', seq)
      ttl = ARGV[2]
    end
    redis.call('PUBLISH', ARGV[4], seq .. '\\n' .. prev .. '\\n' .. ARGV[i + 2] .. '\\n' .. ARGV[i + 1])
    results[#results + 1] = tonumber(seq)
    results[#results + 1] = tonumber(prev)
    last = seq
    stored = true
  end
end
results[2] = tonumber(last)
if stored then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return results
`;
