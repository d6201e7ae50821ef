-- common.lua - shared by the miltertest scripts: start apology-milter on a unix
-- socket in a private directory, connect, and send sample messages from
-- tests/e2e/msgs/.  Environment (set by run.sh): MILTER (the binary) and MT_DIR
-- (a private directory).

MILTER = os.getenv("MILTER") or "build/apology-milter"
MT_DIR = os.getenv("MT_DIR") or error("MT_DIR not set")
SOCK = "unix:" .. MT_DIR .. "/milter.sock"

function fail(why)
	error("FAILED: " .. why)
end

-- Start the milter once per script, configured by a file in MT_DIR plus the
-- given "key: value" lines (miltertest's startfilter takes only a few arguments).
function start_milter(...)
	local conf = MT_DIR .. "/apology-milter.yaml"
	local f = io.open(conf, "w")
	f:write("policy: policies/default.yaml\n",
		"store: sqlite:" .. MT_DIR .. "/store.db\n",
		"pid-file: " .. MT_DIR .. "/milter.pid\n",
		"scope:\n  internal-domains: [acme.example]\n")
	for _, line in ipairs({ ... }) do f:write(line, "\n") end
	f:close()
	mt.startfilter(MILTER, "-f", "-c", conf, "-p", SOCK)
end

-- A new milter connection from 127.0.0.1 with the given connect macros.
function open(daemon_name)
	local conn = mt.connect(SOCK, 240, 0.25)
	if conn == nil then fail("cannot connect to " .. SOCK) end
	if daemon_name ~= nil then
		mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", daemon_name)
	end
	if mt.conninfo(conn, "localhost", "127.0.0.1") ~= nil then fail("conninfo") end
	return conn
end

function expect(conn, reply, what)
	local got = mt.getreply(conn)
	if got ~= reply then
		fail(what .. ": reply " .. tostring(got) .. ", expected " .. tostring(reply))
	end
end

-- Envelope of one message: MAIL FROM and RCPT TO, then DATA.
function envelope(conn, from, to, mail_macros)
	if mail_macros ~= nil then
		mt.macro(conn, SMFIC_MAIL, table.unpack(mail_macros))
	end
	if mt.mailfrom(conn, from) ~= nil then fail("mailfrom") end
	local r = mt.getreply(conn)
	if r == SMFIR_ACCEPT then return r end
	if mt.rcptto(conn, to) ~= nil then fail("rcptto") end
	if mt.data(conn) ~= nil then fail("data") end
	return mt.getreply(conn)
end

-- Headers and body of a sample file; STOP_AFTER limits the body lines sent.
function send_file(conn, name, stop_after)
	local f = io.open("tests/e2e/msgs/" .. name, "r")
	if f == nil then fail("cannot read " .. name) end
	local in_body, hname, hvalue, body, n = false, nil, nil, {}, 0
	for line in f:lines() do
		if in_body then
			n = n + 1
			if stop_after == nil or n <= stop_after then
				table.insert(body, line)
			end
		elseif line == "" then
			if hname ~= nil then mt.header(conn, hname, hvalue) end
			in_body = true
		elseif line:match("^[ \t]") then
			hvalue = hvalue .. "\n" .. line
		else
			if hname ~= nil then mt.header(conn, hname, hvalue) end
			hname, hvalue = line:match("^([^:]+):%s?(.*)$")
		end
	end
	f:close()
	if mt.eoh(conn) ~= nil then fail("eoh") end
	if mt.bodystring(conn, table.concat(body, "\r\n") .. "\r\n") ~= nil then fail("body") end
end

-- The added header NAME's value after end of message, or nil.
function added(conn, name)
	if not mt.eom_check(conn, MT_HDRADD, name) then return nil end
	return mt.getheader(conn, name, 0)
end
