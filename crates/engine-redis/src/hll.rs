//! HyperLogLog exactly as Redis stores it in a string value, so a value moved to or from a real
//! redis-server (GET/SET, DUMP/RESTORE, RDB) keeps working on both sides.
//!
//! ```text
//! value := "HYLL" encoding(1: 0 dense, 1 sparse) unused(3) card(8, LE; bit 63 set = stale)
//!          registers
//! dense registers : 16384 registers of 6 bits, little-endian bit order (12288 bytes)
//! sparse registers: opcodes  ZERO 00xxxxxx (run of x+1 zeros), XZERO 01xxxxxx yyyyyyyy
//!                   (run of 14-bit+1 zeros), VAL 1vvvvvxx (run of x+1 registers of value v+1)
//! ```
//!
//! Elements hash with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick the register, the
//! position of the first set bit in the rest is the value. A sparse value turns dense when a
//! register exceeds 32 or the value would grow past `hll-sparse-max-bytes`. Counting uses Redis
//! 7's estimator (Ertl's improved raw estimator over the register histogram). The sparse update
//! follows Redis's algorithm step by step (split, then merge neighbouring VAL opcodes) because
//! the exact bytes are visible to clients through GET.
//!
//! Everything here is a pure function over the string bytes; the engine owns lookups, type
//! checks of the key (non-string → the usual WRONGTYPE) and keyspace side effects.

const HDR: usize = 16;
const P: u32 = 14;
const Q: u32 = 64 - P;
const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
const REGISTER_MAX: u8 = 63;
/// Size of a dense value.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
const ENC_DENSE: u8 = 0;
const ENC_SPARSE: u8 = 1;
const CARD_MSB: usize = 15;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;

/// Default of the `hll-sparse-max-bytes` parameter.
pub const DEFAULT_SPARSE_MAX_BYTES: usize = 3000;

/// Why an operation refused a value; each maps to exactly one Redis error reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HllError {
    /// A string that is not a HyperLogLog at all.
    #[error("WRONGTYPE Key is not a valid HyperLogLog string value.")]
    NotHll,
    /// A HyperLogLog header over registers that do not add up.
    #[error("INVALIDOBJ Corrupted HLL object detected")]
    Corrupted,
}

pub type Result<T> = std::result::Result<T, HllError>;

/// A new empty HyperLogLog (sparse, one XZERO run over every register, cached count 0).
pub fn new_empty() -> Vec<u8> {
    let mut v = vec![0u8; HDR];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = ENC_SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut v, run);
        left -= run;
    }
    v
}

/// Checks a string is a HyperLogLog value, as Redis's `isHLLObjectOrReply`.
pub fn validate(v: &[u8]) -> Result<()> {
    if v.len() < HDR || &v[..4] != b"HYLL" || v[4] > ENC_SPARSE {
        return Err(HllError::NotHll);
    }
    if v[4] == ENC_DENSE && v.len() != DENSE_SIZE {
        return Err(HllError::NotHll);
    }
    Ok(())
}

/// Whether the value uses the sparse representation (for tests and OBJECT-like introspection).
pub fn is_sparse(v: &[u8]) -> bool {
    v.get(4) == Some(&ENC_SPARSE)
}

/// PFADD on a missing key: the new value (PFADD then replies 1, and the cache is stale even
/// with no elements, as in Redis).
pub fn pfadd_new(elements: &[&[u8]], sparse_max_bytes: usize) -> Vec<u8> {
    let mut v = new_empty();
    pfadd(&mut v, elements, sparse_max_bytes).expect("a fresh value is valid");
    invalidate_cache(&mut v);
    v
}

