//! Unit tests over a tiny in-memory host; replies and error texts are those redis-server 7.0.15
//! gives for the same scripts (captured with redis-cli).

use std::collections::HashMap;
use std::sync::Arc;

use super::*;

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// Strings and hashes, enough commands to exercise the bridge.
#[derive(Default)]
struct MemHost {
    strings: HashMap<Vec<u8>, Vec<u8>>,
    hashes: HashMap<Vec<u8>, Fields>,
    wrote: bool,
    logs: Vec<(LogLevel, Vec<u8>)>,
}

impl ScriptHost for MemHost {
    fn call(&mut self, argv: &[&[u8]], opts: &CallOptions) -> ScriptReply {
        let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
        let write = matches!(name.as_str(), "set" | "incr" | "hset" | "del");
        if write && opts.read_only {
            return ScriptReply::err("ERR Write commands are not allowed from read-only scripts.");
        }
        match (name.as_str(), argv.len()) {
            ("ping", 1) => ScriptReply::Status("PONG".into()),
            ("get", 2) => self
                .strings
                .get(argv[1])
                .cloned()
                .map(ScriptReply::Bulk)
                .unwrap_or(ScriptReply::Nil),
            ("set", 3) => {
                self.wrote = true;
                self.strings.insert(argv[1].to_vec(), argv[2].to_vec());
                ScriptReply::Status("OK".into())
            }
            ("incr", 2) => {
                let cur = self
                    .strings
                    .get(argv[1])
                    .cloned()
                    .unwrap_or_else(|| b"0".to_vec());
                match String::from_utf8_lossy(&cur).parse::<i64>() {
                    Ok(n) => {
                        self.wrote = true;
                        self.strings
                            .insert(argv[1].to_vec(), (n + 1).to_string().into_bytes());
                        ScriptReply::Integer(n + 1)
                    }
                    Err(_) => ScriptReply::err("ERR value is not an integer or out of range"),
                }
            }
            ("hset", 4) => {
                self.wrote = true;
                self.hashes
                    .entry(argv[1].to_vec())
                    .or_default()
                    .push((argv[2].to_vec(), argv[3].to_vec()));
                ScriptReply::Integer(1)
            }
            ("hgetall", 2) => {
                let pairs = self.hashes.get(argv[1]).cloned().unwrap_or_default();
                if opts.resp == 3 {
                    ScriptReply::Map(
                        pairs
                            .into_iter()
                            .map(|(f, v)| (ScriptReply::Bulk(f), ScriptReply::Bulk(v)))
                            .collect(),
                    )
                } else {
                    ScriptReply::Array(
                        pairs
                            .into_iter()
                            .flat_map(|(f, v)| [ScriptReply::Bulk(f), ScriptReply::Bulk(v)])
                            .collect(),
                    )
                }
            }
            ("get" | "set" | "incr" | "hset" | "hgetall" | "ping", _) => {
                ScriptReply::err("ERR Wrong number of args calling Redis command from script")
            }
            _ => ScriptReply::err("ERR Unknown Redis command called from script"),
        }
    }

    fn has_written(&self) -> bool {
        self.wrote
    }

    fn log(&mut self, level: LogLevel, message: &[u8]) {
        self.logs.push((level, message.to_vec()));
    }

    fn acl_check(&mut self, argv: &[&[u8]]) -> Option<bool> {
        let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
        ["ping", "get", "set", "incr", "hset", "hgetall"]
            .contains(&name.as_str())
            .then_some(true)
    }
}

fn new() -> Scripting {
    Scripting::new(Arc::new(ScriptControl::default())).unwrap()
}

fn eval(
    s: &mut Scripting,
    host: &mut MemHost,
    body: &str,
    keys: &[&str],
    args: &[&str],
) -> ScriptReply {
    let mut argv: Vec<&[u8]> = vec![b"EVAL", body.as_bytes()];
    let n = keys.len().to_string();
    argv.push(n.as_bytes());
    argv.extend(keys.iter().map(|k| k.as_bytes()));
    argv.extend(args.iter().map(|a| a.as_bytes()));
    eval_command(s, host, &argv, EvalMode::ReadWrite)
}

