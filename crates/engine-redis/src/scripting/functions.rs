//! Redis 7.0 Functions: libraries of Lua functions loaded with FUNCTION LOAD and called with
//! FCALL/FCALL_RO, kept in a registry beside (not inside) the EVAL script cache.
//!
//! A library is source text whose first line is `#!lua name=<library>`. Loading it runs the code
//! once in its own Lua VM (see `functions.lua`) where only `redis.register_function`,
//! `redis.log` and the version constants exist; each registered callback is kept with its flags
//! and description. A failed load changes nothing. The registry answers FUNCTION LIST, STATS,
//! DELETE, FLUSH and DUMP/RESTORE (payloads in redis's format, through the `rdb` crate), and its
//! library sources are what RDB snapshots save.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mlua::{Function, Lua, MultiValue, Value};

use super::control::RunningFunction;
use super::vm::Scripting;
use super::{CallOptions, ScriptControl, ScriptHost, ScriptReply};

/// How long library code may run at load time (Redis's `LOAD_TIMEOUT_MS`).
pub const LOAD_TIMEOUT_MS: u64 = 500;

const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// Function flags, in the order FUNCTION LIST shows them.
pub const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// A set of [`FLAG_NAMES`] (bit i is `FLAG_NAMES[i]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionFlags(u8);

impl FunctionFlags {
    pub fn parse(name: &str) -> Option<FunctionFlags> {
        FLAG_NAMES
            .iter()
            .position(|f| *f == name)
            .map(|i| FunctionFlags(1 << i))
    }
    pub fn no_writes(self) -> bool {
        self.0 & 1 != 0
    }
    pub fn allow_oom(self) -> bool {
        self.0 & 2 != 0
    }
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        FLAG_NAMES
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
    }
}

/// A function as `redis.register_function` registered it.
pub(crate) struct Registered {
    pub name: String,
    pub description: Option<Vec<u8>>,
    pub flags: FunctionFlags,
    pub callback: Function,
}

/// The `#!<engine> name=<library>` line of library code.
#[derive(Debug, PartialEq, Eq)]
pub struct LibraryMeta {
    pub engine: String,
    pub name: String,
    /// Where the code after the first line starts (at its newline, so line numbers hold).
    pub code_start: usize,
}

/// Redis's `functionExtractLibMetaData`: the error texts are redis's (without `ERR `).
pub fn parse_library_meta(code: &[u8]) -> Result<LibraryMeta, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = memchr::memchr(b'\n', code) else {
        return Err("Invalid library metadata".into());
    };
    let parts = match resp::request::split_args(&code[..end]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err("Invalid library metadata".into()),
    };
    let engine = String::from_utf8_lossy(&parts[0][2..]).into_owned();
    let mut name = None;
    for part in parts.iter().skip(1) {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let name = name.ok_or_else(|| "Library name was not given".to_string())?;
    Ok(LibraryMeta {
        engine,
        name,
        code_start: end,
    })
}

