-- wrk script: POST a small multipart upload (one ~2 KiB PNG as `images`
-- and a text), a new body for every request.  The body is read from the
-- files HEAD and TAIL (bench/server writes them: everything before and after
-- a 16-byte slot at the end of the PNG, past its IEND chunk); each request
-- fills the slot with its run, thread and request number so no two bodies
-- are equal and a content-addressed store cannot skip any.
-- Arguments after `--`: HEAD TAIL BOUNDARY RUN.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function init(args)
  head = slurp(args[1])
  tail = slurp(args[2])
  run = tonumber(args[4])
  n = 0
  headers = {
    ["Content-Type"] = "multipart/form-data; boundary=" .. args[3],
  }
end

function request()
  n = n + 1
  local slot = string.format("%04x%04x%08x", run % 65536, id % 65536,
                             n % 4294967296)
  return wrk.format("POST", nil, headers, head .. slot .. tail)
end
