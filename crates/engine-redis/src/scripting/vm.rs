//! [`Scripting`]: the Lua VM, its sandbox and `redis` API, the script cache and one script run.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use sha1::{Digest, Sha1};

use super::control::ScriptControl;
use super::convert::{lua_to_reply, reply_to_lua};
use super::functions::Registered;
use super::{
    lib_bit, lib_cjson, lib_cmsgpack, lib_math, lib_struct, CallOptions, LogLevel, ScriptHost,
    ScriptReply,
};

/// The Redis version scripts see in `redis.REDIS_VERSION`.
const REDIS_VERSION: &str = "7.0.15";
const REDIS_VERSION_NUM: i64 = 0x07000f;
/// How often (in VM instructions) a running script checks for SCRIPT KILL, as Redis does.
const HOOK_EVERY: u32 = 100_000;
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
/// The error library code gets when it runs past FUNCTION LOAD's time limit.
pub(crate) const LOAD_TIMEOUT: &str = "FUNCTION LOAD timeout";

/// An error a Rust library function raises in Lua, at its caller's position (see `wrap_raw`).
pub(crate) enum LibError {
    Msg(String),
    Lua(mlua::Error),
}

impl From<mlua::Error> for LibError {
    fn from(e: mlua::Error) -> Self {
        LibError::Lua(e)
    }
}

impl LibError {
    pub(crate) fn msg(m: impl Into<String>) -> Self {
        LibError::Msg(m.into())
    }
}

pub(crate) type LibResult = Result<MultiValue, LibError>;
pub(crate) type LibFn = fn(&Lua, MultiValue) -> LibResult;

/// Script flags from a `#!lua flags=...` first line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ScriptFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
}

struct Cached {
    function: Function,
    flags: ScriptFlags,
}

/// One Lua VM with its sandbox.
struct Vm {
    lua: Lua,
    env: Table,
    sandbox: Table,
    /// Environments of the `redis.call`/`pcall`/`setresp`/`log` trampolines: each run puts its
    /// host-bound raw function under `raw`.
    bridge: Bridge,
    runner: Function,
    /// `runner` for a function called with (keys, args).
    runner_with: Function,
}

struct Bridge {
    call: Table,
    pcall: Table,
    setresp: Table,
    log: Table,
    acl_check: Table,
}

impl Bridge {
    fn tables(&self) -> [&Table; 5] {
        [
            &self.call,
            &self.pcall,
            &self.setresp,
            &self.log,
            &self.acl_check,
        ]
    }
}

/// The scripting state of a node: one Lua VM and the script cache (Redis keeps exactly one).
/// The functions registry keeps a second one, made by [`Scripting::for_functions`].
pub struct Scripting {
    vm: Vm,
    cache: HashMap<String, Cached>,
    control: Arc<ScriptControl>,
    functions_env: Option<FunctionEnv>,
}

/// What a functions VM adds (built by `functions.lua`): the globals library code and its
/// callbacks run with, the loader, and the trampoline environments of `register_function`
/// and the load-time `redis.log`.
struct FunctionEnv {
    globals: Table,
    loader: Function,
    register: Table,
    log: Table,
}

/// Lowercase hex SHA1 of `data`.
pub fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

impl Scripting {
    pub fn new(control: Arc<ScriptControl>) -> mlua::Result<Self> {
        Ok(Scripting {
            vm: Vm::new(&control)?,
            cache: HashMap::new(),
            control,
            functions_env: None,
        })
    }

    /// A VM for function libraries (Redis runs them in a Lua state of their own).
    pub fn for_functions(control: Arc<ScriptControl>) -> mlua::Result<Self> {
        let mut s = Self::new(control)?;
        let lua = &s.vm.lua;
        let setfenv: Function = {
            let debug: Table = lua.globals().raw_get("debug")?;
            debug.raw_get("setfenv")?
        };
        let bind = || -> mlua::Result<(Function, Table)> {
            // SAFETY: `trampoline` only uses the Lua C API on its own stack.
            let f = unsafe { lua.create_c_function(trampoline)? };
            let fenv = lua.create_table()?;
            setfenv.call::<()>((f.clone(), fenv.clone()))?;
            Ok((f, fenv))
        };
        let (register_fn, register) = bind()?;
        let (log_fn, log) = bind()?;
        let (globals, loader): (Table, Function) = lua
            .load(include_str!("functions.lua"))
            .set_name("=redis")
            .call((
                s.vm.env.clone(),
                register_fn,
                log_fn,
                REDIS_VERSION,
                REDIS_VERSION_NUM,
            ))?;
        s.functions_env = Some(FunctionEnv {
            globals,
            loader,
            register,
            log,
        });
        Ok(s)
    }

