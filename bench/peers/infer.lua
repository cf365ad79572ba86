-- wrk script for issue 11's peers bench: POST the same _infer body on every request (keep-alive).
-- Usage: wrk ... -s infer.lua http://127.0.0.1:<port>/_ml/trained_models/<id>/_infer -- <body.json> [<Authorization header value>]
function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  wrk.headers["Content-Type"] = "application/json"
  -- The service has security on; the peers ignore the header.
  if args[2] then wrk.headers["Authorization"] = args[2] end
  file:close()
end
