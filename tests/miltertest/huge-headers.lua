-- huge-headers.lua - headers far beyond what real mail carries: a References
-- header with 1,500 ids, a 60 KB Subject (near the protocol's 64 KB packet
-- limit; Postfix caps a header at 100 KB and sends it in one packet), and
-- thousands of header fields.
-- The milter must answer, stay within its size cap (the message comes out
-- unchecked, with a well-formed header) and keep serving.
dofile("tests/miltertest/common.lua")
start_milter("limits.max-message-size=256K")
local conn = open("ORIGINATING")

envelope(conn, "<sam@acme.example>", "<dana@client.example>")
local ids = {}
for i = 1, 1500 do ids[i] = "<ref-" .. i .. "@client.example>" end
mt.header(conn, "References", table.concat(ids, "\n "))
mt.header(conn, "In-Reply-To", "<complaint-4471@client.example>")
mt.header(conn, "Subject", string.rep("Very long subject ", 3500))
for i = 1, 3000 do mt.header(conn, "X-Filler-" .. i, "filler value " .. i) end
send_file(conn, "reply-bad.eml")
if mt.eom(conn) ~= nil then fail("eom") end
local check = added(conn, "X-Apology-Check")
if check == nil or not check:match("unchecked; reason=message%-over%-the%-size%-limit") then
	fail("over the cap: X-Apology-Check " .. tostring(check))
end
if #check > 200 then fail("the check header grew with the input") end

-- Many references, but a message within the cap: judged normally.
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
mt.header(conn, "References", table.concat(ids, " ", 1, 1000))
send_file(conn, "reply-bad.eml")
if mt.eom(conn) ~= nil then fail("eom 2") end
if not mt.eom_check(conn, MT_QUARANTINE) then fail("bad reply with long References not held") end
mt.disconnect(conn)