/// PFADD on an existing value: adds `elements`; true if any register changed (the cached count
/// is then marked stale). Like Redis, elements added before a corruption is found stay added.
pub fn pfadd(v: &mut Vec<u8>, elements: &[&[u8]], sparse_max_bytes: usize) -> Result<bool> {
    validate(v)?;
    let mut updated = false;
    for e in elements {
        let (index, count) = pattern_len(e);
        let changed = if v[4] == ENC_DENSE {
            dense_set(&mut v[HDR..], index, count)
        } else {
            sparse_set(v, index, count, sparse_max_bytes)?
        };
        updated |= changed;
    }
    if updated {
        invalidate_cache(v);
    }
    Ok(updated)
}

/// PFCOUNT of one key: the cached count when valid, otherwise computed and written into the
/// cache bytes. Returns the count and whether the value bytes changed (the engine must then
/// treat the key as modified, as Redis does).
pub fn pfcount_cached(v: &mut [u8]) -> Result<(u64, bool)> {
    validate(v)?;
    if v[CARD_MSB] & 0x80 == 0 {
        return Ok((u64::from_le_bytes(v[8..16].try_into().unwrap()), false));
    }
    let mut histo = [0u32; 64];
    if v[4] == ENC_DENSE {
        dense_histogram(&v[HDR..], &mut histo);
    } else if !sparse_histogram(&v[HDR..], &mut histo) {
        return Err(HllError::Corrupted);
    }
    let card = estimate(&histo);
    v[8..16].copy_from_slice(&card.to_le_bytes());
    Ok((card, true))
}

/// PFCOUNT of several keys: the count of their union (missing keys are left out by the caller).
pub fn pfcount(values: &[&[u8]]) -> Result<u64> {
    let mut max = [0u8; REGISTERS];
    for v in values {
        validate(v)?;
        merge_into(&mut max, v)?;
    }
    let mut histo = [0u32; 64];
    for &r in max.iter() {
        histo[r as usize] += 1;
    }
    Ok(estimate(&histo))
}

/// PFMERGE: the new value of the destination, given its current value (if the key exists) and
/// the sources. The result is dense if the destination or any source was.
pub fn pfmerge(dest: Option<&[u8]>, sources: &[&[u8]], sparse_max_bytes: usize) -> Result<Vec<u8>> {
    let mut max = [0u8; REGISTERS];
    let mut use_dense = false;
    for v in dest.iter().chain(sources.iter()) {
        validate(v)?;
        use_dense |= v[4] == ENC_DENSE;
        merge_into(&mut max, v)?;
    }
    let mut out = match dest {
        Some(d) => d.to_vec(),
        None => new_empty(),
    };
    if use_dense {
        sparse_to_dense(&mut out)?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if out[4] == ENC_DENSE {
            dense_set(&mut out[HDR..], i, m);
        } else {
            // As in Redis, a failure here (impossible after the checks above) is ignored.
            let _ = sparse_set(&mut out, i, m, sparse_max_bytes);
        }
    }
    invalidate_cache(&mut out);
    Ok(out)
}

fn invalidate_cache(v: &mut [u8]) {
    v[CARD_MSB] |= 0x80;
}

/// Redis's MurmurHash64A (little-endian reads), as used for HyperLogLog.
pub fn murmurhash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4a7935bd1e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().unwrap());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, &b) in rest.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the value it proposes (1 + trailing zeros, max Q+1).
fn pattern_len(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, 0xadc83b19);
    let index = (hash & P_MASK) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// --- dense ------------------------------------------------------------------------------------

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u16;
    // The last register's second byte lies past the array (Redis reads the sds terminator, 0).
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u16) as u8
}

fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = val as u16;
    regs[byte] &= !((REGISTER_MAX as u16) << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((REGISTER_MAX as u16) >> (8 - fb)) as u8;
        *b |= (v >> (8 - fb)) as u8;
    }
}

fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

fn dense_histogram(regs: &[u8], histo: &mut [u32; 64]) {
    for i in 0..REGISTERS {
        histo[dense_get(regs, i) as usize] += 1;
    }
}

// --- sparse -----------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