    /// FUNCTION LOAD's engine part: compiles library code (without its `#!lua` line) and runs
    /// it once with the load-time globals, for at most `timeout_ms`; returns the functions it
    /// registered, or the error reply text.
    pub(crate) fn load_library(
        &mut self,
        code: &[u8],
        host: &mut dyn ScriptHost,
        timeout_ms: u64,
    ) -> Result<Vec<Registered>, String> {
        let Some(fenv) = &self.functions_env else {
            return Err("ERR not a functions VM".into());
        };
        let chunk = self
            .vm
            .lua
            .load(code)
            .set_name("@user_function")
            .set_environment(fenv.globals.clone())
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("ERR Error compiling function: {msg}")
            })?;
        let registered = RefCell::new(Vec::<Registered>::new());
        let host = RefCell::new(host);
        self.control.start_load(timeout_ms);
        let result = self.vm.lua.scope(|scope| {
            let register =
                scope.create_function(
                    |lua, args: MultiValue| match super::functions::register_args(lua, args) {
                        Ok(r) => {
                            let mut list = registered.borrow_mut();
                            if list.iter().any(|f| f.name == r.name) {
                                return fail(lua, "ERR Function already exists in the library");
                            }
                            list.push(r);
                            Ok((true, Value::Nil))
                        }
                        Err(msg) => fail(lua, &format!("ERR {msg}")),
                    },
                )?;
            let log = scope.create_function_mut(|lua, args: MultiValue| {
                let mut host = host.borrow_mut();
                bridge_log(lua, args, &mut **host)
            })?;
            fenv.register.raw_set("raw", register)?;
            fenv.log.raw_set("raw", log)?;
            fenv.loader.call::<(bool, Option<String>)>(chunk)
        });
        let timed_out = self.control.load_timed_out();
        self.control.finish_load();
        let _ = fenv.register.raw_set("raw", Value::Nil);
        let _ = fenv.log.raw_set("raw", Value::Nil);
        let fail_msg = match result {
            _ if timed_out => format!("ERR {LOAD_TIMEOUT}"),
            Ok((true, _)) => return Ok(registered.into_inner()),
            Ok((false, msg)) => msg.unwrap_or_else(|| "ERR unknown error".into()),
            Err(e) => format!("ERR {e}"),
        };
        Err(format!("ERR Error registering functions: {fail_msg}"))
    }

    /// Bytes the Lua VM has allocated.
    pub fn used_memory(&self) -> usize {
        self.vm.lua.used_memory()
    }

    /// The handle other connections use for BUSY and SCRIPT KILL.
    pub fn control(&self) -> &Arc<ScriptControl> {
        &self.control
    }

    /// Whether a script with this SHA1 (any case) is cached.
    pub fn exists(&self, sha: &[u8]) -> bool {
        self.cache
            .contains_key(&String::from_utf8_lossy(sha).to_ascii_lowercase())
    }

    /// SCRIPT FLUSH: forget every script and start a fresh VM (as Redis does).
    pub fn flush(&mut self) -> mlua::Result<()> {
        self.cache.clear();
        self.vm = Vm::new(&self.control)?;
        Ok(())
    }

    /// Compiles and caches `body` (SCRIPT LOAD, and EVAL before running); returns its SHA1.
    pub fn load(&mut self, body: &[u8]) -> Result<String, ScriptReply> {
        let sha = sha1_hex(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, code_start) = parse_shebang(body)?;
        let function = self
            .vm
            .lua
            .load(&body[code_start..])
            .set_name("@user_script")
            .set_environment(self.vm.sandbox.clone())
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                ScriptReply::Error(format!("ERR Error compiling script (new function): {msg}"))
            })?;
        self.cache.insert(sha.clone(), Cached { function, flags });
        Ok(sha)
    }

    /// Runs the cached script `sha` (lowercase) with KEYS and ARGV; `read_only` for EVAL_RO.
    pub fn run(
        &mut self,
        sha: &str,
        host: &mut dyn ScriptHost,
        keys: &[&[u8]],
        args: &[&[u8]],
        read_only: bool,
    ) -> ScriptReply {
        let Some(script) = self.cache.get(sha) else {
            return ScriptReply::err("NOSCRIPT No matching script. Please use EVAL.");
        };
        let function = script.function.clone();
        let opts = CallOptions {
            resp: 2,
            read_only: read_only || script.flags.no_writes,
            allow_oom: script.flags.allow_oom,
        };
        if let Err(e) = self.vm.set_keys_and_args(keys, args) {
            return ScriptReply::Error(format!("ERR {e}"));
        }
        self.execute(function, sha, opts, host, None)
    }

    /// Runs a function library's callback (FCALL) with `keys` and `args` as its arguments;
    /// `name` labels its errors.
    pub(crate) fn run_callback(
        &mut self,
        function: Function,
        running: super::control::RunningFunction,
        opts: CallOptions,
        host: &mut dyn ScriptHost,
        keys: &[&[u8]],
        args: &[&[u8]],
    ) -> ScriptReply {
        let list = |items: &[&[u8]]| -> mlua::Result<Table> {
            let t = self.vm.lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, self.vm.lua.create_string(item)?)?;
            }
            Ok(t)
        };
        let (keys, args) = match (list(keys), list(args)) {
            (Ok(k), Ok(a)) => (k, a),
            (Err(e), _) | (_, Err(e)) => return ScriptReply::Error(format!("ERR {e}")),
        };
        let name = running.name.clone();
        self.control.set_function(running);
        self.execute(function, &name, opts, host, Some((keys, args)))
    }

    /// One run of `function` with the `redis.*` bridge bound to `host`: EVAL's (KEYS and ARGV
    /// already set as globals) or, with `call_args`, a function's.
    fn execute(
        &self,
        function: Function,
        label: &str,
        opts: CallOptions,
        host: &mut dyn ScriptHost,
        call_args: Option<(Table, Table)>,
    ) -> ScriptReply {
        let sha = label;
        let opts = Cell::new(opts);
        let vm = &self.vm;
        let control = &*self.control;
        let host = RefCell::new(host);
        control.start();
        let result = vm.lua.scope(|scope| {
            let call = scope.create_function_mut(|lua, args: MultiValue| {
                let mut host = host.borrow_mut();
                bridge_call(lua, args, &mut **host, opts.get(), control, true)
            })?;
            let pcall = scope.create_function_mut(|lua, args: MultiValue| {
                let mut host = host.borrow_mut();
                bridge_call(lua, args, &mut **host, opts.get(), control, false)
            })?;
            let setresp =
                scope.create_function(|lua, args: MultiValue| bridge_setresp(lua, args, &opts))?;
            let log = scope.create_function_mut(|lua, args: MultiValue| {
                let mut host = host.borrow_mut();
                bridge_log(lua, args, &mut **host)
            })?;
            vm.bridge.call.raw_set("raw", call)?;
            vm.bridge.pcall.raw_set("raw", pcall)?;
            vm.bridge.setresp.raw_set("raw", setresp)?;
            vm.bridge.log.raw_set("raw", log)?;
            let acl_check = scope.create_function_mut(|lua, args: MultiValue| {
                let mut host = host.borrow_mut();
                bridge_acl_check(lua, args, &mut **host)
            })?;
            vm.bridge.acl_check.raw_set("raw", acl_check)?;
            let mut rets: MultiValue = match call_args {
                None => vm.runner.call(function)?,
                Some(args) => vm.runner_with.call((function, args.0, args.1))?,
            };
            let ok = matches!(rets.pop_front(), Some(Value::Boolean(true)));
            let value = rets.pop_front().unwrap_or(Value::Nil);
            Ok(if ok {
                lua_to_reply(&value, opts.get().resp)
            } else {
                script_error(&value, sha, control.kill_requested())
            })
        });
        control.finish();
        for t in vm.bridge.tables() {
            let _ = t.raw_set("raw", Value::Nil);
        }
        result
            .unwrap_or_else(|e| ScriptReply::Error(format!("ERR Error running script {sha}: {e}")))
    }
}

