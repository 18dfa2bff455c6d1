-- wrk script for bench/bench_load.py: random requests of one kind, with the API key and
-- the X-Justification header, and a summary line (JSON) with the percentiles wrk keeps.
--
--   wrk -t2 -c16 -d10s -s bench/load.lua http://127.0.0.1:8000 -- KIND KEY PEOPLE AREAS STREAMS
--
-- KIND: person | score | migration | counts | exits | health | bare
-- PEOPLE: person ids are drawn from 1..PEOPLE; AREAS and STREAMS: comma-separated codes,
-- a shortlist request draws one of each.

local kind, key, people, areas, streams

local function split(text)
  local out = {}
  for item in string.gmatch(text or "", "[^,]+") do out[#out + 1] = item end
  return out
end

local thread_counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("seed", thread_counter * 7919)
end

function init(args)
  kind, key, people = args[1], args[2], tonumber(args[3] or "1")
  areas, streams = split(args[4]), split(args[5])
  math.randomseed(seed or 1)
  wrk.headers["Authorization"] = "Bearer " .. (key or "")
  wrk.headers["X-Justification"] = "load benchmark"
end

local function pick(list) return list[math.random(#list)] end

function request()
  local path
  if kind == "person" then
    path = "/persons/" .. math.random(people)
  elseif kind == "score" then
    path = "/persons/" .. math.random(people) .. "/score"
  elseif kind == "migration" then
    path = "/shortlists/migration?area=" .. pick(areas) .. "&stream=" .. pick(streams)
  elseif kind == "counts" then
    path = "/shortlists/migration/counts?area=" .. pick(areas) .. "&stream=" .. pick(streams)
  elseif kind == "exits" then
    path = "/shortlists/exits?area=" .. pick(areas) .. "&stream=" .. pick(streams)
  elseif kind == "bare" then
    path = "/persons/" .. math.random(people)
  else
    path = "/health"
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
