-- several-messages.lua - one SMTP session carrying three messages in turn: an
-- ordinary note (untouched), a doubtful reply (advisory headers) and a bad reply
-- (held).  Per-message state must not leak from one message into the next.
dofile("tests/miltertest/common.lua")
start_milter()
local conn = open("ORIGINATING")

envelope(conn, "<sam@acme.example>", "<dana@client.example>")
send_file(conn, "note.eml")
if mt.eom(conn) ~= nil then fail("eom 1") end
expect(conn, SMFIR_ACCEPT, "note")
if added(conn, "X-Apology-Check") ~= nil then fail("the note was changed") end
if mt.eom_check(conn, MT_QUARANTINE) then fail("the note was held") end

envelope(conn, "<sam@acme.example>", "<dana@client.example>")
send_file(conn, "reply-doubtful.eml")
if mt.eom(conn) ~= nil then fail("eom 2") end
expect(conn, SMFIR_ACCEPT, "doubtful reply")
local check = added(conn, "X-Apology-Check")
if check == nil or not check:match("advise; score=%d+; rules=") then
	fail("doubtful reply: X-Apology-Check " .. tostring(check))
end
if mt.eom_check(conn, MT_QUARANTINE) then fail("the doubtful reply was held") end

envelope(conn, "<sam@acme.example>", "<dana@client.example>")
send_file(conn, "reply-bad.eml")
if mt.eom(conn) ~= nil then fail("eom 3") end
expect(conn, SMFIR_ACCEPT, "bad reply")
if not mt.eom_check(conn, MT_QUARANTINE) then fail("the bad reply was not held") end
check = added(conn, "X-Apology-Check")
if check == nil or not check:match("^ ?hold; ") then fail("bad reply: " .. tostring(check)) end
if added(conn, "X-Apology-Token") == nil then fail("no token header") end

-- The same note again after all that: still untouched.
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
send_file(conn, "note.eml")
if mt.eom(conn) ~= nil then fail("eom 4") end
if added(conn, "X-Apology-Check") ~= nil then fail("state leaked into the next message") end

mt.disconnect(conn)
