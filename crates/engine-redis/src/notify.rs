//! Keyspace notifications (`notify-keyspace-events`): events published on
//! `__keyspace@<db>__:<key>` (message: the event) and `__keyevent@<db>__:<event>` (message: the key).

use crate::client::Client;
use crate::server::Server;

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;
/// What `A` stands for.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses the parameter's letters; `None` on an unknown letter.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// Canonical text of the flags, as CONFIG GET prints them.
pub fn flags_to_string(f: u32) -> String {
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [
        (KEYSPACE, 'K'),
        (KEYEVENT, 'E'),
        (KEY_MISS, 'm'),
        (NEW, 'n'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Publishes an event if the configuration enables its class. `out` is the reply buffer of
/// `current`, so a RESP3 client subscribed to its own events gets them before its reply.
pub fn notify(
    srv: &mut Server,
    mut current: Option<&mut Client>,
    mut out: Option<&mut resp::ReplyBuf>,
    class: u32,
    event: &str,
    db: usize,
    key: &[u8],
) {
    // A command's `new` event comes before its own, as redis sends it from dbAdd.
    flush_new_keys(srv, current.as_deref_mut(), out.as_deref_mut());
    publish(srv, current, out, class, event, db, key);
}

/// Publishes the `new` events of the keys added since the last call (`n` in
/// `notify-keyspace-events`; the keyspace logs them only while that is set).
pub fn flush_new_keys(
    srv: &mut Server,
    mut current: Option<&mut Client>,
    mut out: Option<&mut resp::ReplyBuf>,
) {
    let Some(log) = srv.ks.new_keys_log.as_mut().filter(|l| !l.is_empty()) else {
        return;
    };
    for (db, key) in std::mem::take(log) {
        publish(
            srv,
            current.as_deref_mut(),
            out.as_deref_mut(),
            NEW,
            "new",
            db,
            &key,
        );
    }
}

/// One event on the keyspace and keyevent channels the configuration enables.
fn publish(
    srv: &mut Server,
    current: Option<&mut Client>,
    mut out: Option<&mut resp::ReplyBuf>,
    class: u32,
    event: &str,
    db: usize,
    key: &[u8],
) {
    let flags = srv.config.notify_flags;
    if flags & class == 0 || flags & (KEYSPACE | KEYEVENT) == 0 {
        return;
    }
    let mut cur = current;
    if flags & KEYSPACE != 0 {
        let mut chan = format!("__keyspace@{db}__:").into_bytes();
        chan.extend_from_slice(key);
        crate::pubsub::publish(
            srv,
            cur.as_deref_mut(),
            &chan,
            event.as_bytes(),
            out.as_deref_mut(),
        );
    }
    if flags & KEYEVENT != 0 {
        let chan = format!("__keyevent@{db}__:{event}").into_bytes();
        crate::pubsub::publish(srv, cur, &chan, key, out);
    }
}
