//! `math.random` / `math.randomseed` as Redis replaces them: a rand48 generator owned by the VM,
//! starting from rand48's unseeded state (Redis 7.0 never reseeds it; `math.randomseed` does),
//! so scripts draw the same sequence as on a fresh redis-server.

use mlua::{Lua, MultiValue, Value};

use super::vm::{LibError, LibFn, LibResult};

pub(crate) const FUNCTIONS: &[(&str, LibFn)] = &[("random", random), ("randomseed", randomseed)];

/// Redis's `redisLrand48`: the 48-bit linear congruential generator of POSIX `lrand48`.
pub(crate) struct Rand48(u64);

impl Default for Rand48 {
    /// rand48's initial state `0x1234ABCD330E`.
    fn default() -> Self {
        Rand48(0x1234_ABCD_330E)
    }
}

impl Rand48 {
    fn seeded(seed: i32) -> Self {
        Rand48(((seed as u32 as u64) << 16) | 0x330E)
    }

    fn next(&mut self) -> i32 {
        self.0 = (self.0.wrapping_mul(0x5DEECE66D).wrapping_add(0xB)) & ((1 << 48) - 1);
        (self.0 >> 17) as i32
    }
}

const LRAND48_MAX: i32 = i32::MAX;

fn int_arg(v: Option<&Value>, n: usize) -> Result<i64, LibError> {
    match v {
        Some(Value::Integer(i)) => Ok(*i),
        Some(Value::Number(f)) => Ok(*f as i64),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map(|f| f as i64)
            .ok_or_else(|| {
                LibError::msg(format!(
                    "bad argument #{n} to 'random' (number expected, got string)"
                ))
            }),
        other => Err(LibError::msg(format!(
            "bad argument #{n} to 'random' (number expected, got {})",
            other.map(Value::type_name).unwrap_or("no value")
        ))),
    }
}

fn random(lua: &Lua, args: MultiValue) -> LibResult {
    let x = lua
        .app_data_mut::<Rand48>()
        .expect("rand48 state installed with the VM")
        .next();
    let r = (x % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
    let v: Vec<Value> = args.into_iter().collect();
    let out = match v.len() {
        0 => r,
        1 => {
            let u = int_arg(v.first(), 1)? as i32 as f64;
            if u < 1.0 {
                return Err(LibError::msg(
                    "bad argument #1 to 'random' (interval is empty)",
                ));
            }
            (r * u).floor() + 1.0
        }
        2 => {
            let l = int_arg(v.first(), 1)? as i32 as f64;
            let u = int_arg(v.get(1), 2)? as i32 as f64;
            if l > u {
                return Err(LibError::msg(
                    "bad argument #2 to 'random' (interval is empty)",
                ));
            }
            (r * (u - l + 1.0)).floor() + l
        }
        _ => return Err(LibError::msg("wrong number of arguments")),
    };
    Ok(MultiValue::from_iter([Value::Number(out)]))
}

fn randomseed(lua: &Lua, args: MultiValue) -> LibResult {
    let seed = int_arg(args.front(), 1)? as i32;
    *lua.app_data_mut::<Rand48>()
        .expect("rand48 state installed with the VM") = Rand48::seeded(seed);
    Ok(MultiValue::new())
}
