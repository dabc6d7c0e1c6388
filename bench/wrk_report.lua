-- wrk script for the benchmarks in bench/: adds the Authorization header from the environment,
-- counts every response whose status is not 200 (per thread), and prints one machine-readable line:
--   BENCH_RESULT {"requests": ..., "duration_s": ..., "rps": ..., "p50_ms": ..., ...}
-- Usage: BENCH_AUTHORIZATION="Bearer <token>" wrk -t1 -c32 -d10s --latency -s bench/wrk_report.lua URL

local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non_200 = 0
  first_bad_status = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
    if first_bad_status == 0 then
      first_bad_status = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first_bad = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non_200")
    if first_bad == 0 then
      first_bad = thread:get("first_bad_status")
    end
  end
  local errors = summary.errors
  local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_s": %.6f, "rps": %.2f, "p50_ms": %.3f, "p90_ms": %.3f, '
      .. '"p99_ms": %.3f, "max_ms": %.3f, "non_200": %d, "first_bad_status": %d, "socket_errors": %d, '
      .. '"timeouts": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad, first_bad, socket_errors, errors.timeout
  ))
end
