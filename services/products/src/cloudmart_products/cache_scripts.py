"""The catalog cache's keys, and the Lua scripts that read, fill and invalidate them, each
atomically and in one round trip (the layout and the lease are described in catalog_cache)."""

ITEM_PREFIX = "product:"
LEASE_PREFIX = "product-fill:"
# A product's name and price alone, which is what a checkout prices an order with: a sale
# leaves it cached (it drops the product's whole entry, stock included), an edit drops both.
PRICE_PREFIX = "product-price:"
PAGE_PREFIX = "product-page:"
GENERATION_KEY = "product-catalog:generation"
# A fill later than this is simply not written: the lease has expired, so the fill fails
# safe. It bounds how long a reader that died mid-load keeps others from filling.
LEASE_MILLISECONDS = 15_000


def _with_keys(script: str) -> str:
    """The key names written into the scripts, so they are defined once, here."""
    for placeholder, value in [
        ("$GENERATION", GENERATION_KEY),
        ("$PAGE", PAGE_PREFIX),
        ("$ITEM", ITEM_PREFIX),
        ("$PRICE", PRICE_PREFIX),
        ("$LEASE_MS", str(LEASE_MILLISECONDS)),
        ("$LEASE", LEASE_PREFIX),
    ]:
        script = script.replace(placeholder, value)
    return script


# A generation that is missing (a new or flushed Redis) starts from the clock, never from a
# number an earlier generation may have used, so no page left over from before is reachable.
NEW_GENERATION_SCRIPT = """
local function new_generation()
  local now = redis.call('TIME')
  local generation = now[1] .. string.format('%06d', tonumber(now[2]))
  redis.call('SET', '$GENERATION', generation)
  return generation
end
"""

# ARGV: token, page digest ('' when product ids follow), product ids. Reply: generation, page,
# the page's whole JSON body when every product of it is cached (else ''), then, if not, each
# product's JSON or false. A cached page is thus one string the service sends as it is: no
# parsing of 20 replies, no assembly. A missing product gets a lease (NX: the first reader to
# miss fills it; a stream of later readers cannot keep replacing the lease and starve fills).
# An empty token asks for a whole cached page only: no leases, no products' JSON otherwise.
_READ = (
    NEW_GENERATION_SCRIPT
    + """
local reply, ids = {'', '', ''}, {}
local page
if ARGV[2] ~= '' then
  local generation = redis.call('GET', '$GENERATION') or new_generation()
  reply[1] = generation
  page = redis.call('GET', '$PAGE' .. generation .. ':' .. ARGV[2])
  if not page then return reply end
  reply[2] = page
  for id in string.gmatch(string.match(page, '^[^\\n]*'), '%d+') do ids[#ids + 1] = id end
else
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local values, complete = {}, true
if #ids > 0 then
  local keys = {}
  for i, id in ipairs(ids) do keys[i] = '$ITEM' .. id end
  values = redis.call('MGET', unpack(keys))
end
for i = 1, #ids do
  if not values[i] then
    complete = false
    if ARGV[1] == '' then return reply end
    redis.call('SET', '$LEASE' .. ids[i], ARGV[1], 'PX', $LEASE_MS, 'NX')
  end
end
if page and complete then
  -- Cursors are URL-safe base64: nothing in them needs escaping in a JSON string.
  local cursor = string.match(page, '\\n(.*)$')
  cursor = cursor ~= '' and ('"' .. cursor .. '"') or 'null'
  reply[3] = '{"items":[' .. table.concat(values, ',') .. '],"next_cursor":' .. cursor .. '}'
  return reply
end
for i = 1, #ids do reply[i + 3] = values[i] end
return reply
"""
)

# ARGV: token, ttl seconds, then (id, JSON, price JSON) triples. A product is written only
# while this reader's lease stands: a write's invalidation has deleted it otherwise.
_FILL = """
for i = 3, #ARGV, 3 do
  local lease = '$LEASE' .. ARGV[i]
  if redis.call('GET', lease) == ARGV[1] then
    redis.call('SET', '$ITEM' .. ARGV[i], ARGV[i + 1], 'EX', ARGV[2])
    redis.call('SET', '$PRICE' .. ARGV[i], ARGV[i + 2], 'EX', ARGV[2])
    redis.call('DEL', lease)
  end
end
return 0
"""

# ARGV: '1' when a listing may have changed (bump the generation), then the keys to delete.
_INVALIDATE = (
    NEW_GENERATION_SCRIPT
    + """
if #ARGV > 1 then redis.call('DEL', unpack(ARGV, 2)) end
if ARGV[1] == '1' then
  if redis.call('EXISTS', '$GENERATION') == 1 then redis.call('INCR', '$GENERATION')
  else new_generation() end
end
return 0
"""
)

READ, FILL, INVALIDATE = (_with_keys(script) for script in (_READ, _FILL, _INVALIDATE))
