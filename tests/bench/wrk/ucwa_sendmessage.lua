-- ucwa_sendmessage.lua: UCWA-level sendMessage, for the baselines (wrk
-- straight to ucwa-sim, or to nginx proxy_pass in front of it).
-- BENCH_FILE lines: <sendMessage href> TAB <Authorization value>
-- (ucwa.tsv from tests/bench/setup.js --ucwa).
package.path = (os.getenv("BENCH_LUA") or ".") .. "/?.lua;" .. package.path
local common = require("common")
local rows = common.read("ucwa.tsv")
local n, i = #rows, 0
local text = os.getenv("BENCH_TEXT") or "hello from wrk"

function setup(thread)
	thread:set("first", math.random(n))
end

function init(args)
	i = first or 0
end

function request()
	i = i % n + 1
	local r = rows[i]
	return wrk.format("POST", r[1],
		{ ["Authorization"] = r[2], ["Content-Type"] = "text/plain; charset=UTF-8" }, text)
end

function done(summary, latency, requests)
	io.stderr:write(string.format("ucwa_sendmessage: %d requests, %d non-2xx\n",
		summary.requests, summary.errors.status))
end
