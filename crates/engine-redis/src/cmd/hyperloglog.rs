//! PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST over string values holding Redis's HyperLogLog bytes (`crate::hll`).

use super::{err, CmdResult, Ctx, Error, WRONGTYPE};
use crate::hll::{self, HllError};
use crate::notify::STRING;

fn hll_error(e: HllError) -> Error {
    Error::msg(e.to_string())
}

fn sparse_max_bytes(ctx: &Ctx) -> usize {
    ctx.srv
        .config
        .value_of("hll-sparse-max-bytes")
        .parse()
        .unwrap_or(hll::DEFAULT_SPARSE_MAX_BYTES)
}

/// The string value of `key` for reading (None if missing); WRONGTYPE for other types.
fn read_value(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let db = ctx.db();
    Ok(ctx.srv.ks.get_str(db, key)?.map(<[u8]>::to_vec))
}

pub fn pfadd(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let key = &a[1];
    let elements: Vec<&[u8]> = a.iter().skip(2).collect();
    let max = sparse_max_bytes(ctx);
    let existing = ctx.srv.ks.get_str_w(db, key)?.map(<[u8]>::to_vec);
    let updated = match existing {
        None => {
            let v = hll::pfadd_new(&elements, max);
            ctx.srv.ks.set_str(db, key, &v, false);
            true
        }
        Some(mut v) => {
            let changed = hll::pfadd(&mut v, &elements, max).map_err(hll_error)?;
            if changed {
                let idx = ctx.srv.ks.lookup(db, key).expect("key just read");
                ctx.srv.ks.replace_str(db, idx, &v);
            }
            changed
        }
    };
    if updated {
        ctx.modified(db, key, STRING, "pfadd");
    }
    ctx.out.int(updated as i64);
    Ok(())
}

pub fn pfcount(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    if a.len() == 2 {
        let key = &a[1];
        let Some(mut v) = read_value(ctx, key)? else {
            ctx.out.int(0);
            return Ok(());
        };
        let (count, cache_written) = hll::pfcount_cached(&mut v).map_err(hll_error)?;
        if cache_written {
            // Redis stores the computed count in the value: a (silent) modification.
            if let Some(idx) = ctx.srv.ks.lookup(db, key) {
                ctx.srv.ks.replace_str(db, idx, &v);
            }
            ctx.srv.touch_watched(db, key, Some(&mut *ctx.client));
            ctx.srv.stats.dirty += 1;
        }
        ctx.out.int(count as i64);
        return Ok(());
    }
    let mut values = Vec::new();
    for key in a.iter().skip(1) {
        if let Some(v) = read_value(ctx, key)? {
            values.push(v);
        }
    }
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    ctx.out.int(hll::pfcount(&refs).map_err(hll_error)? as i64);
    Ok(())
}

pub fn pfmerge(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let dest_key = &a[1];
    let dest = match ctx.srv.ks.get_str_w(db, dest_key) {
        Ok(v) => v.map(<[u8]>::to_vec),
        Err(_) => return err(WRONGTYPE),
    };
    let mut sources = Vec::new();
    for key in a.iter().skip(2) {
        if let Some(v) = read_value(ctx, key)? {
            sources.push(v);
        }
    }
    let refs: Vec<&[u8]> = sources.iter().map(Vec::as_slice).collect();
    let merged = hll::pfmerge(dest.as_deref(), &refs, sparse_max_bytes(ctx)).map_err(hll_error)?;
    match ctx.srv.ks.lookup(db, dest_key) {
        Some(idx) => ctx.srv.ks.replace_str(db, idx, &merged),
        None => ctx.srv.ks.set_str(db, dest_key, &merged, false),
    }
    ctx.modified(db, dest_key, STRING, "pfadd");
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key: redis's window on the representation.
pub fn pfdebug(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let sub = crate::util::lower(&a[1]);
    let Some(mut v) = ctx.srv.ks.get_str_w(db, &a[2])?.map(<[u8]>::to_vec) else {
        return err("ERR The specified key does not exist");
    };
    hll::validate(&v).map_err(hll_error)?;
    match sub.as_str() {
        "getreg" => {
            let was_sparse = hll::is_sparse(&v);
            let regs = hll::registers(&mut v).map_err(hll_error)?;
            if was_sparse {
                // The encoding changed: stored and propagated as a write, as redis does.
                ctx.srv.ks.set_str(db, &a[2], &v, true);
                ctx.srv.stats.dirty += 1;
            }
            ctx.out.array(regs.len());
            for r in regs {
                ctx.out.int(r as i64);
            }
        }
        "decode" => match hll::decode_sparse(&v).map_err(hll_error)? {
            Some(text) => ctx.out.bulk(text.as_bytes()),
            None => return err("ERR HLL encoding is not sparse"),
        },
        "encoding" => ctx.out.simple(hll::encoding_name(&v)),
        "todense" => {
            let converted = hll::to_dense(&mut v).map_err(hll_error)?;
            if converted {
                ctx.srv.ks.set_str(db, &a[2], &v, true);
                ctx.srv.stats.dirty += 1;
            }
            ctx.out.int(converted as i64);
        }
        _ => {
            return Err(Error::msg(format!(
                "ERR Unknown PFDEBUG subcommand '{}'",
                String::from_utf8_lossy(&a[1])
            )))
        }
    }
    Ok(())
}

/// PFSELFTEST: `hll::self_test`.
pub fn pfselftest(ctx: &mut Ctx) -> CmdResult {
    match hll::self_test() {
        Ok(()) => ctx.out.ok(),
        Err(e) => return Err(Error::msg(e)),
    }
    Ok(())
}
