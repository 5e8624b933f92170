//! Lua scripting against a real redis-server 7.0: every script runs as EVAL on an oracle
//! redis-server and on our [`Scripting`] whose `redis.call` is forwarded to a second
//! redis-server holding the same data; replies must be identical (RESP2 and RESP3 clients).

#[path = "../../rdb/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use engine_redis::scripting::{
    eval_command, CallOptions, EvalMode, LogLevel, ScriptControl, ScriptHost, ScriptReply,
    Scripting,
};
use support::{RedisServer, TempDir};

/// A connection that parses RESP2 and RESP3 into [`ScriptReply`].
struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    fn open(port: u16, resp3: bool) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut c = Conn {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        };
        if resp3 {
            assert!(matches!(c.call(&[b"HELLO", b"3"]), ScriptReply::Map(_)));
        }
        c
    }

    fn call(&mut self, argv: &[&[u8]]) -> ScriptReply {
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            out.extend(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend(b"\r\n");
        }
        self.w.write_all(&out).unwrap();
        self.read()
    }

    fn line(&mut self) -> (u8, String) {
        let mut l = Vec::new();
        self.r.read_until(b'\n', &mut l).unwrap();
        assert!(l.ends_with(b"\r\n"), "{l:?}");
        (
            l[0],
            String::from_utf8_lossy(&l[1..l.len() - 2]).to_string(),
        )
    }

    fn blob(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n + 2];
        self.r.read_exact(&mut b).unwrap();
        b.truncate(n);
        b
    }

    fn read(&mut self) -> ScriptReply {
        let (t, body) = self.line();
        let n = || body.parse::<i64>().unwrap();
        match t {
            b'+' => ScriptReply::Status(body.clone()),
            b'-' => ScriptReply::Error(body.clone()),
            b':' => ScriptReply::Integer(n()),
            b'$' if n() < 0 => ScriptReply::Nil,
            b'$' => ScriptReply::Bulk(self.blob(n() as usize)),
            b'*' if n() < 0 => ScriptReply::NilArray,
            b'*' => ScriptReply::Array((0..n()).map(|_| self.read()).collect()),
            b'~' => ScriptReply::Set((0..n()).map(|_| self.read()).collect()),
            b'%' => ScriptReply::Map((0..n()).map(|_| (self.read(), self.read())).collect()),
            b'_' => ScriptReply::Nil,
            b'#' => ScriptReply::Boolean(body == "t"),
            b',' => ScriptReply::Double(match body.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap(),
            }),
            b'(' => ScriptReply::BigNumber(body.clone()),
            b'=' => {
                let raw = self.blob(n() as usize);
                ScriptReply::Verbatim {
                    format: String::from_utf8_lossy(&raw[..3]).into(),
                    text: raw[4..].to_vec(),
                }
            }
            other => panic!("unexpected reply type {}", other as char),
        }
    }
}

/// Parses bytes we produced with `write_resp`, through the same parser.
fn reparse(reply: &ScriptReply, resp3: bool) -> ScriptReply {
    let mut bytes = Vec::new();
    reply.write_resp(resp3, &mut bytes);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let writer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&bytes).unwrap();
    });
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut c = Conn {
        r: BufReader::new(s.try_clone().unwrap()),
        w: s,
    };
    let parsed = c.read();
    writer.join().unwrap();
    parsed
}

/// Forwards `redis.call` to a real server, with the checks Redis applies to script calls.
struct Forward {
    resp2: Conn,
    resp3: Conn,
    wrote: bool,
}

const WRITES: &[&str] = &[
    "set", "incr", "incrby", "del", "hset", "lpush", "rpush", "sadd", "zadd", "expire", "append",
];

impl ScriptHost for Forward {
    fn call(&mut self, argv: &[&[u8]], opts: &CallOptions) -> ScriptReply {
        let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "eval" | "evalsha" | "script" | "multi" | "subscribe"
        ) {
            return ScriptReply::err("ERR This Redis command is not allowed from script");
        }
        let write = WRITES.contains(&name.as_str());
        if write && opts.read_only {
            return ScriptReply::err("ERR Write commands are not allowed from read-only scripts.");
        }
        let conn = if opts.resp == 3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        let reply = conn.call(argv);
        if let ScriptReply::Error(e) = &reply {
            if e.starts_with("ERR unknown command") {
                return ScriptReply::err("ERR Unknown Redis command called from script");
            }
            if e.starts_with("ERR wrong number of arguments") {
                return ScriptReply::err(
                    "ERR Wrong number of args calling Redis command from script",
                );
            }
        } else if write {
            self.wrote = true;
        }
        reply
    }

    fn has_written(&self) -> bool {
        self.wrote
    }

    fn log(&mut self, _level: LogLevel, _message: &[u8]) {}
}