/// Library and function names: `[a-zA-Z0-9_]+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The arguments of `redis.register_function`: `(name, callback)` or the named-argument table
/// `{function_name=, callback=, flags={...}, description=}`. Errors are redis's texts.
pub(crate) fn register_args(lua: &Lua, args: MultiValue) -> Result<Registered, String> {
    // Like `lua_isstring`, numbers count as strings.
    let string = |v: Value| -> Option<Vec<u8>> {
        match v {
            Value::String(_) | Value::Integer(_) | Value::Number(_) => lua
                .coerce_string(v)
                .ok()
                .flatten()
                .map(|s| s.as_bytes().to_vec()),
            _ => None,
        }
    };
    let mut args: Vec<Value> = args.into_iter().collect();
    let (name, callback, flags, description) = match args.len() {
        1 => {
            let Value::Table(t) = args.remove(0) else {
                return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
            };
            let (mut name, mut callback, mut flags, mut description) =
                (None, None, FunctionFlags::default(), None);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                let Value::String(k) = k else {
                    return Err(
                        "named argument key given to redis.register_function is not a string"
                            .into(),
                    );
                };
                let key = k.to_string_lossy().to_ascii_lowercase();
                match key.as_str() {
                    "function_name" => match string(v) {
                        Some(s) => name = Some(String::from_utf8_lossy(&s).into_owned()),
                        _ => return Err("function_name argument given to redis.register_function must be a string".into()),
                    },
                    "description" => match string(v) {
                        Some(s) => description = Some(s),
                        _ => return Err("description argument given to redis.register_function must be a string".into()),
                    },
                    "callback" => match v {
                        Value::Function(f) => callback = Some(f),
                        _ => return Err("callback argument given to redis.register_function must be a function".into()),
                    },
                    "flags" => {
                        let Value::Table(list) = v else {
                            return Err("flags argument to redis.register_function must be a table representing function flags".into());
                        };
                        for flag in list.sequence_values::<Value>() {
                            let parsed = match flag.map_err(|e| e.to_string())? {
                                Value::String(s) => FunctionFlags::parse(&s.to_string_lossy()),
                                _ => None,
                            };
                            match parsed {
                                Some(f) => flags.0 |= f.0,
                                None => return Err("unknown flag given".into()),
                            }
                        }
                    }
                    _ => return Err("unknown argument given to redis.register_function".into()),
                }
            }
            let name = name.ok_or("redis.register_function must get a function name argument")?;
            let callback =
                callback.ok_or("redis.register_function must get a callback argument")?;
            (name, callback, flags, description)
        }
        2 => {
            let callback = match args.pop() {
                Some(Value::Function(f)) => f,
                _ => {
                    return Err(
                        "second argument to redis.register_function must be a function".into(),
                    )
                }
            };
            let name = match args.pop().and_then(string) {
                Some(s) => String::from_utf8_lossy(&s).into_owned(),
                _ => {
                    return Err("first argument to redis.register_function must be a string".into())
                }
            };
            (name, callback, FunctionFlags::default(), None)
        }
        _ => return Err("wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    Ok(Registered {
        name,
        description,
        flags,
        callback,
    })
}

/// The host library code runs with when it is loaded outside a command (from an RDB file):
/// library code cannot reach `redis.call` at load time, so only `redis.log` arrives here.
pub struct LoadHost;

impl ScriptHost for LoadHost {
    fn call(&mut self, _argv: &[&[u8]], _opts: &CallOptions) -> ScriptReply {
        ScriptReply::err("ERR redis.call is not available while loading libraries")
    }
    fn has_written(&self) -> bool {
        false
    }
    fn log(&mut self, _level: super::LogLevel, message: &[u8]) {
        eprintln!(
            "{}:M * {}",
            std::process::id(),
            String::from_utf8_lossy(message)
        );
    }
    fn acl_check(&mut self, _argv: &[&[u8]]) -> Option<bool> {
        None
    }
}

/// One loaded library.
pub struct Library {
    pub name: String,
    /// The whole source, `#!lua` line included (what FUNCTION LIST WITHCODE, DUMP and RDB
    /// snapshots carry).
    pub code: Vec<u8>,
    functions: BTreeMap<String, Registered>,
}

/// Server state that refuses to run a function without `no-writes` (computed by the engine
/// only for such functions).
#[derive(Debug, Clone, Copy, Default)]
pub struct Refusals {
    /// This node is a read-only replica and the caller is not its primary.
    pub readonly_replica: bool,
    /// Used memory is over `maxmemory` (and the function lacks `allow-oom`).
    pub oom: bool,
}

/// How FUNCTION RESTORE treats libraries that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

/// Every loaded library and the function name index, with the Lua VM their callbacks live in.
#[derive(Default)]
pub struct Functions {
    vm: Option<Scripting>,
    libraries: BTreeMap<String, Library>,
    /// Function name, lowercased (redis looks functions up ignoring case) -> its library and
    /// its name as registered.
    index: HashMap<String, (String, String)>,
}

