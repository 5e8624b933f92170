//! The random picks shared by SRANDMEMBER, HRANDFIELD and ZRANDMEMBER: `key [count [FLAG]]`,
//! where a positive count asks for distinct elements (at most all of them) and a negative one
//! for that many with repeats allowed.

use super::{err, Error, NOT_INT, SYNTAX};
use crate::util::{eq_ignore_case, parse_i64};
use rand::Rng;
use resp::request::Argv;

/// Parses the arguments after the key: the count, if given, and whether `flag` (WITHVALUES,
/// WITHSCORES) followed it. `flag` is `None` for commands that take none (SRANDMEMBER).
/// Errors come in redis-server's order: SRANDMEMBER refuses extra arguments before reading the
/// count, the others read the count first.
pub fn parse_count(a: &Argv, flag: Option<&str>) -> Result<(Option<i64>, bool), Error> {
    if flag.is_none() && a.len() > 3 {
        return err(SYNTAX);
    }
    if a.len() < 3 {
        return Ok((None, false));
    }
    let count = parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))?;
    let with_flag = match (a.len(), flag) {
        (3, _) => false,
        (4, Some(f)) if eq_ignore_case(&a[3], f) => true,
        _ => return err(SYNTAX),
    };
    Ok((Some(count), with_flag))
}

/// The positions (in `0..len`, `len > 0`) to reply with, in reply order.
pub fn positions(len: usize, count: Option<i64>) -> Result<Vec<usize>, Error> {
    let mut rng = rand::thread_rng();
    Ok(match count {
        None => vec![rng.gen_range(0..len)],
        Some(c) if c < 0 => {
            if c.unsigned_abs() > (i64::MAX as u64) / 2 {
                return err("ERR value is out of range");
            }
            (0..c.unsigned_abs())
                .map(|_| rng.gen_range(0..len))
                .collect()
        }
        Some(c) => {
            // A partial Fisher-Yates shuffle: the first `c` positions are a uniform sample.
            let mut idx: Vec<usize> = (0..len).collect();
            let c = (c as usize).min(len);
            for i in 0..c {
                let j = rng.gen_range(i..len);
                idx.swap(i, j);
            }
            idx.truncate(c);
            idx
        }
    })
}
