"""The Lua scripts that make each broker operation one atomic round trip.

Storage layout (kombu's, so kombu and kombu-core clients can share a Redis):

- a queue is a list per priority step (``queue``, ``queue<sep>3``, ...):
  publishers LPUSH, consumers pop from the right;
- ``unacked`` (hash): delivery tag -> ``[envelope, "", queue]`` (JSON), every
  message delivered and not yet acked;
- ``unacked_index`` (sorted set): delivery tag -> when its lease was last
  renewed (Redis server time).  A live consumer renews the leases of what it
  holds; an entry older than ``visibility_timeout`` belongs to a dead consumer
  and is put back in its queue by whoever polls next;
- ``_kombu.binding.<exchange>`` (set): ``routing_key<sep>pattern<sep>queue``.

A message is in its queue or in ``unacked`` at every instant: the move from
one to the other is always inside one script.
"""

from __future__ import annotations

from .wire import Script

__all__ = (
    "RENEW",
    "RESTORE_EXPIRED",
    "BIND",
    "DECLARE_EXCHANGE",
    "DELETE_EXCHANGE",
    "DELETE_QUEUE",
    "FETCH",
    "PUBLISH",
    "PUSH",
    "RESTORE_ONE",
    "RESTORE_TAGS",
    "UNBIND",
)

_NOW = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# The priority step a stored envelope belongs to: the largest step not above
# its priority (clamped to 0..9 as kombu does).
_STEP = """
local function step_of(payload, steps)
  local pri = 0
  local ok, msg = pcall(cjson.decode, payload)
  if ok and type(msg) == 'table' and type(msg.properties) == 'table' then
    pri = tonumber(msg.properties.priority) or 0
  end
  if pri < 0 then pri = 0 elseif pri > 9 then pri = 9 end
  local chosen = steps[1]
  for _, s in ipairs(steps) do if s <= pri then chosen = s end end
  return chosen
end
local function parse_steps(csv)
  local steps = {}
  for s in string.gmatch(csv, '[^,]+') do steps[#steps + 1] = tonumber(s) end
  return steps
end
local function qkey(gkp, queue, sep, step)
  if step ~= 0 then return gkp .. queue .. sep .. step end
  return gkp .. queue
end
local function push(key, payload, wake)
  if redis.call('RPUSH', key, payload) == 1 then redis.call('PUBLISH', wake, '') end
end
"""

# ``chunked``: one command over many arguments, in pieces Lua can unpack (its
# stack holds some 8000 values).  ``pop``: up to ``count`` items from the right
# of a list in one call where Redis has ``RPOP key count`` (6.2), else one by one.
_CHUNKED = """
local function chunked(cmd, key, args)
  for i = 1, #args, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, #args)))
  end
end
local function pop(key, count)
  local items = redis.pcall('RPOP', key, count)
  if type(items) == 'table' and items.err then
    items = {}
    for i = 1, count do
      local m = redis.call('RPOP', key)
      if not m then break end
      items[i] = m
    end
  end
  return items or {}
end
"""

# Put back the messages whose lease expired before ``cutoff``.  Entries in
# kombu's ``[envelope, exchange, routing_key]`` form with a real exchange
# need routing: they are returned for the client to restore.
_RESTORE_EXPIRED = """
local function restore_expired(hkey, zkey, cutoff, limit, gkp, sep, steps, wake)
  local tags = redis.call('ZRANGEBYSCORE', zkey, '-inf', cutoff, 'LIMIT', 0, limit)
  local foreign = {}
  for _, tag in ipairs(tags) do
    local v = redis.call('HGET', hkey, tag)
    if not v then
      redis.call('ZREM', zkey, tag)
    else
      local payload, qjson = string.match(v, '^%[(.*),%s*""%s*,%s*(".*")%s*%]$')
      local ok, queue = false, nil
      if payload then ok, queue = pcall(cjson.decode, qjson) end
      if ok and type(queue) == 'string' then
        local key = qkey(gkp, queue, sep, step_of(payload, steps))
        if string.sub(payload, 1, 1) == '{' and payload ~= '{}'
            and string.sub(payload, 1, 19) ~= '{"redelivered":true' then
          payload = '{"redelivered":true,' .. string.sub(payload, 2)
        end
        push(key, payload, wake .. queue)
        -- a queue declared with x-expires: the list lives as long as the queue
        local ttl = redis.call('PTTL', gkp .. '_kombu.queue_args.' .. queue)
        if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
        redis.call('HDEL', hkey, tag)
        redis.call('ZREM', zkey, tag)
      else
        foreign[#foreign + 1] = tag
      end
    end
  end
  return #tags, foreign
end
"""