/// The opcode at `p` (reads past the end as 0, as Redis reads its sds terminator).
fn op_at(v: &[u8], p: usize) -> Op {
    let b = v[p];
    if b & 0xc0 == 0 {
        Op::Zero((b & 0x3f) as usize + 1)
    } else if b & 0xc0 == 0x40 {
        let lo = v.get(p + 1).copied().unwrap_or(0) as usize;
        Op::XZero((((b & 0x3f) as usize) << 8 | lo) + 1)
    } else {
        Op::Val(((b >> 2) & 0x1f) + 1, (b & 0x3) as usize + 1)
    }
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }
    fn len(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

fn val_byte(val: u8, len: usize) -> u8 {
    0x80 | ((val - 1) << 2) | (len as u8 - 1)
}

fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push(0x40 | (l >> 8) as u8);
    out.push(l as u8);
}

/// A run of zeros with the shortest opcode.
fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push(len as u8 - 1);
    }
}

/// Visits every run of a sparse body; false if the runs do not cover exactly all registers.
fn sparse_runs(body: &[u8], mut f: impl FnMut(usize, usize, u8)) -> bool {
    let mut idx = 0;
    let mut p = 0;
    while p < body.len() {
        let op = op_at(body, p);
        match op {
            Op::Zero(n) | Op::XZero(n) => idx += n,
            Op::Val(val, n) => {
                if idx + n > REGISTERS {
                    return false;
                }
                f(idx, n, val);
                idx += n;
            }
        }
        p += op.len();
    }
    idx == REGISTERS
}

fn sparse_histogram(body: &[u8], histo: &mut [u32; 64]) -> bool {
    let mut nonzero = 0;
    let ok = sparse_runs(body, |_, n, val| {
        histo[val as usize] += n as u32;
        nonzero += n;
    });
    histo[0] += (REGISTERS - nonzero.min(REGISTERS)) as u32;
    ok
}

fn merge_into(max: &mut [u8; REGISTERS], v: &[u8]) -> Result<()> {
    if v[4] == ENC_DENSE {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(&v[HDR..], i));
        }
        return Ok(());
    }
    let ok = sparse_runs(&v[HDR..], |start, n, val| {
        for m in &mut max[start..start + n] {
            *m = (*m).max(val);
        }
    });
    ok.then_some(()).ok_or(HllError::Corrupted)
}

// --- introspection (PFDEBUG, PFSELFTEST) --------------------------------------------------------

/// Whether the value is dense, as PFDEBUG ENCODING names it.
pub fn encoding_name(v: &[u8]) -> &'static str {
    if is_sparse(v) {
        "sparse"
    } else {
        "dense"
    }
}

/// PFDEBUG TODENSE: converts a sparse value; true if it was sparse.
pub fn to_dense(v: &mut Vec<u8>) -> Result<bool> {
    validate(v)?;
    let was_sparse = is_sparse(v);
    sparse_to_dense(v)?;
    Ok(was_sparse)
}

/// PFDEBUG GETREG: every register, after converting to dense as redis does.
pub fn registers(v: &mut Vec<u8>) -> Result<Vec<u8>> {
    to_dense(v)?;
    Ok((0..REGISTERS).map(|i| dense_get(&v[HDR..], i)).collect())
}

/// PFDEBUG DECODE: the sparse opcodes, `z:len`, `Z:len` and `v:value,len`; None if dense.
pub fn decode_sparse(v: &[u8]) -> Result<Option<String>> {
    validate(v)?;
    if !is_sparse(v) {
        return Ok(None);
    }
    let body = &v[HDR..];
    let mut ops = Vec::new();
    let mut p = 0;
    while p < body.len() {
        let op = op_at(body, p);
        ops.push(match op {
            Op::Zero(n) => format!("z:{n}"),
            Op::XZero(n) => format!("Z:{n}"),
            Op::Val(val, n) => format!("v:{val},{n}"),
        });
        p += op.len();
    }
    Ok(Some(ops.join(" ")))
}