fn run(body: &str) -> ScriptReply {
    eval(&mut new(), &mut MemHost::default(), body, &[], &[])
}

fn bulk(s: &str) -> ScriptReply {
    ScriptReply::Bulk(s.as_bytes().to_vec())
}

fn err_at(msg: &str, body: &str, line: u32) -> ScriptReply {
    ScriptReply::Error(format!(
        "{msg} script: {}, on @user_script:{line}.",
        super::vm::sha1_hex(body.as_bytes())
    ))
}

#[test]
fn lua_to_redis_conversions() {
    use ScriptReply::*;
    assert_eq!(run("return 3.99"), Integer(3));
    assert_eq!(run("return -3.99"), Integer(-3));
    assert_eq!(run("return 'x'"), bulk("x"));
    assert_eq!(run("return true"), Integer(1));
    assert_eq!(run("return false"), Nil);
    assert_eq!(run("return nil"), Nil);
    assert_eq!(
        run("return {1,2,nil,4}"),
        Array(vec![Integer(1), Integer(2)])
    );
    assert_eq!(
        run("return {1,2,3,'ciao',{1,2}}"),
        Array(vec![
            Integer(1),
            Integer(2),
            Integer(3),
            bulk("ciao"),
            Array(vec![Integer(1), Integer(2)])
        ])
    );
    assert_eq!(run("return {ok='FINE'}"), Status("FINE".into()));
    assert_eq!(
        run("return redis.status_reply('FINE')"),
        Status("FINE".into())
    );
    assert_eq!(
        run("return redis.error_reply('My Error')"),
        ScriptReply::err("My Error")
    );
    assert_eq!(
        run("return redis.error_reply('oops')"),
        ScriptReply::err("ERR oops")
    );
    assert_eq!(run("return {err='oops'}"), ScriptReply::err("oops"));
    assert_eq!(
        run("return redis.error_reply(3)"),
        ScriptReply::err("ERR wrong number or type of arguments")
    );
    assert_eq!(run("return {double=3.5}"), Double(3.5));
    assert_eq!(
        run("local t = {} t[1] = t return t"),
        ScriptReply::err("ERR reached lua stack limit")
    );
}

#[test]
fn redis_to_lua_conversions() {
    let mut s = new();
    let mut h = MemHost::default();
    assert_eq!(
        eval(
            &mut s,
            &mut h,
            "return redis.call('get','nokey') == false",
            &[],
            &[]
        ),
        ScriptReply::Integer(1)
    );
    assert_eq!(
        eval(&mut s, &mut h, "return redis.call('ping').ok", &[], &[]),
        bulk("PONG")
    );
    assert_eq!(
        eval(
            &mut s,
            &mut h,
            "return type(redis.call('incr','n'))",
            &[],
            &[]
        ),
        bulk("number")
    );
    assert_eq!(
        eval(
            &mut s,
            &mut h,
            "redis.call('set',KEYS[1],ARGV[1]) return redis.call('get',KEYS[1])",
            &["k"],
            &["v"]
        ),
        bulk("v")
    );
    assert_eq!(
        eval(&mut s, &mut h, "return redis.call('set','n',1.5)", &[], &[]),
        ScriptReply::Status("OK".into())
    );
    assert_eq!(h.strings[&b"n"[..]], b"1.5");
    eval(
        &mut s,
        &mut h,
        "return redis.call('set','n',1e20)",
        &[],
        &[],
    );
    assert_eq!(h.strings[&b"n"[..]], b"1e+20");
    // RESP3 shapes after setresp(3).
    eval(&mut s, &mut h, "redis.call('hset','h','f','v')", &[], &[]);
    let body = "redis.setresp(3) local m = redis.call('hgetall','h') return m.map.f";
    assert_eq!(eval(&mut s, &mut h, body, &[], &[]), bulk("v"));
    let body = "redis.setresp(3) return redis.call('get','nokey') == nil";
    assert_eq!(
        eval(&mut s, &mut h, body, &[], &[]),
        ScriptReply::Boolean(true)
    );
}

