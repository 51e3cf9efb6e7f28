-- Runs the Argo CD health checks in hack/argocd/<group>/<Kind>/health.lua against table-driven cases, each inside
-- the sandbox Argo CD gives scripts from argocd-cm. Needs Lua 5.1 (hack/lua.sh prints its path) for setfenv.
--
--   lua5.1 hack/argocd/test.lua            runs hack/argocd/cases.lua
--   lua5.1 hack/argocd/test.lua FILE...    runs the cases in FILEs instead
--
-- A case file is a chunk returning a list of { kind = "InstancePool" | "PoolClaim", name = "...", obj = {...},
-- want = "<health status>", message = "<exact message>" (optional) }. One line per case goes to stdout, "ok" or
-- "FAIL" first; the exit status is 1 when any case (or the sandbox self-check) fails.
local GROUP = "warmpool.dev"
local here = string.match(arg[0], "^(.*)/[^/]*$") or "."

-- Argo CD (util/lua/lua.go) runs a script without openLibs in a gopher-lua state that skips the standard libraries
-- and then opens package, base, table and a safe os (time and date only): no string, math, io, debug or coroutine,
-- and, as the string library is what gives strings their methods, no ("x"):upper() either. This environment is that
-- set minus the loaders (dofile, loadfile, load, loadstring, require, module) and setfenv, getfenv, collectgarbage
-- and newproxy, which a health check has no use for: a script that runs here runs there.
local function sandbox(object)
  local env = {
    assert = assert,
    error = error,
    getmetatable = getmetatable,
    ipairs = ipairs,
    next = next,
    pairs = pairs,
    pcall = pcall,
    print = print,
    rawequal = rawequal,
    rawget = rawget,
    rawset = rawset,
    select = select,
    setmetatable = setmetatable,
    tonumber = tonumber,
    tostring = tostring,
    type = type,
    unpack = unpack,
    xpcall = xpcall,
    _VERSION = _VERSION,
    table = {
      concat = table.concat,
      getn = table.getn,
      insert = table.insert,
      maxn = table.maxn,
      remove = table.remove,
      sort = table.sort,
    },
    os = { time = os.time, date = os.date },
    obj = object,
  }
  env._G = env
  return env
end

local stringMeta = getmetatable("")

-- Runs chunk in the sandbox with strings stripped of their methods; the harness gets them back afterwards.
local function runSandboxed(chunk, object)
  setfenv(chunk, sandbox(object))
  debug.setmetatable("", nil)
  local ok, result = pcall(chunk)
  debug.setmetatable("", stringMeta)
  return ok, result
end

-- The codes Argo CD accepts (isValidHealthStatusCode); anything else it shows as Unknown.
local VALID = { Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true, Unknown = true }

local function evaluate(kind, object)
  local chunk, err = loadfile(here .. "/" .. GROUP .. "/" .. kind .. "/health.lua")
  if chunk == nil then
    return nil, err
  end
  local ok, result = runSandboxed(chunk, object)
  if not ok then
    return nil, "script error: " .. tostring(result)
  end
  if type(result) ~= "table" then
    return nil, "returned a " .. type(result) .. ", not a table"
  end
  if not VALID[result.status] then
    return nil, "invalid health status " .. tostring(result.status)
  end
  -- Argo CD decodes the table into a struct whose message is a string.
  if result.message ~= nil and type(result.message) ~= "string" then
    return nil, "message is a " .. type(result.message)
  end
  return result
end

local failures = 0

local function report(ok, line)
  if not ok then
    failures = failures + 1
  end
  print((ok and "ok   " or "FAIL ") .. line)
end

-- The sandbox itself: what Argo CD leaves out must fail here, what it provides must work.
local probes = {
  { "string library", "return string.upper('x')", false },
  { "math library", "return math.floor(1.5)", false },
  { "io library", "return io.write('x')", false },
  { "os.exit", "return os.exit(1)", false },
  { "os.getenv", "return os.getenv('HOME')", false },
  { "string methods", "return ('x'):upper()", false },
  { "loadstring", "return loadstring('return 1')()", false },
  { "table library", "return table.concat({ 'a', 'b' }, ',') == 'a,b'", true },
  { "os.time", "return os.time() > 0", true },
  { "length and concatenation", "return #('ab' .. 1) == 3", true },
}
for _, p in ipairs(probes) do
  local ok, result = runSandboxed(assert(loadstring(p[2])), {})
  local works = ok and result == true
  report(works == p[3], "sandbox " .. p[1] .. (p[3] and " is available" or " is not available"))
end

local files = { ... }
if #files == 0 then
  files = { here .. "/cases.lua" }
end
for _, file in ipairs(files) do
  local cases = assert(loadfile(file))()
  for _, c in ipairs(cases) do
    local got, err = evaluate(c.kind, c.obj)
    local label = c.kind .. " " .. c.name .. ": "
    if got == nil then
      report(false, label .. err)
    else
      local ok = got.status == c.want and (c.message == nil or got.message == c.message)
      local line = label .. got.status .. ": " .. tostring(got.message)
      if not ok then
        line = line .. " (want " .. c.want .. (c.message and (": " .. c.message) or "") .. ")"
      end
      report(ok, line)
    end
  end
end

if failures > 0 then
  print(failures .. " failed")
  os.exit(1)
end