impl Vm {
    fn new(control: &Arc<ScriptControl>) -> mlua::Result<Vm> {
        // The debug library is needed by the error handler; the bootstrap hides it from scripts.
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG;
        // SAFETY: loading `debug` is what `unsafe_new_with` guards; scripts never see it.
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::default()) };
        let env = lua.create_table()?;
        let lib_table = lua.create_table()?;
        let debug: Table = lua.globals().raw_get("debug")?;
        let setfenv: Function = debug.raw_get("setfenv")?;
        // A fresh C trampoline whose environment holds `raw` (see `trampoline`).
        let bind = |raw: Option<Function>| -> mlua::Result<(Function, Table)> {
            // SAFETY: `trampoline` only uses the Lua C API on its own stack.
            let f = unsafe { lua.create_c_function(trampoline)? };
            let fenv = lua.create_table()?;
            if let Some(raw) = raw {
                fenv.raw_set("raw", raw)?;
            }
            setfenv.call::<()>((f.clone(), fenv.clone()))?;
            Ok((f, fenv))
        };
        let make = |entries: &[(&'static str, LibFn)]| -> mlua::Result<Table> {
            let t = lua.create_table()?;
            for &(name, f) in entries {
                let raw = lua
                    .create_function(move |lua, args: MultiValue| raw_result(lua, f(lua, args)))?;
                t.raw_set(name, bind(Some(raw))?.0)?;
            }
            Ok(t)
        };
        let mut bridge_tables = Vec::new();
        for name in ["call", "pcall", "setresp", "log", "acl_check_cmd"] {
            let (f, fenv) = bind(None)?;
            lib_table.raw_set(name, f)?;
            bridge_tables.push(fenv);
        }
        let [call, pcall, setresp, log, acl_check]: [Table; 5] =
            bridge_tables.try_into().expect("five bridge tables");
        let bridge = Bridge {
            call,
            pcall,
            setresp,
            log,
            acl_check,
        };
        let bit = make(lib_bit::FUNCTIONS)?;
        let structlib = make(lib_struct::FUNCTIONS)?;
        let cjson = make(lib_cjson::FUNCTIONS)?;
        lib_cjson::add_constants(&lua, &cjson)?;
        let cmsgpack = make(lib_cmsgpack::FUNCTIONS)?;
        lib_cmsgpack::add_constants(&lua, &cmsgpack)?;
        let math: Table = lua.globals().raw_get("math")?;
        let math_copy = lua.create_table()?;
        for pair in math.pairs::<Value, Value>() {
            let (k, v) = pair?;
            math_copy.raw_set(k, v)?;
        }
        let rand = make(lib_math::FUNCTIONS)?;
        lua.set_app_data(lib_math::Rand48::default());
        math_copy.raw_set("random", rand.raw_get::<Value>("random")?)?;
        math_copy.raw_set("randomseed", rand.raw_get::<Value>("randomseed")?)?;
        lib_table.raw_set("math", math_copy)?;
        lib_table.raw_set("bit", bit)?;
        lib_table.raw_set("struct", structlib)?;
        lib_table.raw_set("cjson", cjson)?;
        lib_table.raw_set("cmsgpack", cmsgpack)?;
        lib_table.raw_set("version", REDIS_VERSION)?;
        lib_table.raw_set("version_num", REDIS_VERSION_NUM)?;
        let sha1hex = lua.create_function(|lua, args: MultiValue| -> mlua::Result<MultiValue> {
            if args.len() != 1 {
                let (ok, err) = fail(lua, "ERR wrong number of arguments")?;
                return Ok(MultiValue::from_iter([Value::Boolean(ok), err]));
            }
            let v = args.into_iter().next().unwrap_or(Value::Nil);
            let bytes = lua
                .coerce_string(v)?
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default();
            Ok(MultiValue::from_iter([
                Value::Boolean(true),
                Value::String(lua.create_string(sha1_hex(&bytes))?),
            ]))
        })?;
        lib_table.raw_set("sha1hex", bind(Some(sha1hex))?.0)?;
        // For the bootstrap's own wrappers that must raise from a C frame (see `trampoline`).
        let setfenv_for_bind = setfenv.clone();
        let bind_fn = lua.create_function(move |lua, raw: Function| {
            // SAFETY: as above.
            let f = unsafe { lua.create_c_function(trampoline)? };
            let fenv = lua.create_table()?;
            fenv.raw_set("raw", raw)?;
            setfenv_for_bind.call::<()>((f.clone(), fenv))?;
            Ok(f)
        })?;
        lib_table.raw_set("bind", bind_fn)?;
        let (sandbox, runner, runner_with): (Table, Function, Function) = lua
            .load(include_str!("bootstrap.lua"))
            .set_name("=redis")
            .call((env.clone(), lib_table))?;
        let control = Arc::clone(control);
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_lua, _debug| {
                if control.kill_requested() {
                    Err(mlua::Error::RuntimeError(KILLED.into()))
                } else if control.load_timed_out() {
                    Err(mlua::Error::RuntimeError(LOAD_TIMEOUT.into()))
                } else {
                    Ok(VmState::Continue)
                }
            },
        );
        Ok(Vm {
            lua,
            env,
            sandbox,
            bridge,
            runner,
            runner_with,
        })
    }

    fn set_keys_and_args(&self, keys: &[&[u8]], args: &[&[u8]]) -> mlua::Result<()> {
        let list = |items: &[&[u8]]| -> mlua::Result<Table> {
            let t = self.lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, self.lua.create_string(item)?)?;
            }
            Ok(t)
        };
        self.env.raw_set("KEYS", list(keys)?)?;
        self.env.raw_set("ARGV", list(args)?)
    }
}

