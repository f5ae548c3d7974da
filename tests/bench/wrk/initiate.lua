-- initiate.lua: InitiateIMSession / Complete cycles. Each wrk thread owns
-- ONE agent (row t of BENCH_FILE, lines <user> TAB <Authorization value>,
-- e.g. agents.tsv of tests/bench/setup.js) and ONE connection, so run it
-- with as many connections as threads:
--   BENCH_FILE=agents.tsv wrk -t8 -c8 -d10s --latency \
--     -s initiate.lua http://127.0.0.1:8080
-- A cycle: InitiateIMSession, GET the session list until the session is
-- Talking, Complete it, GET the list until it is gone. BENCH_DEST (default
-- 3002) is the destination phone number. BENCH_EARLY=1 completes the
-- session as soon as it shows (Initiating): that races the remote's
-- acceptance (see docs/performance.md: it can leave the UCWA conversation
-- connected upstream).
-- done() prints the completed cycles per second.
package.path = (os.getenv("BENCH_LUA") or ".") .. "/?.lua;" .. package.path
local common = require("common")
local rows = common.read("agents.tsv")
local dest = os.getenv("BENCH_DEST") or "3002"
local threads = {}
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("row", counter)
	table.insert(threads, thread)
end

local auth, step, sid

function init(args)
	local r = rows[((row or 1) - 1) % #rows + 1]
	auth = r[2]
	step, cycles, errors = "initiate", 0, 0
end

local json_hdr = function()
	return { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
end

function request()
	if step == "initiate" then
		return wrk.format("POST", "/api/v2/me/im-sessions", json_hdr(),
			'{"operationName":"InitiateIMSession","destination":{"phoneNumber":"' .. dest .. '"}}')
	elseif step == "complete" then
		return wrk.format("POST", "/api/v2/me/im-sessions/" .. sid, json_hdr(),
			'{"operationName":"Complete"}')
	end
	return wrk.format("GET", "/api/v2/me/im-sessions?fields=*", { ["Authorization"] = auth })
end

-- The id of a live (not Completed) session in a list body, or nil
-- (ucgw writes "state" just before "id" in each imSession).
local early = os.getenv("BENCH_EARLY")
local function live(body, talking)
	for st, id in body:gmatch('"state":"(%a+)","id":"(%w+)"') do
		if st ~= "Completed" and (not talking or early or st == "Talking") then return id end
	end
	return nil
end

local debug = os.getenv("BENCH_DEBUG")

function response(status, headers, body)
	if debug and (status ~= 200 or body:find('"statusCode":%s*[1-9]')) then
		io.stderr:write(step .. " " .. status .. " " .. body:sub(1, 200) .. "\n")
	end
	if status ~= 200 then errors = errors + 1 end
	if step == "initiate" then
		if body:find('"statusCode":%s*0') then step = "find" else errors = errors + 1; step = "gone" end
	elseif step == "find" then
		sid = live(body, true)
		if sid then step = "complete" end
	elseif step == "complete" then
		if not body:find('"statusCode":%s*0') then errors = errors + 1 end
		step = "gone"
	elseif step == "gone" then
		if not live(body) then
			step = "initiate"
			cycles = cycles + 1
		end
	end
end

function done(summary, latency, requests)
	common.report(threads, summary, "initiate", "cycles", "cycles", "cycles/s")
end
