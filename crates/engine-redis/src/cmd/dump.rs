//! DUMP and RESTORE with Redis's serialization (the `rdb` crate's value encoding, RDB version 10
//! and CRC64 trailer), plus the conversion between keyspace values and `rdb::Value` that RDB
//! snapshots use too.

use super::{err, CmdResult, Ctx, Error, NOT_INT, SYNTAX};
use crate::db::{AccessTracking, OwnedValue};
use crate::notify::GENERIC;
use crate::types::{list::End, Aggregate, Hash, Limits, List, Set, Stream, ZSet};
use crate::util::{eq_ignore_case, parse_i64};

/// A keyspace value in the `rdb` crate's plain form.
pub fn to_rdb(v: &OwnedValue) -> rdb::Value {
    match v {
        OwnedValue::Str(s) => rdb::Value::String(s.clone()),
        OwnedValue::Agg(Aggregate::List(l)) => {
            rdb::Value::List(l.iter().map(<[u8]>::to_vec).collect())
        }
        OwnedValue::Agg(Aggregate::Set(s)) => {
            rdb::Value::Set(s.members().into_iter().map(<[u8]>::to_vec).collect())
        }
        OwnedValue::Agg(Aggregate::ZSet(z)) => {
            rdb::Value::SortedSet(z.iter().map(|n| (n.member.to_vec(), n.score)).collect())
        }
        OwnedValue::Agg(Aggregate::Hash(h)) => {
            rdb::Value::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
        }
        OwnedValue::Agg(Aggregate::Stream(s)) => rdb::Value::Stream(Box::new(s.to_rdb())),
    }
}

/// A value read from RDB data, in the keyspace's types (encodings follow `limits`).
pub fn from_rdb(v: rdb::Value, limits: &Limits) -> OwnedValue {
    match v {
        rdb::Value::String(s) => OwnedValue::Str(s),
        rdb::Value::List(items) => {
            let mut l = List::default();
            for i in &items {
                l.push(End::Tail, i);
            }
            OwnedValue::Agg(Aggregate::List(l))
        }
        rdb::Value::Set(members) => {
            let mut s = Set::default();
            for m in &members {
                s.add(m, limits);
            }
            OwnedValue::Agg(Aggregate::Set(s))
        }
        rdb::Value::SortedSet(pairs) => {
            let mut z = ZSet::default();
            for (m, score) in &pairs {
                z.insert(m, *score, limits);
            }
            OwnedValue::Agg(Aggregate::ZSet(z))
        }
        rdb::Value::Hash(pairs) => {
            let mut h = Hash::default();
            for (f, v) in &pairs {
                h.set(f, v, limits);
            }
            OwnedValue::Agg(Aggregate::Hash(h))
        }
        rdb::Value::Stream(s) => OwnedValue::Agg(Aggregate::Stream(Stream::from_rdb(*s))),
    }
}

pub fn dump(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let key = &ctx.argv[1];
    if ctx.srv.ks.lookup_read(db, key).is_none() {
        ctx.out.null();
        return Ok(());
    }
    let (v, _) = ctx.srv.ks.clone_value(db, key).expect("key just looked up");
    let value = to_rdb(&v);
    let payload = rdb::dump::encode(&value).map_err(|e| Error::msg(format!("ERR {e}")))?;
    ctx.out.bulk(&payload);
    Ok(())
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
pub fn restore(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (mut replace, mut absttl, mut idle, mut freq) = (false, false, None, None);
    let mut i = 4;
    while i < a.len() {
        let more = i + 1 < a.len();
        if eq_ignore_case(&a[i], "replace") {
            replace = true;
        } else if eq_ignore_case(&a[i], "absttl") {
            absttl = true;
        } else if eq_ignore_case(&a[i], "idletime") && more && freq.is_none() {
            i += 1;
            let v = parse_i64(&a[i]).ok_or(Error::msg(NOT_INT))?;
            if v < 0 {
                return err("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
        } else if eq_ignore_case(&a[i], "freq") && more && idle.is_none() {
            i += 1;
            let v = parse_i64(&a[i]).ok_or(Error::msg(NOT_INT))?;
            if !(0..=255).contains(&v) {
                return err("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
        } else {
            return err(SYNTAX);
        }
        i += 1;
    }
    let key = &a[1];
    let mut ttl = parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))?;
    if ttl < 0 {
        return err("ERR Invalid TTL value, must be >= 0");
    }
    if !replace && ctx.srv.ks.lookup(db, key).is_some() {
        return err("BUSYKEY Target key name already exists.");
    }
    let value = match rdb::dump::decode(&a[3]) {
        Ok(v) => v,
        Err(rdb::Error::UnsupportedVersion(_) | rdb::Error::ChecksumMismatch { .. }) => {
            return err("ERR DUMP payload version or checksum are wrong")
        }
        Err(_) => return err("ERR Bad data format"),
    };
    let now = crate::util::now_ms();
    if ttl > 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    let deleted = replace && ctx.srv.ks.delete(db, key);
    if ttl > 0 && ttl <= now {
        // Already expired: the key is gone (Redis replies OK and reports a deletion).
        if deleted {
            ctx.modified(db, key, GENERIC, "del");
        }
        ctx.out.ok();
        return Ok(());
    }
    let limits = ctx.srv.ks.limits;
    ctx.srv.ks.set_owned(db, key, from_rdb(value, &limits));
    if ttl > 0 {
        ctx.srv.ks.set_expire(db, key, ttl);
    }
    // IDLETIME / FREQ set the eviction hint of the policy in use (redis's objectSetLRUOrLFU).
    let ks = &mut ctx.srv.ks;
    let meta = match ks.tracking {
        AccessTracking::Lfu { .. } => {
            freq.map(|f| ((((ks.now / 60_000) & 0xffff) as u32) << 8) | f as u32)
        }
        AccessTracking::Lru => idle.map(|secs| ks.lru_clock().wrapping_sub(secs as u32)),
    };
    if let (Some(meta), Some(idx)) = (meta, ks.peek(db, key)) {
        ks.slot_mut(db, idx).meta = meta;
    }
    ctx.modified(db, key, GENERIC, "restore");
    ctx.out.ok();
    Ok(())
}
