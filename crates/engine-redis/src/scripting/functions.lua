-- Globals of function libraries (Redis 7 FUNCTION LOAD / FCALL), built once per functions VM.
-- While a library's code runs at load time it sees only `redis` with register_function, log,
-- the log levels and the version; afterwards its callbacks see what EVAL scripts see (`env`).
--
-- Arguments: env (the EVAL sandbox's globals), register and log (C trampolines), version and
-- version_num. Returns the globals table and the loader.
local env, register, log, version, version_num = ...
local error, tostring, type, setmetatable, pcall = error, tostring, type, setmetatable, pcall
local rawget = rawget

local function missing(k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
end
local function readonly_error() error('Attempt to modify a readonly table', 2) end

local loading = false
-- A library may keep `redis` and call register_function later, from a function: refused.
local function register_function(...)
  if not loading then
    error({ err = 'ERR redis.register_function can only be called on FUNCTION LOAD command' })
  end
  return register(...)
end

local load_redis_table = {
  register_function = register_function,
  log = log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = version, REDIS_VERSION_NUM = version_num,
}
local load_redis = setmetatable({}, {
  __index = function(_, k)
    local v = load_redis_table[k]
    if v == nil then missing(k) end
    return v
  end,
  __newindex = readonly_error,
  __metatable = false,
})
local load_api = { redis = load_redis }

local globals = setmetatable({}, {
  __index = function(_, k)
    local v
    if loading then v = load_api[k] else v = env[k] end
    if v == nil then missing(k) end
    return v
  end,
  __newindex = readonly_error,
  __metatable = false,
})

-- Runs a compiled library chunk with the load-time globals; returns true or false, message.
local function load(chunk)
  loading = true
  local ok, err = pcall(chunk)
  loading = false
  if ok then return true end
  if type(err) == 'table' then
    local msg = rawget(err, 'err')
    if type(msg) == 'string' then return false, msg end
    return false, 'ERR unknown error'
  end
  return false, 'ERR ' .. tostring(err)
end

return globals, load