#: Restore the messages whose lease lapsed (any client's).
#: KEYS: unacked, unacked_index.  ARGV: visibility timeout, limit, global prefix,
#: sep, steps csv, wake prefix.
#: Returns {scanned, foreign tags}: entries in kombu's routed form
#: ``[envelope, exchange, routing_key]`` are left for the client to route.
RESTORE_EXPIRED = Script(_NOW + _STEP + _RESTORE_EXPIRED + """
local t = now()
local scanned, foreign = restore_expired(KEYS[1], KEYS[2], t - tonumber(ARGV[1]),
                                         tonumber(ARGV[2]), ARGV[3], ARGV[4],
                                         parse_steps(ARGV[5]), ARGV[6])
return {scanned, foreign}
""")

#: Move up to N messages from the queues into ``unacked`` (or just pop them for
#: no-ack consumers), under a lease starting now (Redis server time).
#: KEYS: unacked, unacked_index, queue keys (in consumption order).
#: ARGV: n, tag prefix, then per queue key: its queue name as JSON and a no-ack flag.
#: Returns {key index, message, key index, message, ...}.
FETCH = Script(_NOW + _CHUNKED + """
local hkey, zkey = KEYS[1], KEYS[2]
local t = now()
local n, prefix = tonumber(ARGV[1]), ARGV[2]
local out = {}
local got = 0
local hargs, zargs = {}, {}
for k = 3, #KEYS do
  if got >= n then break end
  local qjson = ARGV[3 + (k - 3) * 2]
  local noack = ARGV[3 + (k - 3) * 2 + 1] == '1'
  for _, m in ipairs(pop(KEYS[k], n - got)) do
    got = got + 1
    if not noack then
      local tag = prefix .. got
      hargs[#hargs + 1] = tag
      hargs[#hargs + 1] = '[' .. m .. ',"",' .. qjson .. ']'
      -- Scores a microsecond apart, falling: each entry goes to the head of a
      -- small (listpack) sorted set instead of after every equal score.
      zargs[#zargs + 1] = t - got * 0.000001
      zargs[#zargs + 1] = tag
    end
    out[#out + 1] = k - 2
    out[#out + 1] = m
  end
end
chunked('HSET', hkey, hargs)
chunked('ZADD', zkey, zargs)
return out
""")

#: Renew the leases of held messages (only those still unacked).
#: KEYS: unacked_index.  ARGV: tags.  Returns how many were renewed.
RENEW = Script(_NOW + """
local t = now()
local renewed = 0
local i = 1
while i <= #ARGV do
  local zargs = {'XX', 'CH'}
  local j = 0
  while i <= #ARGV and j < 1000 do
    zargs[#zargs + 1] = t
    zargs[#zargs + 1] = ARGV[i]
    i = i + 1
    j = j + 1
  end
  renewed = renewed + redis.call('ZADD', KEYS[1], unpack(zargs))
end
return renewed
""")