impl Functions {
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }

    pub fn function_count(&self) -> usize {
        self.index.len()
    }

    /// Bytes the functions' Lua VM uses (INFO `used_memory_vm_functions`).
    pub fn vm_memory(&self) -> usize {
        self.vm.as_ref().map_or(0, Scripting::used_memory)
    }

    /// What the registry keeps besides the VM: library sources and names (INFO
    /// `used_memory_functions`).
    pub fn overhead(&self) -> usize {
        self.libraries
            .values()
            .map(|l| {
                l.code.len()
                    + l.name.len()
                    + l.functions
                        .values()
                        .map(|f| f.name.len() * 2 + f.description.as_ref().map_or(0, Vec::len))
                        .sum::<usize>()
            })
            .sum()
    }

    /// FUNCTION FLUSH: every library goes, and the VM with them.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.index.clear();
        self.vm = None;
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, name: &[u8]) -> Result<(), ScriptReply> {
        let name = String::from_utf8_lossy(name);
        let lib = self
            .libraries
            .remove(name.as_ref())
            .ok_or_else(|| ScriptReply::err("ERR Library not found"))?;
        for f in lib.functions.keys() {
            self.index.remove(&f.to_ascii_lowercase());
        }
        Ok(())
    }

    /// `FUNCTION LOAD [REPLACE]`: returns the library name. `timeout_ms` 0 means no limit (a
    /// replicated or AOF-loaded command must not fail on timing).
    pub fn load(
        &mut self,
        control: &Arc<ScriptControl>,
        host: &mut dyn ScriptHost,
        code: &[u8],
        replace: bool,
        timeout_ms: u64,
    ) -> Result<String, ScriptReply> {
        let lib = self.compile(control, host, code, timeout_ms, !replace)?;
        if let Some(f) = lib.functions.keys().find(|f| {
            self.index
                .get(&f.to_ascii_lowercase())
                .is_some_and(|(owner, _)| *owner != lib.name)
        }) {
            return Err(ScriptReply::Error(format!(
                "ERR Function {f} already exists"
            )));
        }
        let name = lib.name.clone();
        self.link(lib);
        Ok(name)
    }

    /// Parses, checks and runs library code, without touching the registry. With
    /// `refuse_existing`, a library name already loaded is an error, reported before the code
    /// runs as redis does.
    fn compile(
        &mut self,
        control: &Arc<ScriptControl>,
        host: &mut dyn ScriptHost,
        code: &[u8],
        timeout_ms: u64,
        refuse_existing: bool,
    ) -> Result<Library, ScriptReply> {
        let meta = parse_library_meta(code).map_err(|e| ScriptReply::Error(format!("ERR {e}")))?;
        if !valid_name(&meta.name) {
            return Err(ScriptReply::Error(format!("ERR {BAD_NAME}")));
        }
        if !meta.engine.eq_ignore_ascii_case("lua") {
            return Err(ScriptReply::Error(format!(
                "ERR Engine '{}' not found",
                meta.engine
            )));
        }
        if refuse_existing && self.libraries.contains_key(&meta.name) {
            return Err(ScriptReply::Error(format!(
                "ERR Library '{}' already exists",
                meta.name
            )));
        }
        let vm = match &mut self.vm {
            Some(vm) => vm,
            None => {
                let vm = Scripting::for_functions(Arc::clone(control))
                    .map_err(|e| ScriptReply::Error(format!("ERR cannot start Lua: {e}")))?;
                self.vm.insert(vm)
            }
        };
        let registered = vm
            .load_library(&code[meta.code_start..], host, timeout_ms)
            .map_err(ScriptReply::Error)?;
        if registered.is_empty() {
            return Err(ScriptReply::err("ERR No functions registered"));
        }
        Ok(Library {
            name: meta.name,
            code: code.to_vec(),
            functions: registered
                .into_iter()
                .map(|r| (r.name.clone(), r))
                .collect(),
        })
    }

    /// Adds `lib`, replacing a library of the same name.
    fn link(&mut self, lib: Library) {
        if let Some(old) = self.libraries.remove(&lib.name) {
            for f in old.functions.keys() {
                self.index.remove(&f.to_ascii_lowercase());
            }
        }
        for f in lib.functions.keys() {
            self.index
                .insert(f.to_ascii_lowercase(), (lib.name.clone(), f.clone()));
        }
        self.libraries.insert(lib.name.clone(), lib);
    }

    /// The flags of function `name`, if it exists.
    pub fn flags_of(&self, name: &[u8]) -> Option<FunctionFlags> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        let (lib, name) = self.index.get(&name)?;
        Some(self.libraries[lib].functions[name].flags)
    }

    /// FCALL / FCALL_RO (`read_only`): `argv` is the whole command; `refusals` are the
    /// server's state that refuses a function that may write.
    pub fn fcall(
        &mut self,
        host: &mut dyn ScriptHost,
        argv: &[&[u8]],
        read_only: bool,
        refusals: Refusals,
    ) -> ScriptReply {
        let name = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
        let Some((lib, name)) = self.index.get(&name) else {
            return ScriptReply::err("ERR Function not found");
        };
        let f = &self.libraries[lib].functions[name];
        // A function that may write makes FCALL a deny-OOM write command (redis's
        // fcallGetCommandFlags): the dispatcher's errors, before the arguments are looked at.
        if !f.flags.no_writes() {
            if refusals.oom && !f.flags.allow_oom() {
                return ScriptReply::err("OOM command not allowed when used memory > 'maxmemory'.");
            }
            if refusals.readonly_replica {
                return ScriptReply::err("READONLY You can't write against a read only replica.");
            }
        }
        let numkeys = match crate::util::parse_i64(argv[2]) {
            Some(n) => n,
            None => return ScriptReply::err("ERR Bad number of keys provided"),
        };
        let rest = &argv[3..];
        if numkeys > rest.len() as i64 {
            return ScriptReply::err("ERR Number of keys can't be greater than number of args");
        }
        if numkeys < 0 {
            return ScriptReply::err("ERR Number of keys can't be negative");
        }
        if read_only && !f.flags.no_writes() {
            return ScriptReply::err(
                "ERR Can not execute a script with write flag using *_ro command.",
            );
        }
        let (keys, args) = rest.split_at(numkeys as usize);
        let opts = CallOptions {
            resp: 2,
            read_only: f.flags.no_writes(),
            allow_oom: f.flags.allow_oom(),
        };
        let callback = f.callback.clone();
        let running = RunningFunction {
            name: f.name.clone(),
            command: argv.iter().map(|a| a.to_vec()).collect(),
            libraries: self.libraries.len(),
            functions: self.index.len(),
        };
        let Some(vm) = self.vm.as_mut() else {
            return ScriptReply::err("ERR Function not found");
        };
        vm.run_callback(callback, running, opts, host, keys, args)
    }

    /// `FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern]` (arguments after LIST).
    pub fn list(&self, args: &[&[u8]]) -> ScriptReply {
        let mut with_code = false;
        let mut pattern: Option<&[u8]> = None;
        let mut i = 0;
        while i < args.len() {
            let a = args[i];
            if !with_code && a.eq_ignore_ascii_case(b"withcode") {
                with_code = true;
            } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
                if i + 1 >= args.len() {
                    return ScriptReply::err("ERR library name argument was not given");
                }
                i += 1;
                pattern = Some(args[i]);
            } else {
                return ScriptReply::Error(format!(
                    "ERR Unknown argument {}",
                    String::from_utf8_lossy(a)
                ));
            }
            i += 1;
        }
        let bulk = |s: &str| ScriptReply::Bulk(s.as_bytes().to_vec());
        let mut out = Vec::new();
        for lib in self.libraries.values() {
            if pattern.is_some_and(|p| !crate::util::glob_match(p, lib.name.as_bytes(), true)) {
                continue;
            }
            let functions = lib
                .functions
                .values()
                .map(|f| {
                    ScriptReply::Map(vec![
                        (bulk("name"), bulk(&f.name)),
                        (
                            bulk("description"),
                            f.description
                                .clone()
                                .map_or(ScriptReply::Nil, ScriptReply::Bulk),
                        ),
                        (
                            bulk("flags"),
                            ScriptReply::Set(
                                f.flags
                                    .names()
                                    .map(|n| ScriptReply::Status(n.into()))
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect();
            let mut fields = vec![
                (bulk("library_name"), bulk(&lib.name)),
                (bulk("engine"), bulk("LUA")),
                (bulk("functions"), ScriptReply::Array(functions)),
            ];
            if with_code {
                fields.push((bulk("library_code"), ScriptReply::Bulk(lib.code.clone())));
            }
            out.push(ScriptReply::Map(fields));
        }
        ScriptReply::Array(out)
    }

    /// FUNCTION DUMP: redis's payload (FUNCTION2 records, RDB version, CRC64).
    pub fn dump(&self) -> Vec<u8> {
        rdb::dump::encode_functions(self.libraries.values().map(|l| l.code.as_slice()))
    }

    /// FUNCTION RESTORE: all the payload's libraries are loaded or none.
    pub fn restore(
        &mut self,
        control: &Arc<ScriptControl>,
        host: &mut dyn ScriptHost,
        payload: &[u8],
        policy: RestorePolicy,
    ) -> Result<(), ScriptReply> {
        let sources = rdb::dump::decode_functions(payload).map_err(|e| match e {
            rdb::Error::UnsupportedVersion(_) | rdb::Error::ChecksumMismatch { .. } => {
                ScriptReply::err("ERR DUMP payload version or checksum are wrong")
            }
            _ => ScriptReply::err("ERR given type is not a function"),
        })?;
        self.load_all(control, host, &sources, policy)
    }

    /// Loads several libraries as one change (RESTORE, and an RDB file's libraries): on any
    /// error nothing changes.
    pub fn load_all(
        &mut self,
        control: &Arc<ScriptControl>,
        host: &mut dyn ScriptHost,
        sources: &[Vec<u8>],
        policy: RestorePolicy,
    ) -> Result<(), ScriptReply> {
        let mut libs: Vec<Library> = Vec::new();
        for code in sources {
            let lib = self.compile(control, host, code, 0, false)?;
            if libs.iter().any(|l| l.name == lib.name) {
                return Err(ScriptReply::Error(format!(
                    "ERR Library '{}' already exists",
                    lib.name
                )));
            }
            for other in &libs {
                if let Some(f) = lib
                    .functions
                    .keys()
                    .find(|f| other.functions.contains_key(*f))
                {
                    return Err(ScriptReply::Error(format!(
                        "ERR Function {f} already exists"
                    )));
                }
            }
            libs.push(lib);
        }
        if policy != RestorePolicy::Flush {
            let replaced: Vec<&str> = libs.iter().map(|l| l.name.as_str()).collect();
            for lib in &libs {
                if self.libraries.contains_key(&lib.name) && policy == RestorePolicy::Append {
                    return Err(ScriptReply::Error(format!(
                        "ERR Library {} already exists",
                        lib.name
                    )));
                }
                if let Some(f) = lib.functions.keys().find(|f| {
                    self.index
                        .get(&f.to_ascii_lowercase())
                        .is_some_and(|(owner, _)| !replaced.contains(&owner.as_str()))
                }) {
                    return Err(ScriptReply::Error(format!(
                        "ERR Function {f} already exists"
                    )));
                }
            }
        } else {
            self.libraries.clear();
            self.index.clear();
        }
        for lib in libs {
            self.link(lib);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_of_a_library() {
        let m = parse_library_meta(b"#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!(m.engine, "lua");
        assert_eq!(m.name, "mylib");
        assert_eq!(m.code_start, 16);
        let m = parse_library_meta(b"#!LUA NAME=\"a b\"\n").unwrap();
        assert_eq!((m.engine.as_str(), m.name.as_str()), ("LUA", "a b"));
    }

    #[test]
    fn metadata_errors_are_redis_texts() {
        let e = |c: &[u8]| parse_library_meta(c).unwrap_err();
        assert_eq!(e(b"lua name=x\n"), "Missing library metadata");
        assert_eq!(e(b"#!lua name=x"), "Invalid library metadata");
        assert_eq!(e(b"#!lua name=\"x\n"), "Invalid library metadata");
        assert_eq!(e(b"#!lua\n"), "Library name was not given");
        assert_eq!(
            e(b"#!lua foo=bar\n"),
            "Invalid metadata value given: foo=bar"
        );
        assert_eq!(
            e(b"#!lua name=a name=b\n"),
            "Invalid metadata value, name argument was given multiple times"
        );
    }

    #[test]
    fn names() {
        assert!(valid_name("a_B9"));
        assert!(!valid_name(""));
        assert!(!valid_name("a-b"));
        assert!(!valid_name("a b"));
    }

    #[test]
    fn flags_in_list_order() {
        let mut f = FunctionFlags::default();
        for n in ["no-cluster", "no-writes"] {
            f.0 |= FunctionFlags::parse(n).unwrap().0;
        }
        assert_eq!(f.names().collect::<Vec<_>>(), ["no-writes", "no-cluster"]);
        assert!(f.no_writes() && !f.allow_oom());
        assert_eq!(FunctionFlags::parse("No-Writes"), None);
    }
}