const SCRIPTS: &[(&str, &[&str], &[&str])] = &[
    ("return 1", &[], &[]),
    ("return {1, 2.7, -3.2, 'x', true, false, nil, 'after nil'}", &[], &[]),
    ("return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", &["k1", "k2"], &["a1", "a2", "a3"]),
    ("redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", &["str"], &["hello"]),
    ("return redis.call('incr', 'counter')", &[], &[]),
    ("return redis.call('incrby', 'counter', 10.9)", &[], &[]),
    ("return redis.call('get', 'missing')", &[], &[]),
    ("return tostring(redis.call('get', 'missing'))", &[], &[]),
    ("redis.call('rpush', 'list', 'a', 'b', 'c') return redis.call('lrange', 'list', 0, -1)", &[], &[]),
    ("redis.call('hset', 'h', 'f1', 'v1') redis.call('hset', 'h', 'f2', 2) return redis.call('hgetall', 'h')", &[], &[]),
    ("redis.call('zadd', 'z', 1.5, 'a', 2, 'b') return redis.call('zrange', 'z', 0, -1, 'withscores')", &[], &[]),
    ("return redis.call('type', 'h')", &[], &[]),
    ("return redis.call('ping')", &[], &[]),
    ("return redis.call('set', 'str', 'a', 'badopt')", &[], &[]),
    ("return redis.call('incr', 'str')", &[], &[]),
    ("return redis.pcall('incr', 'str')", &[], &[]),
    ("local r = redis.pcall('incr', 'str') return r.err", &[], &[]),
    ("return redis.call('nosuchcommand')", &[], &[]),
    ("return redis.call('get')", &[], &[]),
    ("return redis.call('eval', 'return 1', 0)", &[], &[]),
    ("return redis.call()", &[], &[]),
    ("return redis.call('get', {})", &[], &[]),
    ("error('plain error')", &[], &[]),
    ("error({err='CUSTOM failure'})", &[], &[]),
    ("local x = nil return x.field", &[], &[]),
    ("\n\nreturn 1 + {}", &[], &[]),
    ("return redis.error_reply('MYERR went wrong')", &[], &[]),
    ("return redis.error_reply('no code')", &[], &[]),
    ("return redis.status_reply('ALL GOOD')", &[], &[]),
    ("return {err='raw table error'}", &[], &[]),
    ("return {ok='raw status'}", &[], &[]),
    ("newglobal = 1", &[], &[]),
    ("return undefined_global", &[], &[]),
    ("return table.concat({1, 2, 'x'}, '-')", &[], &[]),
    ("return {tostring(0.1), tostring(1e100), tostring(-0), tostring(2^53), tostring(1/3)}", &[], &[]),
    ("return string.format('%5.2f|%d|%s|%q', 3.14159, 42, 'x', 'a\\nb')", &[], &[]),
    ("return {string.byte('A'), string.rep('ab', 3), ('x'):upper(), #'hello'}", &[], &[]),
    ("return redis.sha1hex('hello')", &[], &[]),
    ("return {math.random(100), math.random(5, 10), math.floor(math.random() * 1000)}", &[], &[]),
    ("math.randomseed(42) return {math.random(1000), math.random(1000)}", &[], &[]),
    ("return cjson.encode({a = 1})", &[], &[]),
    ("return cjson.encode({1, 'two', {3}, true, false, cjson.null})", &[], &[]),
    ("return cjson.encode({[1] = 'a', [2] = 'b', [4] = 'd'})", &[], &[]),
    ("return cjson.encode('\\0\\1\\31 \\127 / \\\\ \"')", &[], &[]),
    ("return cjson.encode({0.5, -1e300, 123456789012345, 1e15})", &[], &[]),
    ("return cjson.encode(function() end)", &[], &[]),
    ("local t = cjson.decode('[1, \"a\", {\"k\": [true, false, null]}, 2.5e3, -0]') return {t[1], t[2], tostring(t[3].k[1]), tostring(t[3].k[3] == cjson.null), t[4]}", &[], &[]),
    ("return cjson.decode('{\"a\": }')", &[], &[]),
    ("return cjson.decode('[1] x')", &[], &[]),
    ("return cjson.decode('\"\\\\u00e9\\\\u20ac\"')", &[], &[]),
    ("return cmsgpack.pack({1, 2, 3}, {a = 1}, 'str', 3.5, 0.1, -33, 70000, 2^40, -2^40, true, nil)", &[], &[]),
    ("return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300))", &[], &[]),
    ("local a, b, c = cmsgpack.unpack(cmsgpack.pack({1, {2, 3}}, 'x', -7)) return {a[2][2], b, c}", &[], &[]),
    ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", &[], &[]),
    ("return cmsgpack.unpack('\\193')", &[], &[]),
    ("return {bit.band(0xF0F0, 0xFF00), bit.bor(1, 2, 4), bit.bxor(7, 2), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.rol(1, 33), bit.ror(1, 1), bit.bswap(0x12345678), bit.tobit(0xFFFFFFFF + 3)}", &[], &[]),
    ("return {bit.tohex(65535), bit.tohex(-1, -4), bit.tohex(255, 2)}", &[], &[]),
    ("return struct.pack('<i4>h!4bd', 1, -2, 3, 1.5)", &[], &[]),
    ("return {struct.unpack('>I2c3s', '\\1\\2abcdef\\0')}", &[], &[]),
    ("return {struct.size('<i4h'), struct.size('!8bd')}", &[], &[]),
    ("return struct.pack('q', 1)", &[], &[]),
    ("return {pcall(error, 'x')}", &[], &[]),
    ("return {pcall(function() return redis.call('incr', 'str') end)}", &[], &[]),
    ("return type(loadstring('return 1'))", &[], &[]),
    ("return loadstring('return KEYS[1]')()", &["via-loadstring"], &[]),
    ("return rawget(_G, 'KEYS')[1]", &["rawget"], &[]),
    ("return redis.setresp(5)", &[], &[]),
    ("redis.setresp(3) return redis.call('hgetall', 'h')", &[], &[]),
    ("redis.setresp(3) local m = redis.call('hgetall', 'h') return m.map.f1", &[], &[]),
    ("redis.setresp(3) return {redis.call('get', 'missing') == nil, true, false}", &[], &[]),
    ("return {double = 3.25}", &[], &[]),
    ("return {big_number = '123456789012345678901234567890'}", &[], &[]),
    ("return {map = {a = 1}}", &[], &[]),
    ("return {set = {x = true}}", &[], &[]),
    ("return true", &[], &[]),
    ("return false", &[], &[]),
    ("#!lua flags=no-writes\nreturn redis.call('get', 'str')", &[], &[]),
    ("#!lua flags=no-writes\nreturn redis.call('set', 'str', 'x')", &[], &[]),
    ("#!lua\nreturn 'shebang'", &[], &[]),
    ("return 'unterminated", &[], &[]),
];