#[test]
fn error_replies_match_redis() {
    let mut s = new();
    let mut h = MemHost::default();
    h.strings.insert(b"s".to_vec(), b"a".to_vec());
    let cases: &[(&str, &str)] = &[
        (
            "return redis.call('incr','s')",
            "ERR value is not an integer or out of range",
        ),
        (
            "return redis.call('nosuch')",
            "ERR Unknown Redis command called from script",
        ),
        (
            "return redis.call()",
            "ERR Please specify at least one argument for this redis lib call",
        ),
        (
            "return redis.call({})",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
        ("error('boom')", "ERR user_script:1: boom"),
        ("error({err='XX boom'})", "XX boom"),
        (
            "x = 1",
            "ERR user_script:1: Attempt to modify a readonly table",
        ),
        (
            "return y",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'y'",
        ),
        (
            "return loadfile",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile'",
        ),
        (
            "return os",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'os'",
        ),
        (
            "return print",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'print'",
        ),
        (
            "string.foo = 1",
            "ERR user_script:1: Attempt to modify a readonly table",
        ),
        (
            "return rawset(_G, 'zz', 1)",
            "ERR Attempt to modify a readonly table",
        ),
        (
            "return redis.setresp(4)",
            "ERR RESP version must be 2 or 3.",
        ),
        ("return redis.sha1hex()", "ERR wrong number of arguments"),
        (
            "return cjson.encode({[1]=1,[20]=3})",
            "ERR user_script:1: Cannot serialise table: excessively sparse array",
        ),
        (
            "return cjson.decode('[1,2')",
            "ERR user_script:1: Expected comma or array end but found T_END at character 5",
        ),
        (
            "return cjson.encode(1/0)",
            "ERR user_script:1: Cannot serialise number: must not be NaN or Inf",
        ),
    ];
    for (body, msg) in cases {
        assert_eq!(
            eval(&mut s, &mut h, body, &[], &[]),
            err_at(msg, body, 1),
            "{body}"
        );
    }
    assert_eq!(
        eval(&mut s, &mut h, "return redis.pcall('incr','s')", &[], &[]),
        ScriptReply::err("ERR value is not an integer or out of range")
    );
    let body = "\nlocal a = 1\nreturn a + nil";
    let ScriptReply::Error(e) = eval(&mut s, &mut h, body, &[], &[]) else {
        panic!()
    };
    assert!(
        e.starts_with("ERR user_script:3: attempt to perform arithmetic")
            && e.ends_with("on @user_script:3."),
        "{e}"
    );
    assert_eq!(
        eval(&mut s, &mut h, "return 'x' .. ", &[], &[]),
        ScriptReply::err("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'")
    );
}

#[test]
fn sandbox_keeps_what_redis_keeps() {
    let names = "local t = {} for k,v in pairs(_G) do t[#t+1] = k end table.sort(t) return t";
    let ScriptReply::Array(globals) = run(names) else {
        panic!()
    };
    let globals: Vec<String> = globals
        .iter()
        .map(|g| match g {
            ScriptReply::Bulk(b) => String::from_utf8_lossy(b).to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    let redis_globals = "ARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next pairs pcall rawequal rawget rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall";
    assert_eq!(globals.join(" "), redis_globals);
    assert_eq!(run("return _VERSION"), bulk("Lua 5.1"));
    assert_eq!(
        run("local t = {} t.x = 1 return t.x"),
        ScriptReply::Integer(1)
    );
    assert_eq!(
        run("local n = 0 for k in pairs(string) do n = n + 1 end return n"),
        ScriptReply::Integer(15)
    );
    // Code compiled by a script is sandboxed too.
    let ScriptReply::Error(e) = run("return loadstring('return os')()") else {
        panic!()
    };
    assert!(e.contains("nonexistent global variable 'os'"), "{e}");
    assert_eq!(
        run("return redis.sha1hex('')"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(run("return redis.REDIS_VERSION"), bulk("7.0.15"));
    // Same rand48 sequence as a fresh redis-server.
    let mut s = new();
    let mut h = MemHost::default();
    let body = "return {math.random(1000), math.random(1000), tostring(math.random())}";
    assert_eq!(
        eval(&mut s, &mut h, body, &[], &[]),
        ScriptReply::Array(vec![
            ScriptReply::Integer(397),
            ScriptReply::Integer(841),
            bulk("0.35333609737146")
        ])
    );
    let body = "return {math.random(1000), math.random(1000)}";
    assert_eq!(
        eval(&mut s, &mut h, body, &[], &[]),
        ScriptReply::Array(vec![ScriptReply::Integer(447), ScriptReply::Integer(319)])
    );
}

#[test]
fn libraries() {
    assert_eq!(
        run("return cjson.encode({1,2,{a=1}})"),
        bulk("[1,2,{\"a\":1}]")
    );
    assert_eq!(
        run("return cjson.encode({[1]=1,[5]=3})"),
        bulk("[1,null,null,null,3]")
    );
    assert_eq!(
        run("return cjson.encode('a/b\"\\\\ \\1')"),
        bulk("\"a\\/b\\\"\\\\ \\u0001\"")
    );
    assert_eq!(run("return cjson.encode({})"), bulk("{}"));
    assert_eq!(run("return cjson.encode(0.1)"), bulk("0.1"));
    assert_eq!(run("local t = cjson.decode('{\"a\":[1,2,{\"b\":null}]}') return {t.a[2], tostring(t.a[3].b == cjson.null)}"),
        ScriptReply::Array(vec![ScriptReply::Integer(2), bulk("true")]));
    assert_eq!(
        run("return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')"),
        bulk("é😀")
    );
    assert_eq!(
        run("return cmsgpack.pack({1,2,3})"),
        ScriptReply::Bulk(vec![0x93, 1, 2, 3])
    );
    assert_eq!(
        run("return cmsgpack.pack(-1, 300, 'ab', 1.5, true)"),
        ScriptReply::Bulk(vec![
            0xff, 0xcd, 0x01, 0x2c, 0xa2, b'a', b'b', 0xca, 0x3f, 0xc0, 0, 0, 0xc3
        ])
    );
    assert_eq!(
        run("local a, b = cmsgpack.unpack(cmsgpack.pack({x=1}, 'y')) return {a.x, b}"),
        ScriptReply::Array(vec![ScriptReply::Integer(1), bulk("y")])
    );
    assert_eq!(
        run("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 0)}"),
        ScriptReply::Array(vec![ScriptReply::Integer(1), ScriptReply::Integer(1)])
    );
    assert_eq!(run("return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(3, 1), bit.lshift(1, 4), bit.tohex(255, 4), bit.tobit(2^32 + 5), bit.bnot(0)}"),
        ScriptReply::Array(vec![15, 3, 2, 16].into_iter().map(ScriptReply::Integer).chain([bulk("00ff"), ScriptReply::Integer(5), ScriptReply::Integer(-1)]).collect()));
    assert_eq!(
        run("return struct.pack('>hI2', -2, 258)"),
        ScriptReply::Bulk(vec![0xff, 0xfe, 0x01, 0x02])
    );
    assert_eq!(
        run("return {struct.unpack('<hBs', struct.pack('<hBs', -2, 7, 'hi'))}"),
        ScriptReply::Array(vec![
            ScriptReply::Integer(-2),
            ScriptReply::Integer(7),
            bulk("hi"),
            ScriptReply::Integer(7)
        ])
    );
    assert_eq!(run("return struct.size('!4bi')"), ScriptReply::Integer(8));
}

#[test]
fn cache_and_script_commands() {
    let mut s = new();
    let mut h = MemHost::default();
    let load = script_command(&mut s, &[b"SCRIPT", b"LOAD", b"return 1"]);
    assert_eq!(load, bulk("e0e1f9fabfc9d4800c877a703b823ac0578ff8db"));
    let upper = b"E0E1F9FABFC9D4800C877A703B823AC0578FF8DB";
    assert_eq!(
        evalsha_command(
            &mut s,
            &mut h,
            &[b"EVALSHA", upper, b"0"],
            EvalMode::ReadWrite
        ),
        ScriptReply::Integer(1)
    );
    assert_eq!(
        script_command(&mut s, &[b"SCRIPT", b"EXISTS", upper, b"ffff"]),
        ScriptReply::Array(vec![ScriptReply::Integer(1), ScriptReply::Integer(0)])
    );
    assert_eq!(
        script_command(&mut s, &[b"SCRIPT", b"FLUSH"]),
        ScriptReply::Status("OK".into())
    );
    assert_eq!(
        evalsha_command(
            &mut s,
            &mut h,
            &[b"EVALSHA", upper, b"0"],
            EvalMode::ReadWrite
        ),
        ScriptReply::err("NOSCRIPT No matching script. Please use EVAL.")
    );
    assert_eq!(
        script_command(&mut s, &[b"SCRIPT", b"FLUSH", b"x"]),
        ScriptReply::err("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    );
    assert_eq!(
        script_command(&mut s, &[b"SCRIPT", b"foo"]),
        ScriptReply::err("ERR unknown subcommand 'foo'. Try SCRIPT HELP.")
    );
    assert_eq!(
        script_command(&mut s, &[b"SCRIPT", b"KILL"]),
        ScriptReply::err("NOTBUSY No scripts in execution right now.")
    );
    for (n, want) in [
        ("-1", "ERR Number of keys can't be negative"),
        (
            "2",
            "ERR Number of keys can't be greater than number of args",
        ),
        ("x", "ERR value is not an integer or out of range"),
    ] {
        let r = eval_command(
            &mut s,
            &mut h,
            &[b"EVAL", b"return 1", n.as_bytes(), b"a"],
            EvalMode::ReadWrite,
        );
        assert_eq!(r, ScriptReply::err(want));
    }
    // Shebang flags and read-only mode.
    let body = "#!lua flags=no-writes\nreturn redis.call('set','a','b')";
    assert_eq!(
        eval(&mut s, &mut h, body, &[], &[]),
        err_at(
            "ERR Write commands are not allowed from read-only scripts.",
            body,
            2
        )
    );
    assert_eq!(
        eval(&mut s, &mut h, "#!foo\nreturn 1", &[], &[]),
        ScriptReply::err("ERR Unexpected engine in script shebang: #!foo")
    );
    assert_eq!(
        eval(&mut s, &mut h, "#!lua flags=bad\nreturn 1", &[], &[]),
        ScriptReply::err("ERR Unexpected flag in script shebang: bad")
    );
    let r = eval_command(
        &mut s,
        &mut h,
        &[b"EVAL_RO", b"return redis.call('set','a','b')", b"0"],
        EvalMode::ReadOnly,
    );
    assert_eq!(
        r,
        err_at(
            "ERR Write commands are not allowed from read-only scripts.",
            "return redis.call('set','a','b')",
            1
        )
    );
    // redis.log reaches the host.
    eval(
        &mut s,
        &mut h,
        "redis.log(redis.LOG_WARNING, 'hi', 3)",
        &[],
        &[],
    );
    assert_eq!(h.logs, vec![(LogLevel::Warning, b"hi 3".to_vec())]);
}

#[test]
fn busy_then_killed() {
    let control = Arc::new(ScriptControl::new(50));
    let mut s = Scripting::new(Arc::clone(&control)).unwrap();
    let killer = {
        let control = Arc::clone(&control);
        std::thread::spawn(move || {
            // Bounded wait for the script to pass the time limit.
            for _ in 0..2000 {
                if control.busy() {
                    return control.kill();
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(KillError::NotBusy)
        })
    };
    let body = "local i = 0 while true do i = i + 1 end";
    let reply = eval(&mut s, &mut MemHost::default(), body, &[], &[]);
    assert_eq!(killer.join().unwrap(), Ok(()));
    assert_eq!(
        reply,
        err_at("ERR Script killed by user with SCRIPT KILL...", body, 1)
    );
    assert!(!control.busy() && !control.running());
    // A script that wrote cannot be killed; it runs to its end.
    let control2 = Arc::clone(&control);
    let watcher = std::thread::spawn(move || {
        for _ in 0..2000 {
            if control2.busy() {
                return control2.kill();
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(())
    });
    let body = "redis.call('set','w','1') local i = 0 while i < 30000000 do i = i + 1 end return i";
    let reply = eval(&mut s, &mut MemHost::default(), body, &[], &[]);
    assert_eq!(watcher.join().unwrap(), Err(KillError::Unkillable));
    assert_eq!(reply, ScriptReply::Integer(30000000));
}