#: Give messages back to the head of their queues (requeue, channel close).
#: KEYS: unacked, unacked_index.  ARGV: groups of (tag or '' when not
#: tracked, queue key, envelope, wake channel).  A tracked message is pushed
#: only if it was still in ``unacked`` (so it is never restored twice).
RESTORE_TAGS = Script(_STEP + """
local hkey, zkey = KEYS[1], KEYS[2]
local restored = 0
for i = 1, #ARGV, 4 do
  local tag = ARGV[i]
  local ok = true
  if tag ~= '' then
    ok = redis.call('HDEL', hkey, tag) == 1
    redis.call('ZREM', zkey, tag)
  end
  if ok then
    push(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    restored = restored + 1
  end
end
return restored
""")

#: Restore one expired entry the client routed itself (kombu's form).
#: KEYS: unacked, unacked_index.  ARGV: tag, visibility timeout, the stored
#: value as read, envelope, then (queue key, wake channel) pairs.
RESTORE_ONE = Script(_NOW + _STEP + """
local hkey, zkey, tag = KEYS[1], KEYS[2], ARGV[1]
local score = redis.call('ZSCORE', zkey, tag)
if not score or tonumber(score) > now() - tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', hkey, tag) ~= ARGV[3] then return 0 end
for i = 5, #ARGV, 2 do push(ARGV[i], ARGV[4], ARGV[i + 1]) end
redis.call('HDEL', hkey, tag)
redis.call('ZREM', zkey, tag)
return 1
""")

#: Publish through an exchange whose routing table the client cached.
#: KEYS: version key, binding set, queue keys.  ARGV: expected version,
#: expected binding count, envelope, wake channel per queue key.
#: Returns -1 (and stores nothing) when the table changed since it was read.
PUBLISH = Script("""
local v = redis.call('GET', KEYS[1]) or '0'
if v ~= ARGV[1] or redis.call('SCARD', KEYS[2]) ~= tonumber(ARGV[2]) then return -1 end
for k = 3, #KEYS do
  if redis.call('LPUSH', KEYS[k], ARGV[3]) == 1 then redis.call('PUBLISH', ARGV[k + 1], '') end
end
return #KEYS - 2
""")

#: Publish straight to one queue key.  KEYS: queue key.  ARGV: envelope, wake channel.
PUSH = Script("""
local n = redis.call('LPUSH', KEYS[1], ARGV[1])
if n == 1 then redis.call('PUBLISH', ARGV[2], '') end
return n
""")

#: KEYS: binding set, version, the queue's exchange index.  ARGV: member, exchange.
BIND = Script("""
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
if added == 1 then redis.call('INCR', KEYS[2]) end
return added
""")

#: KEYS: binding set, version.  ARGV: member.
UNBIND = Script("""
local removed = redis.call('SREM', KEYS[1], ARGV[1])
if removed == 1 then redis.call('INCR', KEYS[2]) end
return removed
""")

#: Delete a queue: its lists and every binding to it.
#: KEYS: the queue's exchange index, version, queue keys.
#: ARGV: binding key prefix, sep, queue name, extra exchanges to look in...
#: Returns how many messages were deleted.
DELETE_QUEUE = Script("""
local exchanges = redis.call('SMEMBERS', KEYS[1])
for i = 4, #ARGV do exchanges[#exchanges + 1] = ARGV[i] end
local suffix = ARGV[2] .. ARGV[3]
local changed = 0
for _, ex in ipairs(exchanges) do
  local set = ARGV[1] .. ex
  for _, m in ipairs(redis.call('SMEMBERS', set)) do
    if #m >= #suffix and string.sub(m, -#suffix) == suffix then
      changed = changed + redis.call('SREM', set, m)
    end
  end
end
local size = 0
for k = 3, #KEYS do size = size + redis.call('LLEN', KEYS[k]) end
redis.call('DEL', KEYS[1], unpack(KEYS, 3))
if changed > 0 then redis.call('INCR', KEYS[2]) end
return size
""")

#: KEYS: binding set, version, exchange meta hash.  ARGV: exchange.
DELETE_EXCHANGE = Script("""
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return redis.call('INCR', KEYS[2])
""")

#: KEYS: exchange meta hash, version.  ARGV: exchange, meta (JSON).
DECLARE_EXCHANGE = Script("""
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1
""")
