//! Geo commands (redis's geo.c / geohash.c): positions stored as sorted-set members whose score
//! is redis's 52-bit interleaved geohash, so data moves to and from real Redis unchanged.
//!
//! Searches scan the whole sorted set and filter by exact distance; redis narrows the scan to
//! nine geohash cells first, which returns the same members.

use super::{err, CmdResult, Ctx, Error, NOT_FLOAT, NOT_INT, SYNTAX};
use crate::db::OwnedValue;
use crate::notify::{GENERIC, ZSET};
use crate::types::{Aggregate, ZSet};
use crate::util::{eq_ignore_case, lower, parse_f64, parse_i64};

const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
const LON_MIN: f64 = -180.0;
const LON_MAX: f64 = 180.0;
const STEP: u32 = 26;
const EARTH_RADIUS_M: f64 = 6372797.560856;

fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFF;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FF;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0F;
    x = (x | (x << 2)) & 0x3333333333333333;
    (x | (x << 1)) & 0x5555555555555555
}

fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555555555555555;
    x = (x | (x >> 1)) & 0x3333333333333333;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0F;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FF;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFF;
    ((x | (x >> 16)) & 0x00000000FFFFFFFF) as u32
}

/// Latitude bits on even positions, longitude on odd (redis's `interleave64`).
fn encode(lon: f64, lat: f64, lat_range: (f64, f64), lon_range: (f64, f64)) -> u64 {
    let lat_off = (lat - lat_range.0) / (lat_range.1 - lat_range.0) * (1u64 << STEP) as f64;
    let lon_off = (lon - lon_range.0) / (lon_range.1 - lon_range.0) * (1u64 << STEP) as f64;
    spread(lat_off as u32) | (spread(lon_off as u32) << 1)
}

pub fn encode_wgs84(lon: f64, lat: f64) -> u64 {
    encode(lon, lat, (LAT_MIN, LAT_MAX), (LON_MIN, LON_MAX))
}

