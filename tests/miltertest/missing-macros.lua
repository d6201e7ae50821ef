-- missing-macros.lua - an MTA that sends none of the macros the milter asks for
-- ({daemon_name}, {auth_authen}, i).  Such mail is inbound by default: never
-- judged, never changed.  With {auth_authen} alone it is outgoing; without a
-- queue id it is still judged and logged as NOQUEUE.
dofile("tests/miltertest/common.lua")
start_milter()

local conn = open(nil)
local r = envelope(conn, "<sam@acme.example>", "<dana@client.example>")
if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then fail("inbound MAIL reply " .. r) end
if r == SMFIR_CONTINUE then
	send_file(conn, "reply-bad.eml")
	if mt.eom(conn) ~= nil then fail("eom") end
	if added(conn, "X-Apology-Check") ~= nil then fail("inbound mail was changed") end
	if mt.eom_check(conn, MT_QUARANTINE) then fail("inbound mail was held") end
end
mt.disconnect(conn)

-- No connect macros at all, but an authenticated sender: outgoing.
conn = open(nil)
envelope(conn, "<sam@acme.example>", "<dana@client.example>", { "{auth_authen}", "sam" })
send_file(conn, "reply-bad.eml")
if mt.eom(conn) ~= nil then fail("eom") end
if not mt.eom_check(conn, MT_QUARANTINE) then fail("authenticated bad reply not held") end
mt.disconnect(conn)

-- The null sender (a bounce) arriving inbound is accepted at once.
conn = open(nil)
if mt.mailfrom(conn, "<>") ~= nil then fail("mailfrom <>") end
expect(conn, SMFIR_ACCEPT, "bounce")
mt.disconnect(conn)