/// `#!lua [flags=a,b]` on the first line; returns the flags and where the code starts (at the
/// newline, so line numbers stay those of the body).
fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), ScriptReply> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), 0));
    }
    let end = memchr::memchr(b'\n', body)
        .ok_or_else(|| ScriptReply::err("ERR Invalid script shebang"))?;
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("#!");
    if engine != "#!lua" {
        return Err(ScriptReply::Error(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = ScriptFlags::default();
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(ScriptReply::Error(format!(
                "ERR Unknown lua shebang option: {part}"
            )));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => {
                    return Err(ScriptReply::Error(format!(
                        "ERR Unexpected flag in script shebang: {other}"
                    )))
                }
            }
        }
    }
    Ok((flags, end))
}

/// `true, values...` on success, `false, message` on a library error (see `trampoline`).
fn raw_result(lua: &Lua, r: LibResult) -> mlua::Result<MultiValue> {
    let mut out = MultiValue::new();
    match r {
        Ok(values) => {
            out.push_back(Value::Boolean(true));
            out.extend(values);
        }
        Err(LibError::Msg(m)) => {
            out.push_back(Value::Boolean(false));
            out.push_back(Value::String(lua.create_string(m)?));
        }
        Err(LibError::Lua(e)) => return Err(e),
    }
    Ok(out)
}

