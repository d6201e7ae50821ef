-- huge-headers.lua - header blocks far beyond what real mail carries: thousands
-- of header fields, long values, and a References list longer than the
-- milter looks up.  (miltertest itself cannot send one header value over about
-- 1 KB, so size comes from the number of fields.)  The milter must answer, stay
-- within its size cap (the message comes out unchecked, with a short,
-- well-formed header) and keep judging the next message normally.
dofile("tests/miltertest/common.lua")
start_milter("limits.max-message-size: 256K")
local conn = open("ORIGINATING")

local filler = string.rep("0123456789 ", 85)
local refs = {}
for i = 1, 40 do refs[i] = "<ref-" .. i .. "@client.example>" end
local references = table.concat(refs, "\n ")

-- About 5 MB of headers: over the cap.
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
mt.header(conn, "References", references)
for i = 1, 5000 do mt.header(conn, "X-Filler-" .. i, filler) end
send_file(conn, "reply-bad.eml")
if mt.eom(conn) ~= nil then fail("eom") end
local check = added(conn, "X-Apology-Check")
if check == nil or not check:match("unchecked; reason=message%-over%-the%-size%-limit") then
	fail("over the cap: X-Apology-Check " .. tostring(check))
end
if #check > 200 then fail("the check header grew with the input") end
if mt.eom_check(conn, MT_QUARANTINE) then fail("held a message it could not analyse") end

-- Many long headers and 40 references, within the cap: judged normally.
envelope(conn, "<sam@acme.example>", "<dana@client.example>")
mt.header(conn, "References", references)
for i = 1, 150 do mt.header(conn, "X-Filler-" .. i, filler) end
send_file(conn, "reply-bad.eml")
if mt.eom(conn) ~= nil then fail("eom 2") end
if not mt.eom_check(conn, MT_QUARANTINE) then fail("bad reply with many headers not held") end
mt.disconnect(conn)
