-- drain.lua - a stop signal while a message is half way through: the daemon
-- takes no new messages (they are accepted unchecked at MAIL FROM), finishes the
-- one in flight (within limits.drain-timeout), and only then exits.  The signal
-- is SIGTERM (what systemd sends), or MT_DRAIN_SIGNAL (the libmilter build
-- drains on SIGUSR2 only).
dofile("tests/miltertest/common.lua")
start_milter("limits.drain-timeout: 20s")
local conn = open("ORIGINATING")
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
mt.header(conn, "X-Mailer", "drain test")

mt.signal(tonumber(os.getenv("MT_DRAIN_SIGNAL") or "15"))
mt.sleep(0.5)

-- A new message now is let through at once, unchecked...
local other = open("ORIGINATING")
if mt.mailfrom(other, "<sam@acme.example>") ~= nil then fail("mailfrom while draining") end
expect(other, SMFIR_ACCEPT, "new message while draining")
mt.disconnect(other)

-- ...while the message in flight is judged to the end...
send_file(conn, "reply-bad.eml")
if mt.eom(conn) ~= nil then fail("eom while draining") end
if not mt.eom_check(conn, MT_QUARANTINE) then fail("the message in flight was not finished") end
-- The daemon may exit as soon as it has answered, so no polite QUIT here.
mt.disconnect(conn, false)

-- ...and then the daemon is gone (at once, or within seconds with libmilter).
local gone = false
for _ = 1, 15 do
	local ok, late = pcall(mt.connect, SOCK, 1, 0.1)
	if not ok or late == nil then
		gone = true
		break
	end
	mt.disconnect(late, false)
	mt.sleep(1)
end
if not gone then fail("still accepting sessions 15 s after the drain") end