/// The C function behind every `redis.*` and library function. It calls the Rust function
/// stored as `raw` in its environment, which returns `true, values...` or `false, err`, and
/// raises `err` the way a C function of Redis would: a string with the caller's position
/// prepended (`luaL_error`), a table (a Redis error reply) as it is. Being a C function, it keeps
/// the calling script's frame on the stack even for `return redis.call(...)`, so errors report
/// the script's line as Redis does. No Rust value with a destructor lives in this frame, so
/// `lua_error`'s longjmp skips nothing that needs dropping.
unsafe extern "C-unwind" fn trampoline(state: *mut mlua::lua_State) -> std::os::raw::c_int {
    use mlua::ffi;
    let nargs = ffi::lua_gettop(state);
    ffi::lua_getfield(state, ffi::LUA_ENVIRONINDEX, c"raw".as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    if ffi::lua_toboolean(state, 1) == 0 {
        if ffi::lua_type(state, 2) == ffi::LUA_TSTRING {
            ffi::luaL_where(state, 1);
            ffi::lua_pushvalue(state, 2);
            ffi::lua_concat(state, 2);
        } else {
            ffi::lua_pushvalue(state, 2);
        }
        ffi::lua_error(state);
    }
    ffi::lua_gettop(state) - 1
}

/// `false, {err=...}` for the bridge wrappers to raise (call) or return (pcall).
fn fail(lua: &Lua, msg: &str) -> mlua::Result<(bool, Value)> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    Ok((false, Value::Table(t)))
}

fn bridge_call(
    lua: &Lua,
    args: MultiValue,
    host: &mut dyn ScriptHost,
    opts: CallOptions,
    control: &ScriptControl,
    raise: bool,
) -> mlua::Result<(bool, Value)> {
    let (ok, value) = bridge_call_inner(lua, args, host, opts, control)?;
    Ok((ok || !raise, value))
}

