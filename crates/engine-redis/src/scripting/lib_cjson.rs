//! The `cjson` library (lua-cjson 2.1 behaviour as Redis ships it): `encode`, `decode`,
//! `cjson.null`, and the configuration functions.
//!
//! Encoding: numbers with `%.14g`, NaN/Inf refused, strings with `\"` `\\` `\/` and control
//! characters escaped, tables whose keys are all positive integers as arrays (missing slots as
//! null, excessively sparse ones refused), other tables as objects with string or number keys,
//! empty tables as `{}`. Decoding: JSON to tables (arrays from 1), null to `cjson.null`.
//! Error texts follow lua-cjson (`Expected comma or array end but found T_END at character 5`).

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

use super::vm::{LibError, LibFn, LibResult};

pub(crate) const FUNCTIONS: &[(&str, LibFn)] = &[
    ("encode", encode),
    ("decode", decode),
    ("encode_max_depth", encode_max_depth),
    ("decode_max_depth", decode_max_depth),
    ("encode_number_precision", encode_number_precision),
    ("encode_sparse_array", encode_sparse_array),
    ("encode_invalid_numbers", encode_invalid_numbers),
    ("decode_invalid_numbers", decode_invalid_numbers),
    ("encode_keep_buffer", encode_keep_buffer),
];

pub(crate) fn add_constants(lua: &Lua, t: &Table) -> mlua::Result<()> {
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    lua.set_app_data(Config::default());
    Ok(())
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

#[derive(Clone, Copy)]
struct Config {
    encode_max_depth: usize,
    decode_max_depth: usize,
    precision: usize,
    sparse_convert: bool,
    sparse_ratio: usize,
    sparse_safe: usize,
    encode_invalid: bool,
    decode_invalid: bool,
    keep_buffer: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_invalid: false,
            decode_invalid: true,
            keep_buffer: true,
        }
    }
}

fn config(lua: &Lua) -> Config {
    *lua.app_data_ref::<Config>()
        .expect("cjson config installed with the VM")
}

