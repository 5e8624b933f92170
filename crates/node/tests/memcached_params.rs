//! The Memcached parameters of the guide do what they say on a running node: memory limit and
//! eviction (keeping hot items), error_on_memory_exhausted, no slab calcification, expired
//! items reclaimed in the background, cas_disabled, chunk sizes in `stats slabs`,
//! binding_protocol.

mod memcached_common;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use memcached_common::{connect, exchange, start_node};

fn stats(c: &mut TcpStream, group: &str) -> HashMap<String, String> {
    let cmd = if group.is_empty() {
        "stats\r\n".to_string()
    } else {
        format!("stats {group}\r\n")
    };
    let reply = String::from_utf8(exchange(c, cmd.as_bytes(), b"END\r\n")).unwrap();
    reply
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ' ');
            (p.next() == Some("STAT")).then(|| {
                (
                    p.next().unwrap().to_string(),
                    p.next().unwrap_or("").to_string(),
                )
            })
        })
        .collect()
}

fn num(s: &HashMap<String, String>, k: &str) -> u64 {
    s.get(k)
        .unwrap_or_else(|| panic!("no stat {k}"))
        .parse()
        .unwrap()
}

/// Sets `n` items `prefix<i>` of `size` bytes in one pipelined batch; returns the replies.
fn fill(c: &mut TcpStream, prefix: &str, n: usize, size: usize) -> String {
    let value = "x".repeat(size);
    let mut req = String::new();
    for i in 0..n {
        req.push_str(&format!("set {prefix}{i} 0 0 {size}\r\n{value}\r\n"));
    }
    req.push_str("mn\r\n");
    String::from_utf8(exchange(c, req.as_bytes(), b"MN\r\n")).unwrap()
}

const ONE_MB: [(&str, &str); 2] = [
    ("max_cache_memory", "9"),
    ("memcached_connections_overhead", "8"),
];

#[test]
fn memory_limit_is_honest_and_eviction_keeps_hot_items() {
    let node = start_node(&ONE_MB);
    let mut c = connect(node.addr());
    let s = stats(&mut c, "");
    assert_eq!(num(&s, "limit_maxbytes"), 1 << 20);
    // A hot set, read after every batch of new items.
    let hot: Vec<String> = (0..50).map(|i| format!("hot{i}")).collect();
    for k in &hot {
        assert_eq!(
            exchange(
                &mut c,
                format!("set {k} 0 0 100\r\n{}\r\n", "h".repeat(100)).as_bytes(),
                b"\r\n"
            ),
            b"STORED\r\n"
        );
    }
    for round in 0..40 {
        let replies = fill(&mut c, &format!("cold{round}_"), 200, 400);
        assert!(!replies.contains("ERROR"), "{replies}");
        let get = format!("get {}\r\n", hot.join(" "));
        let reply = String::from_utf8(exchange(&mut c, get.as_bytes(), b"END\r\n")).unwrap();
        assert_eq!(
            reply.matches("VALUE ").count(),
            hot.len(),
            "round {round}: hot items were evicted"
        );
        let s = stats(&mut c, "");
        assert!(
            num(&s, "malloc_bytes") <= 1 << 20,
            "over the limit: {}",
            num(&s, "malloc_bytes")
        );
    }
    let s = stats(&mut c, "");
    assert!(
        num(&s, "evictions") > 1000,
        "evictions {}",
        num(&s, "evictions")
    );
    assert!(num(&s, "evicted_unfetched") > 0);
    assert!(num(&s, "curr_items") < 8050);
}

#[test]
fn error_on_memory_exhausted_refuses_instead_of_evicting() {
    let mut params = ONE_MB.to_vec();
    params.push(("error_on_memory_exhausted", "1"));
    let node = start_node(&params);
    let mut c = connect(node.addr());
    let replies = fill(&mut c, "k", 5000, 400);
    assert!(
        replies.contains("SERVER_ERROR out of memory storing object\r\n"),
        "never refused"
    );
    let s = stats(&mut c, "");
    assert_eq!(num(&s, "evictions"), 0);
    assert!(num(&s, "store_no_memory") > 0);
    // What was stored first is still there.
    assert!(exchange(&mut c, b"get k0\r\n", b"END\r\n").starts_with(b"VALUE k0 "));
}

#[test]
fn memory_freed_by_small_items_serves_large_ones() {
    // memcached without slab moves keeps memory in the small items' slab class ("calcification")
    // and then cannot store large items; here any freed memory serves any size.
    let node = start_node(&ONE_MB);
    let mut c = connect(node.addr());
    // 10,000 small items take about 800 KB of the 1 MB.
    fill(&mut c, "small", 10_000, 30);
    assert_eq!(num(&stats(&mut c, ""), "curr_items"), 10_000);
    assert_eq!(exchange(&mut c, b"flush_all\r\n", b"\r\n"), b"OK\r\n");
    let replies = fill(&mut c, "large", 9, 100_000);
    assert_eq!(replies.matches("STORED").count(), 9, "{replies}");
    let s = stats(&mut c, "");
    assert_eq!(num(&s, "curr_items"), 9);
    assert_eq!(
        num(&s, "evictions"),
        0,
        "no eviction needed: the memory was free"
    );
    // And back to small items after the large ones go.
    for i in 0..9 {
        exchange(&mut c, format!("delete large{i}\r\n").as_bytes(), b"\r\n");
    }
    let replies = fill(&mut c, "again", 10_000, 30);
    assert_eq!(replies.matches("STORED").count(), 10_000);
    assert_eq!(num(&stats(&mut c, ""), "evictions"), 0);
}

