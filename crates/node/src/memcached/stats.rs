//! `stats` replies, with memcached's names and order (`STAT <name> <value>\r\n` ... `END\r\n`).

use std::sync::atomic::Ordering::Relaxed;

use engine_memcached::slabs::SLAB_PAGE_SIZE;
use engine_memcached::stats::ThreadStats;
use memcache_proto::text::StatsGroup;

use super::Shared;

/// The version we report; clients compare it to choose features (Auto Discovery needs
/// ≥ 1.4.14, meta commands ≥ 1.6), so it is the memcached version whose protocol we speak.
pub const VERSION: &str = "1.6.18";

/// Writes the reply to `stats [group]`, or returns false for an unknown group.
pub fn write(shared: &Shared, group: StatsGroup<'_>, out: &mut Vec<u8>) -> bool {
    let mut lines: Vec<(String, String)> = Vec::new();
    match group {
        StatsGroup::General => general(shared, &mut lines),
        StatsGroup::Settings => settings(shared, &mut lines),
        StatsGroup::Items => items(shared, &mut lines),
        StatsGroup::Slabs => slabs(shared, &mut lines),
        StatsGroup::Sizes => {
            for (size, n) in shared.store.size_histogram() {
                lines.push((size.to_string(), n.to_string()));
            }
        }
        StatsGroup::Conns => {
            let conns = shared.conns.lock();
            let mut ids: Vec<_> = conns.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let (addr, listen) = &conns[&id];
                lines.push((format!("{id}:addr"), addr.clone()));
                lines.push((format!("{id}:listen_addr"), listen.clone()));
            }
        }
        StatsGroup::Reset => {
            shared.store.reset_stats();
            out.extend_from_slice(b"RESET\r\n");
            return true;
        }
        StatsGroup::Other(rest) => return other(shared, rest, out),
    }
    for (name, value) in lines {
        out.extend_from_slice(b"STAT ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"END\r\n");
    true
}

fn rusage() -> (String, String) {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| format!("{}.{:06}", tv.tv_sec, tv.tv_usec);
    (t(ru.ru_utime), t(ru.ru_stime))
}

fn general(shared: &Shared, v: &mut Vec<(String, String)>) {
    let store = &shared.store;
    let now = store.clock.now();
    let g = &store.global;
    let mut push = |n: &str, val: String| v.push((n.to_string(), val));
    let (user, system) = rusage();
    push("pid", std::process::id().to_string());
    push("uptime", now.to_string());
    push("time", store.clock.unix(now).to_string());
    push("version", VERSION.to_string());
    push("libevent", "tokio".to_string());
    push(
        "pointer_size",
        (8 * std::mem::size_of::<usize>()).to_string(),
    );
    push("rusage_user", user);
    push("rusage_system", system);
    let settings = store.settings();
    push(
        "max_connections",
        settings.max_simultaneous_connections.to_string(),
    );
    push(
        "curr_connections",
        g.curr_connections.load(Relaxed).to_string(),
    );
    push(
        "total_connections",
        g.total_connections.load(Relaxed).to_string(),
    );
    push(
        "rejected_connections",
        g.rejected_connections.load(Relaxed).to_string(),
    );
    push(
        "connection_structures",
        g.curr_connections.load(Relaxed).to_string(),
    );
    let totals = store.thread_totals();
    let t = |name: &str| {
        totals
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| *v)
    };
    for name in ThreadStats::names() {
        if matches!(
            *name,
            "bytes_read" | "bytes_written" | "cmd_config_get" | "cmd_config_set"
        ) {
            continue;
        }
        push(name, t(name).to_string());
    }
    push("bytes_read", t("bytes_read").to_string());
    push("bytes_written", t("bytes_written").to_string());
    push("limit_maxbytes", store.limit_bytes().to_string());
    push("accepting_conns", "1".to_string());
    push(
        "listen_disabled_num",
        g.listen_disabled_num.load(Relaxed).to_string(),
    );
    push("threads", shared.threads.to_string());
    push("conn_yields", shared.conn_yields.load(Relaxed).to_string());
    let hash_bytes = store.hash_bytes();
    push(
        "hash_power_level",
        (usize::BITS - 1 - (hash_bytes / 8).max(1).leading_zeros()).to_string(),
    );
    push("hash_bytes", hash_bytes.to_string());
    push("hash_is_expanding", "0".to_string());
    push("slab_reassign_rescues", "0".to_string());
    push("slabs_moved", g.slabs_moved.load(Relaxed).to_string());
    push("bytes", store.item_bytes().to_string());
    push("curr_items", store.curr_items().to_string());
    push("total_items", g.total_items.load(Relaxed).to_string());
    push(
        "expired_unfetched",
        g.expired_unfetched.load(Relaxed).to_string(),
    );
    push(
        "evicted_unfetched",
        g.evicted_unfetched.load(Relaxed).to_string(),
    );
    push("evictions", g.evictions.load(Relaxed).to_string());
    push("reclaimed", g.reclaimed.load(Relaxed).to_string());
    push(
        "crawler_reclaimed",
        g.crawler_reclaimed.load(Relaxed).to_string(),
    );
    push(
        "crawler_items_checked",
        g.crawler_items_checked.load(Relaxed).to_string(),
    );
    push("malloc_bytes", store.used_bytes().to_string());
    push("cmd_config_get", t("cmd_config_get").to_string());
    push("cmd_config_set", t("cmd_config_set").to_string());
    push(
        "curr_config",
        u8::from(store.cluster_config().is_some()).to_string(),
    );
}

