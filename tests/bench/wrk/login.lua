-- login.lua: the GWS login sequence, repeated: GET /me?subresources=*,
-- CometD handshake, StartContactCenterSession, Ready, then
-- EndContactCenterSession (which signs the agent out of UCWA, so the next
-- GET /me signs it in again). Each wrk thread owns ONE agent (row t of
-- BENCH_FILE, lines <user> TAB <Authorization value>) and ONE connection:
--   BENCH_FILE=agents.tsv wrk -t8 -c8 -d10s --latency \
--     -s login.lua http://127.0.0.1:8080
-- done() prints the completed sequences per second.
package.path = (os.getenv("BENCH_LUA") or ".") .. "/?.lua;" .. package.path
local common = require("common")
local rows = common.read("agents.tsv")
local threads = {}
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("row", counter)
	table.insert(threads, thread)
end

local auth, k
local steps = {
	{ "GET", "/api/v2/me?subresources=*", nil },
	{ "POST", "/api/v2/notifications",
	  '[{"id":"1","channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]' },
	{ "POST", "/api/v2/me", '{"operationName":"StartContactCenterSession","channels":["im"]}' },
	{ "POST", "/api/v2/me", '{"operationName":"Ready"}' },
	{ "POST", "/api/v2/me", '{"operationName":"EndContactCenterSession"}' },
}

function init(args)
	local r = rows[((row or 1) - 1) % #rows + 1]
	auth = r[2]
	k, logins, errors = 1, 0, 0
end

function request()
	local s = steps[k]
	local h = { ["Authorization"] = auth }
	if s[3] then h["Content-Type"] = "application/json" end
	return wrk.format(s[1], s[2], h, s[3])
end

function response(status, headers, body)
	if status ~= 200 or body:find('"statusCode":%s*[1-9]') or body:find('"successful":false') then
		errors = errors + 1
	end
	k = k + 1
	if k > #steps then
		k = 1
		logins = logins + 1
	end
end

function done(summary, latency, requests)
	common.report(threads, summary, "login", "logins", "sequences", "logins/s")
end
