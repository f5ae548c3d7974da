-- common.lua: shared by the wrk profiles. Reads the file written by
-- tests/bench/setup.js (or by hand): one line per agent or session,
-- fields separated by tabs, lines starting with '#' ignored.
-- Put this directory on LUA_PATH or run wrk from it (see
-- docs/load-testing.md).
local M = {}

-- The lines of file (env BENCH_FILE, default "sessions.tsv") as arrays
-- of fields.
function M.read(default)
	local file = os.getenv("BENCH_FILE") or default or "sessions.tsv"
	local rows = {}
	for line in io.lines(file) do
		if line ~= "" and line:sub(1, 1) ~= "#" then
			local f = {}
			for x in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = x end
			rows[#rows + 1] = f
		end
	end
	assert(#rows > 0, file .. ": no rows")
	return rows
end

-- Add the credentials of row r to headers h: the session cookie (third
-- field, "JSESSIONID=...") when there is one, as a desktop sends it after
-- its first request; else the Authorization value (second field). Basic
-- without the cookie makes a new gateway session per request.
function M.auth(r, h)
	if r[3] and r[3] ~= "" then h["Cookie"] = r[3] else h["Authorization"] = r[2] end
	return h
end

-- Count non-2xx answers and GWS statusCode != 0 bodies (per thread).
M.bad = 0
function M.check(status, body)
	if status < 200 or status > 299 then
		M.bad = M.bad + 1
	elseif body and body:find('"statusCode":%s*[1-9]') then
		M.bad = M.bad + 1
	end
end

-- At the end of a run: the sum over threads of their counter (and their
-- "errors"), as "<name>: N <noun> in S s = R <rate>, E errors".
function M.report(threads, summary, name, counter, noun, rate)
	local c, e = 0, 0
	for _, t in ipairs(threads) do
		c = c + (t:get(counter) or 0)
		e = e + (t:get("errors") or 0)
	end
	local s = summary.duration / 1e6
	io.stdout:write(string.format("%s: %d %s in %.1f s = %.1f %s, %d errors\n",
		name, c, noun, s, c / s, rate, e))
end

return M
