-- wrk script: urlencoded form posts from a fixed pool of people (POOL, default 500) who keep
-- writing again, so most posts are follow-ups of a lead that already has events queued.
local pool = tonumber(os.getenv("POOL") or "500")
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
request = function()
  offset = offset + 1
  local phone = string.format("%%2B7916%07d", offset % pool)
  local body = "name=Load+Test&phone=" .. phone .. "&message=%D0%9D%D1%83%D0%B6%D0%B5%D0%BD+%D0%BA%D0%BE%D1%82%D1%91%D0%BB"
  return wrk.format("POST", "/forms/site", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }, body)
end
