-- wrk script: send the paths of a file, one per line, and print a result line.
--
--   wrk -t THREADS -c N -d 20s -s bench/paths.lua URL \
--       -- FILE THREADS THINK_MS PAUSE_MS N/THREADS
--
-- Thread i of THREADS sends lines i, i + THREADS, i + 2 x THREADS, ... in order
-- (a file of one line, such as a cached page, is sent by every thread),
-- so no two requests of a run share a path until a thread has used up its share;
-- it then starts its share again and counts the pass in "wrapped" (the load
-- scripts size the file so that this does not happen, and report it if it does).
-- THINK_MS, if above 0, is how long each connection waits before its next request.
-- PAUSE_MS, if above 0, holds the first request of every connection that long, so
-- the server accepts all of them before the load starts: a busy gevent worker of
-- several accepts one connection per turn of its event loop, and connections still
-- waiting in the backlog would otherwise add their wait to their first request.
-- wrk does not count a pause or a think time in the latency.
-- BENCH_AUTHORIZATION in the environment, if set, is sent as every request's
-- Authorization header (bench/reports.py polls jobs with an access token).
-- done() prints one line, "WRK_RESULT {json}", for the scripts to read.

local threads = {}
local created = 0

function setup(thread)
  thread:set("id", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local file, count = args[1], tonumber(args[2])
  local think, pause = tonumber(args[3] or "0"), tonumber(args[4] or "0")
  local paused = tonumber(args[5] or "0")
  local authorization = os.getenv("BENCH_AUTHORIZATION")
  if authorization then
    wrk.headers["Authorization"] = authorization
  end
  local lines = {}
  for line in io.lines(file) do
    if line ~= "" then
      table.insert(lines, line)
    end
  end
  if #lines == 0 then
    error("no paths in " .. file)
  end
  paths = {}
  for number, line in ipairs(lines) do
    if (number - 1) % count == id then
      table.insert(paths, line)
    end
  end
  if #paths == 0 then
    -- Fewer lines than threads: this one repeats a line of another.
    paths = { lines[id % #lines + 1] }
  end
  position = 0
  wrapped = 0
  if think > 0 or pause > 0 then
    -- wrk asks once per request; the first asks of a thread are its connections'.
    delay = function()
      if paused > 0 then
        paused = paused - 1
        return pause
      end
      return think
    end
  end
end

function request()
  position = position + 1
  if position > #paths then
    position = 1
    if #paths > 1 then
      wrapped = wrapped + 1
    end
  end
  return wrk.format("GET", paths[position])
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + (thread:get("wrapped") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"mean_us": %.1f, "wrapped": %d}\n',
    summary.duration, summary.requests, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, wraps
  ))
end
