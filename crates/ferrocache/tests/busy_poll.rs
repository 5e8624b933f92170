//! `ferrocache node --busy-poll`: a node that polls instead of sleeping right after it served
//! input still answers every protocol feature that reaches a connection from elsewhere (a
//! served BLPOP, a published message), and it does stop polling once idle for the window.
//!
//! The CPU checks read the node process's utime+stime (`/proc/PID/stat`); the window is long
//! (one second) so that a polling worker shows up even on a loaded machine, and the idle check
//! allows a tenth of what one polling worker would use.

mod common;

use common::{start_node, NodeProcess};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const WINDOW_US: &str = "1000000";

/// CPU time of the process so far, in clock ticks (utime + stime).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as u64
}

/// CPU milliseconds the process uses over `span`.
fn cpu_ms_over(pid: u32, span: Duration) -> u64 {
    let before = cpu_ticks(pid);
    std::thread::sleep(span);
    (cpu_ticks(pid) - before) * 1000 / ticks_per_second()
}

/// Polls while input keeps coming and for the window after, then sleeps.
fn assert_polls_then_sleeps(node: &NodeProcess) {
    let pid = node.child.id();
    // Within the window after the last input: at least one worker polls.
    let busy = cpu_ms_over(pid, Duration::from_millis(600));
    assert!(
        busy >= 50,
        "a worker polls after serving input: {busy} ms CPU in 600 ms"
    );
    // Past the window: asleep.
    std::thread::sleep(Duration::from_millis(700));
    let idle = cpu_ms_over(pid, Duration::from_millis(1000));
    assert!(idle <= 100, "an idle node sleeps: {idle} ms CPU in 1 s");
}

struct Resp(BufReader<TcpStream>);

impl Resp {
    fn connect(port: u16) -> Resp {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Resp(BufReader::new(s))
    }

    fn send(&mut self, args: &[&str]) {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.0.get_mut().write_all(req.as_bytes()).unwrap();
    }

    /// One reply, as its raw lines (enough for the simple replies used here).
    fn reply(&mut self) -> String {
        let mut line = String::new();
        self.0.read_line(&mut line).unwrap();
        let mut out = line.clone();
        let count = |l: &str| l[1..].trim_end().parse::<i64>().unwrap();
        match line.as_bytes()[0] {
            b'$' if count(&line) >= 0 => {
                let mut data = vec![0; count(&line) as usize + 2];
                self.0.read_exact(&mut data).unwrap();
                out.push_str(&String::from_utf8(data).unwrap());
            }
            b'*' => {
                for _ in 0..count(&line).max(0) {
                    out.push_str(&self.reply());
                }
            }
            _ => {}
        }
        out
    }

    fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.reply()
    }
}

#[test]
fn a_busy_polling_redis_node_serves_blocked_and_pubsub_clients_and_sleeps_when_idle() {
    let node = start_node("redis", &["--busy-poll", WINDOW_US]);
    let mut a = Resp::connect(node.port);
    let mut b = Resp::connect(node.port);
    let mut sub = Resp::connect(node.port);
    for i in 0..500 {
        assert_eq!(a.call(&["SET", &format!("k{i}"), "v"]), "+OK\r\n");
    }
    assert_eq!(b.call(&["GET", "k499"]), "$1\r\nv\r\n");
    // Connections are spread over both workers; a wake-up crosses between them.
    b.send(&["BLPOP", "queue", "0"]);
    assert_eq!(
        sub.call(&["SUBSCRIBE", "news"]),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    assert_eq!(a.call(&["RPUSH", "queue", "job"]), ":1\r\n");
    assert_eq!(b.reply(), "*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n");
    assert_eq!(a.call(&["PUBLISH", "news", "hello"]), ":1\r\n");
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    assert_polls_then_sleeps(&node);
    // Asleep, it still wakes for the next request.
    assert_eq!(a.call(&["GET", "k0"]), "$1\r\nv\r\n");
}

#[test]
fn a_busy_polling_memcached_node_serves_and_sleeps_when_idle() {
    let node = start_node("memcached", &["--busy-poll", WINDOW_US]);
    let s = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    for i in 0..500 {
        r.get_mut()
            .write_all(format!("set k{i} 0 0 1\r\nv\r\n").as_bytes())
            .unwrap();
        line.clear();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "STORED\r\n");
    }
    assert_polls_then_sleeps(&node);
    r.get_mut().write_all(b"get k7\r\n").unwrap();
    let mut reply = String::new();
    while !reply.ends_with("END\r\n") {
        r.read_line(&mut reply).unwrap();
    }
    assert_eq!(reply, "VALUE k7 0 1\r\nv\r\nEND\r\n");
}
