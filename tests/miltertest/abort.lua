-- abort.lua - messages given up half way: the MTA aborts in the middle of the
-- body, and a client disconnects without a word.  The session must stay usable
-- and the next message must be judged on its own.
dofile("tests/miltertest/common.lua")
start_milter()
local conn = open("ORIGINATING")

-- Abort mid-body, then a whole message on the same connection.
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
send_file(conn, "reply-bad.eml", 2)
if mt.abort(conn) ~= nil then fail("abort") end
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
send_file(conn, "reply-doubtful.eml")
if mt.eom(conn) ~= nil then fail("eom after abort") end
local check = added(conn, "X-Apology-Check")
if check == nil or not check:match("advise") then
	fail("after an abort the next message was judged as " .. tostring(check))
end
if mt.eom_check(conn, MT_QUARANTINE) then fail("text of the aborted message leaked in") end

-- Abort right after MAIL FROM.
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
if mt.abort(conn) ~= nil then fail("abort after MAIL") end

-- A connection dropped mid-message, abruptly.
local lost = open("ORIGINATING")
envelope(lost, "<sam@acme.example>", "<dana@client.example>")
send_file(lost, "reply-bad.eml", 3)
mt.disconnect(lost, false)

-- The milter still serves new sessions.
local again = open("ORIGINATING")
envelope(again, "<sam@acme.example>", "<dana@client.example>")
send_file(again, "reply-bad.eml")
if mt.eom(again) ~= nil then fail("eom on a new session") end
if not mt.eom_check(again, MT_QUARANTINE) then fail("new session: bad reply not held") end
mt.disconnect(again)
mt.disconnect(conn)
