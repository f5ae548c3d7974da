-- sessions_list.lua: GET /api/v2/me/im-sessions?fields=* of N agents in
-- turn. BENCH_FILE lines: <anything> TAB <Authorization value> (the
-- sessions.tsv or agents.tsv of tests/bench/setup.js).
--   BENCH_FILE=agents.tsv wrk -t1 -c16 -d10s --latency \
--     -s sessions_list.lua http://127.0.0.1:8080
package.path = (os.getenv("BENCH_LUA") or ".") .. "/?.lua;" .. package.path
local common = require("common")
local rows = common.read("agents.tsv")
local n, i = #rows, 0
local path = os.getenv("BENCH_PATH") or "/api/v2/me/im-sessions?fields=*"

function setup(thread)
	thread:set("first", math.random(n))
end

function init(args)
	i = first or 0
end

function request()
	i = i % n + 1
	return wrk.format("GET", path, common.auth(rows[i], {}))
end