fn settings(shared: &Shared, v: &mut Vec<(String, String)>) {
    let s = shared.store.settings();
    let mut push = |n: &str, val: String| v.push((n.to_string(), val));
    let on = |b: bool| if b { "yes" } else { "no" }.to_string();
    push("maxbytes", s.limit_bytes().to_string());
    push("maxconns", s.max_simultaneous_connections.to_string());
    push("tcpport", shared.port.to_string());
    push("udpport", "0".to_string());
    push("verbosity", shared.verbosity.load(Relaxed).to_string());
    push("oldest", "0".to_string());
    push(
        "evictions",
        if s.error_on_memory_exhausted {
            "off"
        } else {
            "on"
        }
        .to_string(),
    );
    push(
        "growth_factor",
        format!("{:.2}", s.chunk_size_growth_factor),
    );
    push("chunk_size", s.chunk_size.to_string());
    push("num_threads", shared.threads.to_string());
    push("cas_enabled", on(!s.cas_disabled));
    push("reqs_per_event", s.requests_per_event.to_string());
    push("tcp_backlog", s.backlog_queue_limit.to_string());
    push(
        "binding_protocol",
        match s.binding_protocol {
            engine_memcached::settings::BindingProtocol::Auto => "auto-negotiate",
            engine_memcached::settings::BindingProtocol::Ascii => "ascii",
            engine_memcached::settings::BindingProtocol::Binary => "binary",
        }
        .to_string(),
    );
    push("item_size_max", s.max_item_size.to_string());
    push("maxconns_fast", on(s.maxconns_fast));
    push("hashpower_init", s.hashpower_init.to_string());
    push("slab_reassign", on(s.slab_reassign));
    push("slab_automove", s.slab_automove.to_string());
    push("slab_chunk_max", (SLAB_PAGE_SIZE / 2).to_string());
    push("config_max", s.config_max.to_string());
    push("config_size_max", s.config_size_max.to_string());
}

fn items(shared: &Shared, v: &mut Vec<(String, String)>) {
    let now = shared.store.clock.now();
    for (class, n, bytes, oldest) in shared.store.class_usage() {
        v.push((format!("items:{class}:number"), n.to_string()));
        v.push((
            format!("items:{class}:age"),
            now.saturating_sub(oldest).to_string(),
        ));
        v.push((format!("items:{class}:mem_requested"), bytes.to_string()));
    }
}

fn slabs(shared: &Shared, v: &mut Vec<(String, String)>) {
    let sizes = shared.store.slab_sizes();
    let usage = shared.store.class_usage();
    let mut total_pages = 0;
    for &(class, n, bytes, _) in &usage {
        let chunk = sizes[class - 1];
        let per_page = (SLAB_PAGE_SIZE / chunk).max(1) as u64;
        let pages = n.div_ceil(per_page);
        total_pages += pages;
        v.push((format!("{class}:chunk_size"), chunk.to_string()));
        v.push((format!("{class}:chunks_per_page"), per_page.to_string()));
        v.push((format!("{class}:total_pages"), pages.to_string()));
        v.push((
            format!("{class}:total_chunks"),
            (pages * per_page).to_string(),
        ));
        v.push((format!("{class}:used_chunks"), n.to_string()));
        v.push((
            format!("{class}:free_chunks"),
            (pages * per_page - n).to_string(),
        ));
        v.push((format!("{class}:free_chunks_end"), "0".to_string()));
        v.push((format!("{class}:mem_requested"), bytes.to_string()));
    }
    v.push(("active_slabs".to_string(), usage.len().to_string()));
    v.push((
        "total_malloced".to_string(),
        shared.store.used_bytes().to_string(),
    ));
    let _ = total_pages;
}

/// `stats cachedump <class> <limit>` and `stats detail on|off|dump`; anything else is unknown.
fn other(shared: &Shared, rest: &[u8], out: &mut Vec<u8>) -> bool {
    let args: Vec<&[u8]> = rest
        .split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .collect();
    match args.as_slice() {
        [b"cachedump", class, limit] => {
            let parse = |t: &[u8]| std::str::from_utf8(t).ok()?.parse::<usize>().ok();
            let (Some(class), Some(limit)) = (parse(class), parse(limit)) else {
                out.extend_from_slice(b"CLIENT_ERROR bad command line\r\n");
                return true;
            };
            if class == 0 || class > shared.store.slab_sizes().len() {
                out.extend_from_slice(b"CLIENT_ERROR Illegal slab id\r\n");
                return true;
            }
            let started = shared.store.clock.process_started();
            for (key, size, exptime) in shared.store.class_items(class, limit) {
                let exp = if exptime == 0 {
                    0
                } else {
                    started + i64::from(exptime)
                };
                out.extend_from_slice(b"ITEM ");
                out.extend_from_slice(&key);
                out.extend_from_slice(format!(" [{size} b; {exp} s]\r\n").as_bytes());
            }
            out.extend_from_slice(b"END\r\n");
        }
        [b"cachedump", ..] => out.extend_from_slice(b"CLIENT_ERROR bad command line\r\n"),
        // Per-prefix statistics are not collected: on/off are accepted, the dump is empty.
        [b"detail", b"on" | b"off"] => out.extend_from_slice(b"OK\r\n"),
        [b"detail", b"dump"] => out.extend_from_slice(b"END\r\n"),
        [b"detail", ..] => {
            out.extend_from_slice(b"CLIENT_ERROR usage: stats detail on|off|dump\r\n")
        }
        _ => return false,
    }
    true
}
