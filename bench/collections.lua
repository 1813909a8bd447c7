-- wrk script of the collections benchmark: every request carries a user's token.
--
--   wrk -t THREADS -c N -d 20s -s bench/collections.lua URL \
--       -- TOKENS MODE MOVIES POOL PAUSE_MS N/THREADS THINK_MS
--
-- TOKENS is a file of access tokens, one a line; each request takes the next one,
-- so the requests go to many users. MODE "list" sends GET /collection/; "create"
-- sends POST /collection/ with MOVIES movies picked at random among POOL provider
-- movies (so new collections share movie rows with older ones). PAUSE_MS holds
-- the first request of every connection, as in bench/paths.lua, so the server
-- has accepted them all before the load starts; THINK_MS, if above 0, is how
-- long each connection waits before each later request.
-- done() prints "WRK_RESULT {json}", in the shape bench/paths.lua prints.

local threads = {}
local created = 0
local genres = { "Drama", "Comedy", "Action", "Thriller", "Horror, Drama", "" }

function setup(thread)
  thread:set("id", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      table.insert(tokens, line)
    end
  end
  mode = args[2]
  movies = tonumber(args[3] or "20")
  pool = tonumber(args[4] or "20000")
  position = id * 7919
  math.randomseed(id * 104729 + os.time())
  local pause, paused = tonumber(args[5] or "0"), tonumber(args[6] or "0")
  local think = tonumber(args[7] or "0")
  if pause > 0 or think > 0 then
    delay = function()
      if paused > 0 then
        paused = paused - 1
        return pause
      end
      return think
    end
  end
end

local function movie(n)
  return string.format(
    '{"title": "Provider movie %d", "description": "The plot of movie %d.",'
      .. ' "genres": "%s", "uuid": "%08x-0000-4000-8000-%012x"}',
    n, n, genres[n % #genres + 1], n, n
  )
end

function request()
  position = position % #tokens + 1
  local headers = { ["Authorization"] = "Bearer " .. tokens[position] }
  if mode == "create" then
    local list = {}
    for i = 1, movies do
      list[i] = movie(math.random(1, pool))
    end
    headers["Content-Type"] = "application/json"
    local body = '{"title": "Benchmark collection", "description": "Made by wrk",'
      .. ' "movies": [' .. table.concat(list, ", ") .. "]}"
    return wrk.format("POST", "/collection/", headers, body)
  end
  return wrk.format("GET", "/collection/", headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"mean_us": %.1f, "wrapped": %d}\n',
    summary.duration, summary.requests, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, 0
  ))
end
