-- wrk script: a urlencoded form post with a contact no other request uses (per wrk thread and
-- request), so every submission is a new lead and nobody is a returning contact.
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end
local n = 0
request = function()
  n = n + 1
  local phone = string.format("%%2B79%02d%07d", 10 + (tid or 0), n % 10000000)
  local body = "name=Load+Test&email=t" .. (tid or 0) .. "n" .. n .. "%40example.ru&phone=" .. phone
    .. "&message=%D0%9D%D1%83%D0%B6%D0%B5%D0%BD+%D0%BA%D0%BE%D1%82%D1%91%D0%BB"
  return wrk.format("POST", "/forms/site", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }, body)
end