/// C's `%.{precision}g`.
pub(crate) fn format_g(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is a number");
    if exp < -4 || exp >= p as i32 {
        let mantissa = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn one(lua: &Lua, v: impl mlua::IntoLua) -> LibResult {
    Ok(MultiValue::from_iter([v.into_lua(lua)?]))
}

// --- encode -----------------------------------------------------------------------------------

fn encode(lua: &Lua, args: MultiValue) -> LibResult {
    if args.len() != 1 {
        return Err(LibError::msg(
            "bad argument #1 to 'encode' (expected 1 argument)",
        ));
    }
    let cfg = config(lua);
    let mut out = Vec::new();
    encode_value(&cfg, &args[0], 0, &mut out)?;
    one(lua, lua.create_string(out)?)
}

fn encode_number(cfg: &Config, n: f64, out: &mut Vec<u8>) -> Result<(), LibError> {
    if (n.is_nan() || n.is_infinite()) && !cfg.encode_invalid {
        return Err(LibError::msg(
            "Cannot serialise number: must not be NaN or Inf",
        ));
    }
    out.extend_from_slice(format_g(n, cfg.precision).as_bytes());
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode_value(cfg: &Config, v: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), LibError> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(cfg, *i as f64, out)?,
        Value::Number(n) => encode_number(cfg, *n, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(LibError::msg(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(cfg, t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode_value(cfg, &t.raw_get::<Value>(i)?, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Integer(_) | Value::Number(_) => {
                                let n = if let Value::Integer(i) = k {
                                    i as f64
                                } else if let Value::Number(n) = k {
                                    n
                                } else {
                                    0.0
                                };
                                out.push(b'"');
                                encode_number(cfg, n, out)?;
                                out.push(b'"');
                            }
                            _ => {
                                return Err(LibError::msg(
                                    "Cannot serialise table: table key must be a number or string",
                                ))
                            }
                        }
                        out.push(b':');
                        encode_value(cfg, &val, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(LibError::msg(format!(
                "Cannot serialise {}: type not supported",
                lua_type_name(other)
            )))
        }
    }
    Ok(())
}

fn lua_type_name(v: &Value) -> &'static str {
    match v {
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        other => other.type_name(),
    }
}

/// lua-cjson's `lua_array_length`: `Some(max index)` when every key is a positive integer
/// (`None` means encode as an object).
fn array_length(cfg: &Config, t: &Table) -> Result<Option<usize>, LibError> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(n);
        items += 1;
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(LibError::msg(
                "Cannot serialise table: excessively sparse array",
            ));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

// --- decode -----------------------------------------------------------------------------------

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
    cfg: Config,
}

enum Token {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Token {
    fn name(&self) -> &'static str {
        match self {
            Token::ObjBegin => "T_OBJ_BEGIN",
            Token::ObjEnd => "T_OBJ_END",
            Token::ArrBegin => "T_ARR_BEGIN",
            Token::ArrEnd => "T_ARR_END",
            Token::Str(_) => "T_STRING",
            Token::Num(_) => "T_NUMBER",
            Token::Bool(_) => "T_BOOLEAN",
            Token::Null => "T_NULL",
            Token::Colon => "T_COLON",
            Token::Comma => "T_COMMA",
            Token::End => "T_END",
            Token::Error(e) => e,
        }
    }
}

impl Parser<'_> {
    /// The next token and the 1-based character where it starts.
    fn next(&mut self) -> (Token, usize) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let at = self.pos + 1;
        let Some(&c) = self.s.get(self.pos) else {
            return (Token::End, at);
        };
        let single = |t| (t, at);
        match c {
            b'{' => {
                self.pos += 1;
                single(Token::ObjBegin)
            }
            b'}' => {
                self.pos += 1;
                single(Token::ObjEnd)
            }
            b'[' => {
                self.pos += 1;
                single(Token::ArrBegin)
            }
            b']' => {
                self.pos += 1;
                single(Token::ArrEnd)
            }
            b':' => {
                self.pos += 1;
                single(Token::Colon)
            }
            b',' => {
                self.pos += 1;
                single(Token::Comma)
            }
            b'"' => (self.string(), at),
            b'-' | b'0'..=b'9' => (self.number(), at),
            _ => {
                for (word, tok) in [
                    ("true", 0),
                    ("false", 1),
                    ("null", 2),
                    ("nan", 3),
                    ("inf", 4),
                ] {
                    if self.s[self.pos..].starts_with(word.as_bytes()) {
                        if tok >= 3 && !self.cfg.decode_invalid {
                            break;
                        }
                        self.pos += word.len();
                        return match tok {
                            0 => (Token::Bool(true), at),
                            1 => (Token::Bool(false), at),
                            2 => (Token::Null, at),
                            3 => (Token::Num(f64::NAN), at),
                            _ => (Token::Num(f64::INFINITY), at),
                        };
                    }
                }
                (Token::Error("invalid token"), at)
            }
        }
    }

    fn number(&mut self) -> Token {
        let start = self.pos;
        while self.pos < self.s.len()
            && matches!(
                self.s[self.pos],
                b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
            )
        {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => Token::Num(n),
            Err(_) => Token::Error("invalid number"),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn string(&mut self) -> Token {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Token::Error("unexpected end of string");
            };
            self.pos += 1;
            match c {
                b'"' => return Token::Str(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Token::Error("unexpected end of string");
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let Some(mut cp) = self.hex4() else {
                                return Token::Error("invalid unicode escape code");
                            };
                            if (0xD800..0xDC00).contains(&cp) {
                                if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Token::Error("invalid unicode escape code");
                                }
                                self.pos += 2;
                                match self.hex4() {
                                    Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                                    }
                                    _ => return Token::Error("invalid unicode escape code"),
                                }
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Token::Error("invalid unicode escape code");
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Token::Error("invalid escape code"),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn value(&mut self, lua: &Lua, tok: Token, at: usize) -> Result<Value, LibError> {
        Ok(match tok {
            Token::Str(s) => Value::String(lua.create_string(s)?),
            Token::Num(n) => Value::Number(n),
            Token::Bool(b) => Value::Boolean(b),
            Token::Null => null(),
            Token::ObjBegin => self.object(lua, at)?,
            Token::ArrBegin => self.array(lua, at)?,
            other => return Err(expected("value", &other, at)),
        })
    }

    fn enter(&mut self, at: usize) -> Result<(), LibError> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth {
            return Err(LibError::msg(format!(
                "Found too many nested data structures ({}) at character {at}",
                self.depth
            )));
        }
        Ok(())
    }

    fn array(&mut self, lua: &Lua, at: usize) -> Result<Value, LibError> {
        self.enter(at)?;
        let t = lua.create_table()?;
        let (mut tok, mut at) = self.next();
        if matches!(tok, Token::ArrEnd) {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        for i in 1.. {
            let v = self.value(lua, tok, at)?;
            t.raw_set(i, v)?;
            let (sep, sep_at) = self.next();
            match sep {
                Token::ArrEnd => break,
                Token::Comma => {}
                other => return Err(expected("comma or array end", &other, sep_at)),
            }
            (tok, at) = self.next();
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn object(&mut self, lua: &Lua, at: usize) -> Result<Value, LibError> {
        self.enter(at)?;
        let t = lua.create_table()?;
        let (mut tok, mut at) = self.next();
        if matches!(tok, Token::ObjEnd) {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            let Token::Str(key) = tok else {
                return Err(expected("object key string", &tok, at));
            };
            let (colon, colon_at) = self.next();
            if !matches!(colon, Token::Colon) {
                return Err(expected("colon", &colon, colon_at));
            }
            let (vt, vat) = self.next();
            let v = self.value(lua, vt, vat)?;
            t.raw_set(lua.create_string(key)?, v)?;
            let (sep, sep_at) = self.next();
            match sep {
                Token::ObjEnd => break,
                Token::Comma => {}
                other => return Err(expected("comma or object end", &other, sep_at)),
            }
            (tok, at) = self.next();
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }
}

fn expected(what: &str, found: &Token, at: usize) -> LibError {
    LibError::msg(format!(
        "Expected {what} but found {} at character {at}",
        found.name()
    ))
}

fn decode(lua: &Lua, args: MultiValue) -> LibResult {
    if args.len() != 1 {
        return Err(LibError::msg(
            "bad argument #1 to 'decode' (expected 1 argument)",
        ));
    }
    let text = match &args[0] {
        v @ (Value::String(_) | Value::Integer(_) | Value::Number(_)) => lua
            .coerce_string(v.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default(),
        other => {
            return Err(LibError::msg(format!(
                "bad argument #1 to 'decode' (string expected, got {})",
                lua_type_name(other)
            )))
        }
    };
    let mut p = Parser {
        s: &text,
        pos: 0,
        depth: 0,
        cfg: config(lua),
    };
    let (tok, at) = p.next();
    let v = p.value(lua, tok, at)?;
    let (end, end_at) = p.next();
    if !matches!(end, Token::End) {
        return Err(expected("the end", &end, end_at));
    }
    Ok(MultiValue::from_iter([v]))
}

// --- configuration ----------------------------------------------------------------------------

fn int_arg(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Integer(i)) => Some(*i),
        Some(Value::Number(n)) => Some(*n as i64),
        _ => None,
    }
}

fn update(lua: &Lua, f: impl FnOnce(&mut Config)) -> Config {
    let mut cfg = lua
        .app_data_mut::<Config>()
        .expect("cjson config installed with the VM");
    f(&mut cfg);
    *cfg
}

fn depth_setter(lua: &Lua, args: MultiValue, decode: bool) -> LibResult {
    let n = int_arg(args.front());
    if let Some(n) = n {
        if n < 1 {
            return Err(LibError::msg(
                "bad argument #1 to 'max_depth' (expected integer between 1 and 2147483647)",
            ));
        }
    }
    let cfg = update(lua, |c| {
        if let Some(n) = n {
            if decode {
                c.decode_max_depth = n as usize
            } else {
                c.encode_max_depth = n as usize
            }
        }
    });
    one(
        lua,
        if decode {
            cfg.decode_max_depth
        } else {
            cfg.encode_max_depth
        } as i64,
    )
}

fn encode_max_depth(lua: &Lua, args: MultiValue) -> LibResult {
    depth_setter(lua, args, false)
}

fn decode_max_depth(lua: &Lua, args: MultiValue) -> LibResult {
    depth_setter(lua, args, true)
}

fn encode_number_precision(lua: &Lua, args: MultiValue) -> LibResult {
    let n = int_arg(args.front());
    if let Some(n) = n {
        if !(1..=14).contains(&n) {
            return Err(LibError::msg(
                "bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)",
            ));
        }
    }
    let cfg = update(lua, |c| {
        if let Some(n) = n {
            c.precision = n as usize
        }
    });
    one(lua, cfg.precision as i64)
}

fn bool_arg(v: Option<&Value>) -> Option<bool> {
    match v {
        Some(Value::Boolean(b)) => Some(*b),
        Some(Value::String(s)) => match s.to_str().ok()?.as_ref() {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn encode_sparse_array(lua: &Lua, args: MultiValue) -> LibResult {
    let convert = bool_arg(args.front());
    let ratio = int_arg(args.get(1));
    let safe = int_arg(args.get(2));
    let cfg = update(lua, |c| {
        if let Some(v) = convert {
            c.sparse_convert = v
        }
        if let Some(v) = ratio {
            c.sparse_ratio = v.max(0) as usize
        }
        if let Some(v) = safe {
            c.sparse_safe = v.max(0) as usize
        }
    });
    Ok(MultiValue::from_iter([
        Value::Boolean(cfg.sparse_convert),
        Value::Integer(cfg.sparse_ratio as i64),
        Value::Integer(cfg.sparse_safe as i64),
    ]))
}

fn encode_invalid_numbers(lua: &Lua, args: MultiValue) -> LibResult {
    let v = bool_arg(args.front());
    let cfg = update(lua, |c| {
        if let Some(v) = v {
            c.encode_invalid = v
        }
    });
    one(lua, cfg.encode_invalid)
}

fn decode_invalid_numbers(lua: &Lua, args: MultiValue) -> LibResult {
    let v = bool_arg(args.front());
    let cfg = update(lua, |c| {
        if let Some(v) = v {
            c.decode_invalid = v
        }
    });
    one(lua, cfg.decode_invalid)
}

fn encode_keep_buffer(lua: &Lua, args: MultiValue) -> LibResult {
    let v = bool_arg(args.front());
    let cfg = update(lua, |c| {
        if let Some(v) = v {
            c.keep_buffer = v
        }
    });
    one(lua, cfg.keep_buffer)
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn percent_g_matches_c() {
        for (v, p, want) in [
            (0.1, 14, "0.1"),
            (100.0, 14, "100"),
            (1e100, 14, "1e+100"),
            (123456789012345678.0, 14, "1.2345678901235e+17"),
            (0.0001, 14, "0.0001"),
            (0.00001, 14, "1e-05"),
            (-2.5, 14, "-2.5"),
            (1.0 / 3.0, 17, "0.33333333333333331"),
            (1e15, 17, "1000000000000000"),
        ] {
            assert_eq!(format_g(v, p), want, "{v}");
        }
    }
}