#[test]
fn expired_items_are_reclaimed_without_being_read() {
    let node = start_node(&[]);
    let mut c = connect(node.addr());
    let value = "e".repeat(10);
    let mut req = String::new();
    for i in 0..2000 {
        req.push_str(&format!("set exp{i} 0 1 10 noreply\r\n{value}\r\n"));
    }
    req.push_str("mn\r\n");
    exchange(&mut c, req.as_bytes(), b"MN\r\n");
    assert_eq!(num(&stats(&mut c, ""), "curr_items"), 2000);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = stats(&mut c, "");
        if num(&s, "curr_items") == 0 {
            assert_eq!(num(&s, "crawler_reclaimed"), 2000);
            assert_eq!(num(&s, "reclaimed"), 2000);
            assert_eq!(num(&s, "expired_unfetched"), 2000);
            break;
        }
        assert!(Instant::now() < deadline, "crawler did not reclaim: {s:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn cas_disabled_gives_zero_cas() {
    let node = start_node(&[("cas_disabled", "1")]);
    let mut c = connect(node.addr());
    exchange(&mut c, b"set a 0 0 1\r\nx\r\n", b"\r\n");
    assert_eq!(
        exchange(&mut c, b"gets a\r\n", b"END\r\n"),
        b"VALUE a 0 1 0\r\nx\r\nEND\r\n"
    );
    let s = stats(&mut c, "settings");
    assert_eq!(s["cas_enabled"], "no");
}

#[test]
fn chunk_size_and_growth_factor_shape_stats_slabs() {
    let node = start_node(&[("chunk_size", "96"), ("chunk_size_growth_factor", "2")]);
    let mut c = connect(node.addr());
    // memcached's item header (48) + 96 = 144, then doubling: 288, 576.
    exchange(&mut c, b"set a 0 0 1\r\nx\r\n", b"\r\n");
    exchange(
        &mut c,
        format!("set b 0 0 200\r\n{}\r\n", "y".repeat(200)).as_bytes(),
        b"\r\n",
    );
    let s = stats(&mut c, "slabs");
    assert_eq!(s["1:chunk_size"], "144");
    assert_eq!(s["1:used_chunks"], "1");
    assert_eq!(s["2:chunk_size"], "288");
    assert_eq!(s["2:used_chunks"], "1");
    assert_eq!(s["active_slabs"], "2");
    let st = stats(&mut c, "settings");
    assert_eq!(
        (st["chunk_size"].as_str(), st["growth_factor"].as_str()),
        ("96", "2.00")
    );
    let items = stats(&mut c, "items");
    assert_eq!(items["items:1:number"], "1");
}

#[test]
fn binding_protocol_ascii_refuses_binary() {
    let node = start_node(&[("binding_protocol", "ascii")]);
    let mut c = connect(node.addr());
    let mut req = Vec::new();
    memcache_proto::binary::encode_request(&mut req, 0x0a, 0, 0, &[], b"", b"");
    c.write_all(&req).unwrap();
    c.write_all(b"\r\nversion\r\n").unwrap();
    let reply = memcached_common::read_until(&mut c, b"VERSION 1.6.18\r\n");
    assert!(
        reply.starts_with(b"ERROR\r\n"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
}

#[test]
fn slabs_commands_answer_like_memcached() {
    let node = start_node(&[("slab_reassign", "1")]);
    let mut c = connect(node.addr());
    assert_eq!(
        exchange(&mut c, b"slabs reassign 1 1\r\n", b"\r\n"),
        b"SAME src and dst class are identical\r\n"
    );
    assert_eq!(
        exchange(&mut c, b"slabs reassign 1 99\r\n", b"\r\n"),
        b"BADCLASS invalid src or dst class id\r\n"
    );
    assert_eq!(
        exchange(&mut c, b"slabs reassign 1 2\r\n", b"\r\n"),
        b"NOSPARE source class has no spare pages\r\n"
    );
    assert_eq!(
        exchange(&mut c, b"slabs automove 2\r\n", b"\r\n"),
        b"OK\r\n"
    );
    assert_eq!(stats(&mut c, "settings")["slab_automove"], "2");
    let off = start_node(&[]);
    let mut c = connect(off.addr());
    assert_eq!(
        exchange(&mut c, b"slabs reassign 1 2\r\n", b"\r\n"),
        b"CLIENT_ERROR slab reassignment disabled\r\n"
    );
}