/// PFSELFTEST: the dense register packing round-trips every value in every register, and
/// the sparse and dense representations fed the same elements agree with each other and stay
/// within the expected error of the true cardinality (as redis's self test checks).
pub fn self_test() -> std::result::Result<(), String> {
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..100 {
        let values: Vec<u8> = (0..REGISTERS).map(|_| (next() % 64) as u8).collect();
        for (i, &val) in values.iter().enumerate() {
            dense_put(&mut regs, i, val);
        }
        if let Some(i) = (0..REGISTERS).find(|&i| dense_get(&regs, i) != values[i]) {
            return Err(format!("TESTFAILED Register error at index {i}"));
        }
    }
    let mut sparse = new_empty();
    let mut dense = new_empty();
    sparse_to_dense(&mut dense).map_err(|e| e.to_string())?;
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint = 1u64;
    for n in 1..=1_000_000u64 {
        let element = n.to_le_bytes();
        pfadd(&mut sparse, &[&element], DEFAULT_SPARSE_MAX_BYTES).map_err(|e| e.to_string())?;
        pfadd(&mut dense, &[&element], DEFAULT_SPARSE_MAX_BYTES).map_err(|e| e.to_string())?;
        if n != checkpoint {
            continue;
        }
        checkpoint *= 10;
        let (a, _) = pfcount_cached(&mut sparse).map_err(|e| e.to_string())?;
        let (b, _) = pfcount_cached(&mut dense).map_err(|e| e.to_string())?;
        if a != b {
            return Err(format!("TESTFAILED dense/sparse disagree: {b} != {a}"));
        }
        // Six standard errors, as redis allows (one at 10, where collisions are likely).
        let max_error = if n == 10 {
            1.0
        } else {
            (6.0 * relative_error * n as f64).ceil()
        };
        let error = (a as f64 - n as f64).abs();
        if error > max_error {
            return Err(format!("TESTFAILED Too big error. card:{n} abserr:{error}"));
        }
    }
    Ok(())
}

/// Rewrites a sparse value as dense, keeping the header (magic and cached count).
fn sparse_to_dense(v: &mut Vec<u8>) -> Result<()> {
    if v[4] == ENC_DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&v[..HDR]);
    dense[4] = ENC_DENSE;
    let ok = sparse_runs(&v[HDR..], |start, n, val| {
        for i in start..start + n {
            dense_put(&mut dense[HDR..], i, val);
        }
    });
    if !ok {
        return Err(HllError::Corrupted);
    }
    *v = dense;
    Ok(())
}

/// Sets register `index` to `count` if larger, in place in the sparse representation, or
/// promotes to dense when the sparse form cannot hold the result (Redis's `hllSparseSet`).
fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8, sparse_max_bytes: usize) -> Result<bool> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let mut p = HDR;
    let mut first = 0;
    let mut prev = None;
    let mut op = None;
    while p < v.len() {
        let o = op_at(v, p);
        if index < first + o.span() {
            op = Some(o);
            break;
        }
        prev = Some(p);
        p += o.len();
        first += o.span();
    }
    let Some(op) = op else {
        return Err(HllError::Corrupted);
    };

    // Step 2: the cheap in-place cases, else build the replacement sequence.
    let mut replaced = false;
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => {
            v[p] = val_byte(count, 1);
            replaced = true;
        }
        _ => {}
    }
    if !replaced {
        let last = first + op.span() - 1;
        let mut seq = Vec::with_capacity(5);
        match op {
            Op::Zero(_) | Op::XZero(_) => {
                if index != first {
                    push_zeros(&mut seq, index - first);
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    push_zeros(&mut seq, last - index);
                }
            }
            Op::Val(cur, _) => {
                if index != first {
                    seq.push(val_byte(cur, index - first));
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    seq.push(val_byte(cur, last - index));
                }
            }
        }
        // Step 3: splice it in, unless that makes the value too big for sparse.
        let grow = seq.len() as isize - op.len() as isize;
        if grow > 0 && v.len() + grow as usize > sparse_max_bytes {
            return promote(v, index, count);
        }
        v.splice(p..p + op.len(), seq);
    }

    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from `prev`.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        match op_at(v, p) {
            Op::XZero(_) => p += 2,
            Op::Zero(_) => p += 1,
            Op::Val(v1, l1) => {
                if p + 1 < v.len() {
                    if let Op::Val(v2, l2) = op_at(v, p + 1) {
                        if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                            v[p + 1] = val_byte(v1, l1 + l2);
                            v.remove(p);
                            continue;
                        }
                    }
                }
                p += 1;
            }
        }
    }
    invalidate_cache(v);
    Ok(true)
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool> {
    sparse_to_dense(v)?;
    let changed = dense_set(&mut v[HDR..], index, count);
    debug_assert!(
        changed,
        "a promotion always changes the register that caused it"
    );
    Ok(true)
}

