//! Lua scripting against a real redis-server 7.0: every script runs as EVAL on an oracle
//! redis-server and on our [`Scripting`] whose `redis.call` is forwarded to a second
//! redis-server holding the same data; replies must be identical (RESP2 and RESP3 clients).

#[path = "lua/corpus.rs"]
mod lua_corpus;
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

    fn acl_check(&mut self, argv: &[&[u8]]) -> Option<bool> {
        // COMMAND INFO answers a nil entry for a command that does not exist.
        match self.resp2.call(&[b"COMMAND", b"INFO", argv[0]]) {
            ScriptReply::Array(v)
                if v.first()
                    .is_some_and(|e| *e != ScriptReply::NilArray && *e != ScriptReply::Nil) =>
            {
                Some(true)
            }
            _ => None,
        }
    }
}

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
        for (body, keys, args) in lua_corpus::SCRIPTS {
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
