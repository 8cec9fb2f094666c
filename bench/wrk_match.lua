-- wrk script for bench/workers.py: POST /v1/match with the bodies of a file (one JSON
-- request body per line), in turn, each wrk thread from its own random start.
-- Arguments after "--": BODIES_FILE API_KEY.
local bodies = {}
local key = ""
local i = 0

function init(args)
  key = args[2]
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  i = math.random(#bodies)
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/match", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }, bodies[i])
end