// --- estimator --------------------------------------------------------------------------------

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// Redis 7's `hllCount` over a register histogram (Ertl, arXiv:1702.01284).
fn estimate(histo: &[u32; 64]) -> u64 {
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_test_passes_and_decode_shows_the_opcodes() {
        assert_eq!(self_test(), Ok(()));
        let mut v = new_empty();
        assert_eq!(decode_sparse(&v).unwrap().as_deref(), Some("Z:16384"));
        pfadd(&mut v, &[b"a"], DEFAULT_SPARSE_MAX_BYTES).unwrap();
        let (index, count) = pattern_len(b"a");
        let want = format!("Z:{index} v:{count},1 Z:{}", REGISTERS - index - 1);
        assert_eq!(decode_sparse(&v).unwrap(), Some(want));
        let regs = registers(&mut v).unwrap();
        assert_eq!(
            (regs[index], regs.iter().filter(|&&r| r != 0).count()),
            (count, 1)
        );
        assert_eq!(
            (encoding_name(&v), decode_sparse(&v).unwrap()),
            ("dense", None)
        );
    }

    #[test]
    fn empty_value_matches_redis_bytes() {
        // createHLLObject in redis-server 7.0; `PFADD k` then GET shows it with bit 63 of the
        // cache set.
        let mut want = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        want.extend([0x7f, 0xff]);
        assert_eq!(new_empty(), want);
        assert_eq!(pfcount_cached(&mut new_empty()).unwrap(), (0, false));
        want[CARD_MSB] = 0x80;
        assert_eq!(pfadd_new(&[], DEFAULT_SPARSE_MAX_BYTES), want);
    }

    #[test]
    fn sparse_grows_then_promotes() {
        let mut v = new_empty();
        let mut n = 0;
        while is_sparse(&v) {
            let e = format!("element:{n}");
            pfadd(&mut v, &[e.as_bytes()], DEFAULT_SPARSE_MAX_BYTES).unwrap();
            assert!(v.len() <= DEFAULT_SPARSE_MAX_BYTES || !is_sparse(&v));
            n += 1;
        }
        assert_eq!(v.len(), DENSE_SIZE);
        let (count, changed) = pfcount_cached(&mut v).unwrap();
        assert!(changed);
        let err = (count as f64 - n as f64).abs() / n as f64;
        assert!(err < 0.05, "estimate {count} for {n}");
        assert_eq!(pfcount_cached(&mut v).unwrap(), (count, false));
    }

    #[test]
    fn validation_errors() {
        assert_eq!(validate(b"hello"), Err(HllError::NotHll));
        let mut dense_short = new_empty();
        dense_short[4] = ENC_DENSE;
        assert_eq!(validate(&dense_short), Err(HllError::NotHll));
        let mut bad = new_empty();
        bad.truncate(HDR + 1); // XZERO cut in half: registers do not add up
        bad[CARD_MSB] |= 0x80;
        assert_eq!(pfcount_cached(&mut bad), Err(HllError::Corrupted));
        assert_eq!(
            HllError::NotHll.to_string(),
            "WRONGTYPE Key is not a valid HyperLogLog string value."
        );
    }
}
