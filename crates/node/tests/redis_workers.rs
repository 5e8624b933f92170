//! The Redis node's worker threads (`--threads 2`): connections are placed on the workers
//! round-robin and never move, so two consecutive connections live on different threads and
//! everything that crosses between them goes through the engine and a connection's mailbox.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::time::Duration;

/// Two clients on different workers (consecutive connections, round-robin placement).
fn pair(node: &node::redis::RedisNode) -> (Client, Client) {
    (Client::connect(node.addr()), Client::connect(node.addr()))
}

fn client_id(c: &mut Client) -> i64 {
    match c.cmd(&["CLIENT", "ID"]) {
        Frame::Int(id) => id,
        other => panic!("CLIENT ID replied {other}"),
    }
}

#[test]
fn pubsub_blocking_and_kill_cross_workers() {
    let node = start_ours(&[]);
    let (mut a, mut b) = pair(&node);

    // Pub/sub: the message reaches a subscriber on the other worker.
    assert_eq!(
        a.cmd(&["SUBSCRIBE", "ch"]),
        Frame::Array(vec![bulk("subscribe"), bulk("ch"), int(1)])
    );
    assert_eq!(b.cmd(&["PUBLISH", "ch", "hello"]), int(1));
    assert_eq!(
        a.read(),
        Frame::Array(vec![bulk("message"), bulk("ch"), bulk("hello")])
    );
    assert_eq!(
        a.cmd(&["UNSUBSCRIBE", "ch"]),
        Frame::Array(vec![bulk("unsubscribe"), bulk("ch"), int(0)])
    );

    // A blocked command is served by a push from the other worker, and the requests the
    // blocked client pipelined behind it run after it, in order.
    a.send(&["BLPOP", "l", "10"]);
    a.send(&["PING"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.cmd(&["LPUSH", "l", "x"]), int(1));
    assert_eq!(a.read(), Frame::Array(vec![bulk("l"), bulk("x")]));
    assert_eq!(a.read(), simple("PONG"));

    // A blocked command times out on its own worker's timer.
    assert_eq!(a.cmd(&["BLPOP", "empty", "0.1"]), Frame::Null);

    // CLIENT KILL from the other worker closes the connection.
    let id = client_id(&mut a);
    assert_eq!(b.cmd(&["CLIENT", "KILL", "ID", &id.to_string()]), int(1));
    assert!(a.is_closed());
    assert_eq!(b.cmd(&["PING"]), simple("PONG"));
}

#[test]
fn pipelined_increments_from_every_worker_all_count() {
    let node = start_ours(&[]);
    let clients = 6;
    let per_client = 2_000;
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let mut c = Client::connect(node.addr());
            std::thread::spawn(move || {
                let mut batch = Vec::new();
                for _ in 0..per_client {
                    batch.extend_from_slice(&Client::encode(&["INCR", "n"]));
                }
                c.send_raw(&batch);
                let mut last = 0;
                for _ in 0..per_client {
                    match c.read() {
                        // Replies of one connection come back in order: strictly increasing.
                        Frame::Int(v) => {
                            assert!(v > last, "{v} after {last}");
                            last = v;
                        }
                        other => panic!("INCR replied {other}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = Client::connect(node.addr());
    assert_eq!(
        c.cmd(&["GET", "n"]),
        bulk(&(clients * per_client).to_string())
    );
}

#[test]
fn shutdown_closes_connections_on_every_worker() {
    let node = start_ours(&[]);
    let (mut a, mut b) = pair(&node);
    assert_eq!(a.cmd(&["PING"]), simple("PONG"));
    assert_eq!(b.cmd(&["PING"]), simple("PONG"));
    node.shutdown();
    assert!(a.is_closed());
    assert!(b.is_closed());
}

/// Connections on both workers pipeline at once, so batches wait for each other's turns and
/// run combined (`exec.rs`): a transaction is still seen whole from every worker, and each
/// connection's replies still come back in its own order.
#[test]
fn transactions_stay_whole_while_workers_take_turns() {
    let node = start_ours(&[]);
    let rounds = 500;
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let mut c = Client::connect(node.addr());
            std::thread::spawn(move || {
                let mut batch = Vec::new();
                for _ in 0..rounds {
                    for cmd in [&["MULTI"][..], &["INCR", "a"], &["INCR", "b"], &["EXEC"]] {
                        batch.extend_from_slice(&Client::encode(cmd));
                    }
                }
                c.send_raw(&batch);
                let mut last = 0;
                for _ in 0..rounds {
                    assert_eq!(c.read(), simple("OK"));
                    assert_eq!(c.read(), simple("QUEUED"));
                    assert_eq!(c.read(), simple("QUEUED"));
                    match c.read() {
                        Frame::Array(v) => {
                            assert_eq!(v[0], v[1], "EXEC replied {v:?}");
                            let Frame::Int(n) = v[0] else {
                                panic!("INCR in EXEC replied {}", v[0])
                            };
                            assert!(n > last, "{n} after {last}");
                            last = n;
                        }
                        other => panic!("EXEC replied {other}"),
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let mut c = Client::connect(node.addr());
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let mut batch = Vec::new();
                    for _ in 0..100 {
                        batch.extend_from_slice(&Client::encode(&["MGET", "a", "b"]));
                    }
                    c.send_raw(&batch);
                    for _ in 0..100 {
                        match c.read() {
                            Frame::Array(v) => assert_eq!(v[0], v[1], "MGET a b replied {v:?}"),
                            other => panic!("MGET replied {other}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.join().unwrap();
    }
    let mut c = Client::connect(node.addr());
    let total = (2 * rounds).to_string();
    assert_eq!(
        c.cmd(&["MGET", "a", "b"]),
        Frame::Array(vec![bulk(&total), bulk(&total)])
    );
}