#[test]
fn scripts_reply_like_redis() {
    let dir = TempDir::new();
    let oracle = RedisServer::start(dir.path(), &[]);
    let backend = RedisServer::start(dir.path(), &[]);
    let mut oracle2 = Conn::open(oracle.port, false);
    let mut oracle3 = Conn::open(oracle.port, true);
    let mut host = Forward {
        resp2: Conn::open(backend.port, false),
        resp3: Conn::open(backend.port, true),
        wrote: false,
    };
    let mut ours = Scripting::new(Arc::new(ScriptControl::default())).unwrap();
    for (round, resp3) in [(0, false), (1, true)] {
        for (body, keys, args) in SCRIPTS {
            let n = keys.len().to_string();
            let mut argv: Vec<&[u8]> = vec![b"EVAL", body.as_bytes(), n.as_bytes()];
            argv.extend(keys.iter().map(|k| k.as_bytes()));
            argv.extend(args.iter().map(|a| a.as_bytes()));
            let theirs = if resp3 {
                oracle3.call(&argv)
            } else {
                oracle2.call(&argv)
            };
            host.wrote = false;
            let mine = eval_command(&mut ours, &mut host, &argv, EvalMode::ReadWrite);
            assert_eq!(
                reparse(&mine, resp3),
                theirs,
                "round {round}, script {body:?}"
            );
        }
    }
    // EVAL_RO.
    let argv: [&[u8]; 3] = [b"EVAL_RO", b"return redis.call('set', 'ro', 1)", b"0"];
    host.wrote = false;
    let mine = eval_command(&mut ours, &mut host, &argv, EvalMode::ReadOnly);
    assert_eq!(reparse(&mine, false), oracle2.call(&argv));
}
