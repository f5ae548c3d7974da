-- sendmessage.lua: GWS SendMessage spread over N pre-created sessions.
-- BENCH_FILE lines: <session id> TAB <Authorization value> (sessions.tsv
-- from tests/bench/setup.js). Each request takes the next session in turn.
--   BENCH_FILE=sessions.tsv wrk -t1 -c64 -d10s --latency \
--     -s sendmessage.lua http://127.0.0.1:8080
package.path = (os.getenv("BENCH_LUA") or ".") .. "/?.lua;" .. package.path
local common = require("common")
local rows = common.read()
local n, i = #rows, 0
local text = os.getenv("BENCH_TEXT") or "hello from wrk"
local body = '{"operationName":"SendMessage","text":"' .. text .. '"}'

function setup(thread)
	thread:set("first", math.random(n))
end

function init(args)
	i = first or 0
end

function request()
	i = i % n + 1
	local r = rows[i]
	return wrk.format("POST", "/api/v2/me/im-sessions/" .. r[1],
		common.auth(r, { ["Content-Type"] = "application/json" }), body)
end

function response(status, headers, b)
	common.check(status, b)
end

function done(summary, latency, requests)
	io.stderr:write(string.format("sendmessage: %d requests, %d errors (socket), %d non-2xx/statusCode!=0 (first thread)\n",
		summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
		summary.errors.status))
end
