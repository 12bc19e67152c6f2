-- wrk script for bench/run.sh's memory mode: each thread stops after its share of a count of
-- answers, and every answer's status is checked, so that a phase sends a number of requests
-- rather than lasting a duration.
--
--   wrk -t2 -c64 -d10s -s bench/count.lua URL -- SHARE STATUS
--
-- SHARE is the count of answers per thread, STATUS the one status every answer must have.
-- `done` prints `answered N` and `unexpected M` (answers with another status) summed over
-- the threads. wrk itself still waits out -d (bench/run.sh sends in rounds). A thread stops
-- within one event-loop turn of reaching its share, so a few more
-- answers than asked may be counted; they are all counted.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  share = tonumber(args[1])
  expected = tonumber(args[2])
  answered = 0
  unexpected = 0
  if not share or not expected then
    error("usage: -s count.lua URL -- SHARE STATUS")
  end
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= expected then
    unexpected = unexpected + 1
  end
  if answered >= share then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total, wrong = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("answered")
    wrong = wrong + thread:get("unexpected")
  end
  io.write(string.format("answered %d\nunexpected %d\n", total, wrong))
end
