-- Builds the sandbox scripts run in. Runs once per Lua VM with the full standard library, then
-- the dangerous parts are only reachable from the locals captured here.
--
-- Arguments: env (the table behind the sandbox: what scripts see as globals) and libs (the
-- Rust libraries and the C functions behind redis.call, pcall, setresp, log and sha1hex).
local env, libs = ...
local G = _G
local dbg = debug
local error, type, tostring, select, setmetatable, pairs, ipairs =
  error, type, tostring, select, setmetatable, pairs, ipairs
local real_rawset, real_rawget, real_next, real_setfenv = rawset, rawget, next, setfenv
local real_loadstring, real_load = loadstring, load
local BOOT = '=redis'

-- proxy table -> the real table it shows read-only
local proxies = setmetatable({}, { __mode = 'k' })

local function readonly(t)
  local p = {}
  proxies[p] = t
  setmetatable(p, {
    __index = t,
    __newindex = function() error('Attempt to modify a readonly table', 2) end,
    __metatable = false,
  })
  return p
end

-- Redis's __redis__err__handler: tables pass through, anything else becomes {err='ERR ...'};
-- the position is the script's (Redis reports the caller of a C function; our library
-- wrappers are Lua functions of this chunk, so skip those too).
local function err_handler(err)
  local i = dbg.getinfo(2, 'nSl')
  if i and i.what == 'C' then i = dbg.getinfo(3, 'nSl') end
  local level = 2
  while true do
    local f = dbg.getinfo(level, 'Sl')
    if not f then break end
    if f.what ~= 'C' and f.what ~= 'tail' and f.source ~= BOOT then i = f break end
    level = level + 1
  end
  if type(err) ~= 'table' or proxies[err] then err = { err = 'ERR ' .. tostring(err) } end
  if i then
    real_rawset(err, 'source', i.source)
    real_rawset(err, 'line', i.currentline)
  end
  return err
end

local function raise(v) error(v, 0) end

local redis = {}
redis.call, redis.pcall, redis.setresp, redis.log, redis.sha1hex, redis.acl_check_cmd =
  libs.call, libs.pcall, libs.setresp, libs.log, libs.sha1hex, libs.acl_check_cmd
function redis.error_reply(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  local code, msg
  local space = e:find(' ', 1, true)
  if space then code, msg = e:sub(2, space - 1), e:sub(space + 1) else code, msg = 'ERR', e:sub(2) end
  msg = msg:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return { err = code .. ' ' .. msg }
end
function redis.status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  return { ok = s }
end
function redis.set_repl(...)
  if select('#', ...) ~= 1 then raise({ err = 'ERR redis.set_repl() requires one argument.' }) end
  local flags = ...
  if type(flags) ~= 'number' or flags < 0 or flags > 3 or flags % 1 ~= 0 then
    raise({ err = 'ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.' })
  end
  -- Scripts replicate by their effects; there is nothing else to select.
end
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = libs.version, libs.version_num

local sandbox = {}

for _, name in ipairs({ 'assert', 'collectgarbage', 'error', 'gcinfo', 'getmetatable',
  'rawequal', 'select', 'setmetatable', 'tonumber', 'tostring', 'type', 'unpack', 'xpcall',
  '_VERSION' }) do
  env[name] = G[name]
end
-- Redis's pcall hands the script the message of an error table (e.g. from redis.call) as a
-- plain string.
local real_pcall = pcall
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type(e) == 'table' and not proxies[e] then
    local msg = real_rawget(e, 'err')
    if type(msg) == 'string' then e = msg end
  end
  return false, e
end
env.pcall = function(...) return pcall_result(real_pcall(...)) end
-- Read access sees through the read-only proxies; writes to protected tables are refused.
env.pairs = function(t) return pairs(proxies[t] or t) end
env.ipairs = function(t) return ipairs(proxies[t] or t) end
env.next = function(t, k) return real_next(proxies[t] or t, k) end
env.rawget = function(t, k) return real_rawget(proxies[t] or t, k) end
env.rawset = libs.bind(function(t, k, v)
  if proxies[t] then return false, { err = 'ERR Attempt to modify a readonly table' } end
  return true, real_rawset(t, k, v)
end)
-- Code compiled by a script runs in the sandbox too.
env.loadstring = function(s, name)
  local f, e = real_loadstring(s, name)
  if f then real_setfenv(f, sandbox) end
  return f, e
end
env.load = function(fn, name)
  local f, e = real_load(fn, name)
  if f then real_setfenv(f, sandbox) end
  return f, e
end
env.coroutine = readonly(G.coroutine)
env.string = readonly(G.string)
env.table = readonly(G.table)
env.math = readonly(libs.math)
env.bit = readonly(libs.bit)
env.struct = readonly(libs.struct)
env.cjson = readonly(libs.cjson)
env.cmsgpack = readonly(libs.cmsgpack)
env.redis = readonly(redis)
env.__redis__err__handler = err_handler

proxies[sandbox] = env
setmetatable(sandbox, {
  __index = function(_, k)
    local v = env[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
  __metatable = false,
})
env._G = sandbox

local function run(f) return xpcall(f, err_handler) end
-- Functions (FCALL) get KEYS and ARGV as arguments; this frame is skipped by err_handler.
local function run_with(f, keys, args) return xpcall(function() return f(keys, args) end, err_handler) end
return sandbox, run, run_with
