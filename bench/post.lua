-- wrk script: a urlencoded form post with a different phone each time, asking for JSON.
-- POOL (env) makes the phones repeat every POOL requests: that many people who keep writing
-- again, so most posts are follow-ups of a lead (bench/crm_down.sh uses 500).
local pool = tonumber(os.getenv("POOL") or "10000000")
local counter = 0
request = function()
  counter = counter + 1
  local phone = string.format("%%2B7916%07d", counter % pool)
  local body = "name=Load+Test&phone=" .. phone .. "&message=%D0%9D%D1%83%D0%B6%D0%B5%D0%BD+%D0%BA%D0%BE%D1%82%D1%91%D0%BB"
  return wrk.format("POST", "/forms/site", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }, body)
end