fn bridge_call_inner(
    lua: &Lua,
    args: MultiValue,
    host: &mut dyn ScriptHost,
    opts: CallOptions,
    control: &ScriptControl,
) -> mlua::Result<(bool, Value)> {
    let argv = match lua_args(lua, args)? {
        Ok(argv) => argv,
        Err(msg) => return fail(lua, msg),
    };
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let reply = host.call(&refs, &opts);
    if host.has_written() {
        control.mark_written();
    }
    match reply {
        ScriptReply::Error(e) => {
            let e = e.trim_end_matches(['\r', '\n']);
            // Redis keeps "CODE message"; a bare word gets the generic ERR code.
            if e.contains(' ') {
                fail(lua, e)
            } else {
                fail(lua, &format!("ERR {e}"))
            }
        }
        r => Ok((true, reply_to_lua(lua, &r, opts.resp)?)),
    }
}

/// The arguments of `redis.call` and friends as byte strings (numbers as Lua prints them), or
/// the error Redis raises for them.
fn lua_args(lua: &Lua, args: MultiValue) -> mlua::Result<Result<Vec<Vec<u8>>, &'static str>> {
    if args.is_empty() {
        return Ok(Err(
            "ERR Please specify at least one argument for this redis lib call",
        ));
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for a in args {
        match a {
            Value::String(s) => argv.push(s.as_bytes().to_vec()),
            n @ (Value::Integer(_) | Value::Number(_)) => argv.push(
                lua.coerce_string(n)?
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
            ),
            _ => {
                return Ok(Err(
                    "ERR Lua redis lib command arguments must be strings or integers",
                ))
            }
        }
    }
    Ok(Ok(argv))
}

fn bridge_acl_check(
    lua: &Lua,
    args: MultiValue,
    host: &mut dyn ScriptHost,
) -> mlua::Result<(bool, Value)> {
    let argv = match lua_args(lua, args)? {
        Ok(argv) => argv,
        Err(msg) => return fail(lua, msg),
    };
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    match host.acl_check(&refs) {
        Some(allowed) => Ok((true, Value::Boolean(allowed))),
        None => fail(lua, "ERR Invalid command passed to redis.acl_check_cmd()"),
    }
}

fn bridge_setresp(
    lua: &Lua,
    args: MultiValue,
    opts: &Cell<CallOptions>,
) -> mlua::Result<(bool, Value)> {
    if args.len() != 1 {
        return fail(lua, "ERR redis.setresp() requires one argument.");
    }
    let resp = match args.front() {
        Some(Value::Integer(i)) => *i as f64,
        Some(Value::Number(n)) => *n,
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0.0),
        _ => 0.0,
    };
    if resp != 2.0 && resp != 3.0 {
        return fail(lua, "ERR RESP version must be 2 or 3.");
    }
    let mut o = opts.get();
    o.resp = resp as u8;
    opts.set(o);
    Ok((true, Value::Nil))
}

fn bridge_log(
    lua: &Lua,
    args: MultiValue,
    host: &mut dyn ScriptHost,
) -> mlua::Result<(bool, Value)> {
    if args.len() < 2 {
        return fail(lua, "ERR redis.log() requires two arguments or more.");
    }
    let mut it = args.into_iter();
    let level = match it.next() {
        Some(Value::Integer(i)) => i,
        Some(Value::Number(n)) => n as i64,
        _ => return fail(lua, "ERR First argument must be a number"),
    };
    let level = match level {
        0 => LogLevel::Debug,
        1 => LogLevel::Verbose,
        2 => LogLevel::Notice,
        3 => LogLevel::Warning,
        _ => return fail(lua, "ERR Invalid debug level."),
    };
    let mut message = Vec::new();
    for (i, v) in it.enumerate() {
        if let Some(s) = lua.coerce_string(v)? {
            if i > 0 {
                message.push(b' ');
            }
            message.extend_from_slice(&s.as_bytes());
        }
    }
    host.log(level, &message);
    Ok((true, Value::Nil))
}

/// The reply for a script that raised: Redis's `-<err> script: <sha>, on <source>:<line>.`
fn script_error(err: &Value, sha: &str, killed: bool) -> ScriptReply {
    let Value::Table(t) = err else {
        return ScriptReply::Error(format!("ERR Error running script {sha}: execution failure"));
    };
    let msg = if killed {
        KILLED.to_string()
    } else {
        match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy().replace(['\r', '\n'], " "),
            _ => "ERR unknown error".to_string(),
        }
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(source), Some(line)) => {
            ScriptReply::Error(format!("{msg} script: {sha}, on {source}:{line}."))
        }
        _ => ScriptReply::Error(msg),
    }
}