/// Centre of the cell of a 52-bit hash: (longitude, latitude).
pub fn decode(bits: u64) -> (f64, f64) {
    let ilat = squash(bits) as f64;
    let ilon = squash(bits >> 1) as f64;
    let n = (1u64 << STEP) as f64;
    let (lat_scale, lon_scale) = (LAT_MAX - LAT_MIN, LON_MAX - LON_MIN);
    let lat_min = LAT_MIN + (ilat / n) * lat_scale;
    let lat_max = LAT_MIN + ((ilat + 1.0) / n) * lat_scale;
    let lon_min = LON_MIN + (ilon / n) * lon_scale;
    let lon_max = LON_MIN + ((ilon + 1.0) / n) * lon_scale;
    let lon = ((lon_min + lon_max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((lat_min + lat_max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

fn rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (rad(lat2) - rad(lat1)).abs()
}

/// Haversine distance in meters, exactly as redis computes it.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((rad(lon2) - rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let u = ((rad(lat2) - rad(lat1)) / 2.0).sin();
    let a = u * u + rad(lat1).cos() * rad(lat2).cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

fn unit_factor(u: &[u8]) -> Result<f64, Error> {
    match lower(u).as_str() {
        "m" => Ok(1.0),
        "km" => Ok(1000.0),
        "ft" => Ok(0.3048),
        "mi" => Ok(1609.34),
        _ => err("ERR unsupported unit provided. please use M, KM, FT, MI"),
    }
}

/// `addReplyHumanLongDouble`: up to 17 decimals, trailing zeros removed.
fn human(d: f64) -> Vec<u8> {
    let s = format!("{d:.17}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.as_bytes().to_vec()
}

fn parse_lonlat(ctx: &Ctx, i: usize) -> Result<(f64, f64), Error> {
    let lon = parse_f64(&ctx.argv[i]).ok_or(Error::msg(NOT_FLOAT))?;
    let lat = parse_f64(&ctx.argv[i + 1]).ok_or(Error::msg(NOT_FLOAT))?;
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(Error::msg(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

pub fn geoadd(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut i = 2;
    while i < a.len() {
        if eq_ignore_case(&a[i], "nx") {
            nx = true;
        } else if eq_ignore_case(&a[i], "xx") {
            xx = true;
        } else if eq_ignore_case(&a[i], "ch") {
            ch = true;
        } else {
            break;
        }
        i += 1;
    }
    // As redis: a count that is not whole triples, and NX with XX, are syntax errors.
    if !(a.len() - i).is_multiple_of(3) || (nx && xx) {
        return err(SYNTAX);
    }
    if a.len() == i {
        return Err(Error::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.spec.name
        )));
    }
    let mut items = Vec::new();
    for j in (i..a.len()).step_by(3) {
        let (lon, lat) = parse_lonlat(ctx, j)?;
        items.push((encode_wgs84(lon, lat) as f64, &a[j + 2]));
    }
    let db = ctx.db();
    let limits = ctx.srv.ks.limits;
    if xx && ctx.srv.ks.get_zset(db, &a[1])?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let z = ctx.srv.ks.zset_or_create(db, &a[1])?;
    let (mut added, mut changed) = (0, 0);
    for (score, m) in items {
        match z.score(m) {
            Some(old) => {
                if !nx && old != score {
                    z.insert(m, score, &limits);
                    changed += 1;
                }
            }
            None => {
                if !xx {
                    z.insert(m, score, &limits);
                    added += 1;
                }
            }
        }
    }
    if added + changed > 0 {
        ctx.modified(db, &a[1], ZSET, "zadd");
    } else {
        ctx.srv.ks.remove_if_empty(db, &a[1]);
    }
    ctx.out.int(if ch { added + changed } else { added });
    Ok(())
}

pub fn geopos(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let scores: Vec<Option<f64>> = match ctx.srv.ks.get_zset(db, &a[1])? {
        Some(z) => a.iter().skip(2).map(|m| z.score(m)).collect(),
        None => vec![None; a.len() - 2],
    };
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => {
                let (lon, lat) = decode(s as u64);
                ctx.out.array(2);
                ctx.out.bulk(&human(lon));
                ctx.out.bulk(&human(lat));
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

pub fn geodist(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if a.len() > 5 {
        return err(SYNTAX);
    }
    let factor = if a.len() == 5 {
        unit_factor(&a[4])?
    } else {
        1.0
    };
    let db = ctx.db();
    let (s1, s2) = match ctx.srv.ks.get_zset(db, &a[1])? {
        Some(z) => (z.score(&a[2]), z.score(&a[3])),
        None => (None, None),
    };
    match (s1, s2) {
        (Some(x), Some(y)) => {
            let (lon1, lat1) = decode(x as u64);
            let (lon2, lat2) = decode(y as u64);
            let d = distance(lon1, lat1, lon2, lat2) / factor;
            ctx.out.bulk(format!("{d:.4}").as_bytes());
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

pub fn geohash(ctx: &mut Ctx) -> CmdResult {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let a = ctx.argv;
    let db = ctx.db();
    let scores: Vec<Option<f64>> = match ctx.srv.ks.get_zset(db, &a[1])? {
        Some(z) => a.iter().skip(2).map(|m| z.score(m)).collect(),
        None => vec![None; a.len() - 2],
    };
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => {
                let (lon, lat) = decode(s as u64);
                let bits = encode(lon, lat, (-90.0, 90.0), (-180.0, 180.0));
                let mut out = Vec::with_capacity(11);
                for i in 0..11 {
                    let idx = if i == 10 {
                        0
                    } else {
                        ((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize
                    };
                    out.push(ALPHABET[idx]);
                }
                ctx.out.bulk(&out);
            }
            None => ctx.out.null(),
        }
    }
    Ok(())
}

enum Shape {
    Radius(f64),
    Box(f64, f64),
}

struct Search {
    center: Option<(f64, f64)>,
    from_member: Option<Vec<u8>>,
    shape: Option<Shape>,
    factor: f64,
    with_coord: bool,
    with_dist: bool,
    with_hash: bool,
    count: Option<usize>,
    any: bool,
    sort: Option<bool>,
    store: Option<(Vec<u8>, bool)>,
}

/// Which command grammar is being parsed.
#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Radius,
    RadiusByMember,
    Search,
    SearchStore,
}

fn parse_search(ctx: &Ctx, flavor: Flavor, readonly: bool) -> Result<Search, Error> {
    let a = ctx.argv;
    let mut s = Search {
        center: None,
        from_member: None,
        shape: None,
        factor: 1.0,
        with_coord: false,
        with_dist: false,
        with_hash: false,
        count: None,
        any: false,
        sort: None,
        store: None,
    };
    let mut i = match flavor {
        Flavor::Radius => {
            s.center = Some(parse_lonlat(ctx, 2)?);
            let r = parse_f64(&a[4]).ok_or(Error::msg("ERR need numeric radius"))?;
            if r < 0.0 {
                return err("ERR radius cannot be negative");
            }
            s.factor = unit_factor(&a[5])?;
            s.shape = Some(Shape::Radius(r * s.factor));
            6
        }
        Flavor::RadiusByMember => {
            s.from_member = Some(a[2].to_vec());
            let r = parse_f64(&a[3]).ok_or(Error::msg("ERR need numeric radius"))?;
            if r < 0.0 {
                return err("ERR radius cannot be negative");
            }
            s.factor = unit_factor(&a[4])?;
            s.shape = Some(Shape::Radius(r * s.factor));
            5
        }
        Flavor::Search => 2,
        Flavor::SearchStore => 3,
    };
    let search = matches!(flavor, Flavor::Search | Flavor::SearchStore);
    while i < a.len() {
        let o = lower(&a[i]);
        let left = a.len() - i - 1;
        match o.as_str() {
            "withcoord" => s.with_coord = true,
            "withdist" => s.with_dist = true,
            "withhash" => s.with_hash = true,
            "any" => s.any = true,
            "asc" => s.sort = Some(true),
            "desc" => s.sort = Some(false),
            "count" if left >= 1 => {
                let n = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
                if n <= 0 {
                    return err("ERR COUNT must be > 0");
                }
                s.count = Some(n as usize);
                i += 1;
            }
            "store" | "storedist" if !search && !readonly && left >= 1 => {
                s.store = Some((a[i + 1].to_vec(), o == "storedist"));
                i += 1;
            }
            "storedist" if flavor == Flavor::SearchStore => {
                s.store = Some((a[1].to_vec(), true));
            }
            "frommember" if search && left >= 1 => {
                if s.center.is_some() || s.from_member.is_some() {
                    return err(SYNTAX);
                }
                s.from_member = Some(a[i + 1].to_vec());
                i += 1;
            }
            "fromlonlat" if search && left >= 2 => {
                if s.center.is_some() || s.from_member.is_some() {
                    return err(SYNTAX);
                }
                s.center = Some(parse_lonlat(ctx, i + 1)?);
                i += 2;
            }
            "byradius" if search && left >= 2 => {
                if s.shape.is_some() {
                    return err(SYNTAX);
                }
                let r = parse_f64(&a[i + 1]).ok_or(Error::msg("ERR need numeric radius"))?;
                if r < 0.0 {
                    return err("ERR radius cannot be negative");
                }
                s.factor = unit_factor(&a[i + 2])?;
                s.shape = Some(Shape::Radius(r * s.factor));
                i += 2;
            }
            "bybox" if search && left >= 3 => {
                if s.shape.is_some() {
                    return err(SYNTAX);
                }
                let w = parse_f64(&a[i + 1]).ok_or(Error::msg("ERR need numeric width"))?;
                let h = parse_f64(&a[i + 2]).ok_or(Error::msg("ERR need numeric height"))?;
                if w < 0.0 || h < 0.0 {
                    return err("ERR height or width cannot be negative");
                }
                s.factor = unit_factor(&a[i + 3])?;
                s.shape = Some(Shape::Box(w * s.factor, h * s.factor));
                i += 3;
            }
            _ => return err(SYNTAX),
        }
        i += 1;
    }
    if flavor == Flavor::SearchStore && s.store.is_none() {
        s.store = Some((a[1].to_vec(), false));
    }
    if search {
        if s.center.is_none() && s.from_member.is_none() {
            return err(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
            );
        }
        if s.shape.is_none() {
            return err("ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH");
        }
    }
    if s.any && s.count.is_none() {
        return err("ERR the ANY argument requires COUNT argument");
    }
    if s.store.is_some() && (s.with_coord || s.with_dist || s.with_hash) {
        return err(if flavor == Flavor::SearchStore {
            "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        } else {
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        });
    }
    Ok(s)
}

fn search_generic(ctx: &mut Ctx, flavor: Flavor, readonly: bool) -> CmdResult {
    let s = parse_search(ctx, flavor, readonly)?;
    let a = ctx.argv;
    let db = ctx.db();
    let src = if flavor == Flavor::SearchStore {
        &a[2]
    } else {
        &a[1]
    };
    let Some(members) = ctx.srv.ks.get_zset(db, src)?.map(|z| {
        z.iter()
            .map(|n| (n.member.to_vec(), n.score))
            .collect::<Vec<_>>()
    }) else {
        // As redis: a missing source answers at once (after the arguments are checked), and
        // a STORE empties its destination.
        match &s.store {
            Some((dst, _)) => {
                if ctx.srv.ks.delete(db, dst) {
                    ctx.modified(db, dst, GENERIC, "del");
                }
                ctx.out.int(0);
            }
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    let center = match (&s.center, &s.from_member) {
        (Some(c), _) => *c,
        (None, Some(m)) => match members.iter().find(|(x, _)| x == m) {
            Some((_, sc)) => decode(*sc as u64),
            None => return err("ERR could not decode requested zset member"),
        },
        _ => unreachable!("parse_search requires a centre"),
    };
    // (member, distance, stored hash, (lon, lat))
    type Hit = (Vec<u8>, f64, f64, (f64, f64));
    let mut hits: Vec<Hit> = Vec::new();
    for (m, score) in members {
        let (lon, lat) = decode(score as u64);
        let d = match s.shape {
            Some(Shape::Radius(r)) => {
                let d = distance(center.0, center.1, lon, lat);
                if d > r {
                    continue;
                }
                d
            }
            Some(Shape::Box(w, h)) => {
                if lat_distance(lat, center.1) > h / 2.0
                    || distance(lon, lat, center.0, lat) > w / 2.0
                {
                    continue;
                }
                distance(center.0, center.1, lon, lat)
            }
            None => continue,
        };
        hits.push((m, d, score, (lon, lat)));
        if s.any && s.count.is_some_and(|c| hits.len() >= c) {
            break;
        }
    }
    let sort = match (s.sort, s.count, s.any) {
        (Some(x), _, _) => Some(x),
        (None, Some(_), false) => Some(true),
        _ => None,
    };
    if let Some(asc) = sort {
        hits.sort_by(|x, y| x.1.partial_cmp(&y.1).unwrap_or(std::cmp::Ordering::Equal));
        if !asc {
            hits.reverse();
        }
    }
    if let Some(c) = s.count {
        hits.truncate(c);
    }
    if let Some((dst, storedist)) = s.store {
        let n = hits.len();
        if hits.is_empty() {
            if ctx.srv.ks.delete(db, &dst) {
                ctx.modified(db, &dst, GENERIC, "del");
            }
        } else {
            let limits = ctx.srv.ks.limits;
            let mut z = ZSet::default();
            for (m, d, score, _) in hits {
                z.insert(&m, if storedist { d / s.factor } else { score }, &limits);
            }
            ctx.srv
                .ks
                .set_owned(db, &dst, OwnedValue::Agg(Aggregate::ZSet(z)));
            ctx.modified(
                db,
                &dst,
                ZSET,
                if flavor == Flavor::SearchStore {
                    "geosearchstore"
                } else {
                    "georadiusstore"
                },
            );
        }
        ctx.out.int(n as i64);
        return Ok(());
    }
    let extra = s.with_coord as usize + s.with_dist as usize + s.with_hash as usize;
    ctx.out.array(hits.len());
    for (m, d, score, (lon, lat)) in hits {
        if extra == 0 {
            ctx.out.bulk(&m);
            continue;
        }
        ctx.out.array(1 + extra);
        ctx.out.bulk(&m);
        if s.with_dist {
            ctx.out.bulk(format!("{:.4}", d / s.factor).as_bytes());
        }
        if s.with_hash {
            ctx.out.int(score as i64);
        }
        if s.with_coord {
            ctx.out.array(2);
            ctx.out.bulk(&human(lon));
            ctx.out.bulk(&human(lat));
        }
    }
    Ok(())
}

pub fn georadius(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, Flavor::Radius, false)
}
pub fn georadius_ro(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, Flavor::Radius, true)
}
pub fn georadiusbymember(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, Flavor::RadiusByMember, false)
}
pub fn georadiusbymember_ro(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, Flavor::RadiusByMember, true)
}
pub fn geosearch(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, Flavor::Search, true)
}
pub fn geosearchstore(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, Flavor::SearchStore, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_close() {
        let bits = encode_wgs84(13.361389, 38.115556);
        let (lon, lat) = decode(bits);
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
        let d = distance(13.361389, 38.115556, 15.087269, 37.502669);
        assert!((d - 166274.15).abs() < 1.0, "{d}");
    }
}
