//! The Redis <-> Lua type conversions (Redis's `redisProtocolToLuaType` and
//! `luaReplyToRedisReply`).
//!
//! Reply -> Lua: integer -> number, bulk -> string, nil bulk / nil array -> false (RESP2) or
//! nil (RESP3 null), array -> table, status -> `{ok=...}`, error -> `{err=...}`; RESP3 map ->
//! `{map=...}`, set -> `{set=...}` (members as keys mapped to true), double -> `{double=n}`,
//! boolean -> boolean, big number -> `{big_number=s}`, verbatim -> `{verbatim_string=...}`.
//!
//! Lua -> reply: number -> integer (truncated), string -> bulk, true -> 1 and false -> nil
//! (booleans under RESP3), table with `err` / `ok` / `double` / `big_number` / `map` / `set`
//! fields -> that reply, any other table -> array of its elements 1..n up to the first nil,
//! anything else -> nil.

use mlua::{Lua, Table, Value};

use super::ScriptReply;

/// Nesting beyond this is refused (a table that contains itself would recurse forever).
const MAX_DEPTH: usize = 1000;

pub(crate) fn reply_to_lua(lua: &Lua, reply: &ScriptReply, resp: u8) -> mlua::Result<Value> {
    use ScriptReply::*;
    Ok(match reply {
        Status(s) => Value::Table(single(lua, "ok", lua.create_string(s)?)?),
        Error(e) => Value::Table(single(lua, "err", lua.create_string(e)?)?),
        Integer(i) => Value::Number(*i as f64),
        Bulk(b) => Value::String(lua.create_string(b)?),
        Nil if resp == 3 => Value::Nil,
        Nil | NilArray => Value::Boolean(false),
        Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, item, resp)?)?;
            }
            Value::Table(t)
        }
        Map(pairs) => {
            let m = lua.create_table()?;
            for (k, v) in pairs {
                m.raw_set(reply_to_lua(lua, k, resp)?, reply_to_lua(lua, v, resp)?)?;
            }
            Value::Table(single(lua, "map", m)?)
        }
        Set(items) => {
            let s = lua.create_table()?;
            for item in items {
                s.raw_set(reply_to_lua(lua, item, resp)?, true)?;
            }
            Value::Table(single(lua, "set", s)?)
        }
        Double(d) => Value::Table(single(lua, "double", *d)?),
        Boolean(b) => Value::Boolean(*b),
        BigNumber(n) => Value::Table(single(lua, "big_number", lua.create_string(n)?)?),
        Verbatim { format, text } => {
            let v = lua.create_table()?;
            v.raw_set("format", lua.create_string(format)?)?;
            v.raw_set("string", lua.create_string(text)?)?;
            Value::Table(single(lua, "verbatim_string", v)?)
        }
    })
}

fn single(lua: &Lua, key: &str, value: impl mlua::IntoLua) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(key, value)?;
    Ok(t)
}

/// Replaces CR and LF by spaces, as Redis does for status and error lines.
fn one_line(s: &[u8]) -> String {
    String::from_utf8_lossy(s).replace(['\r', '\n'], " ")
}

pub(crate) fn lua_to_reply(value: &Value, resp: u8) -> ScriptReply {
    to_reply(value, resp, 0)
}

fn to_reply(value: &Value, resp: u8, depth: usize) -> ScriptReply {
    if depth > MAX_DEPTH {
        return ScriptReply::err("ERR reached lua stack limit");
    }
    match value {
        Value::String(s) => ScriptReply::Bulk(s.as_bytes().to_vec()),
        Value::Boolean(b) if resp == 3 => ScriptReply::Boolean(*b),
        Value::Boolean(true) => ScriptReply::Integer(1),
        Value::Boolean(false) => ScriptReply::Nil,
        Value::Integer(i) => ScriptReply::Integer(*i),
        Value::Number(n) => ScriptReply::Integer(*n as i64),
        Value::Table(t) => table_to_reply(t, resp, depth),
        _ => ScriptReply::Nil,
    }
}

fn table_to_reply(t: &Table, resp: u8, depth: usize) -> ScriptReply {
    let field = |name: &str| t.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(e) = field("err") {
        return ScriptReply::Error(one_line(&e.as_bytes()));
    }
    if let Value::String(s) = field("ok") {
        return ScriptReply::Status(one_line(&s.as_bytes()));
    }
    match field("double") {
        Value::Number(n) => return ScriptReply::Double(n),
        Value::Integer(i) => return ScriptReply::Double(i as f64),
        _ => {}
    }
    if let Value::String(s) = field("big_number") {
        return ScriptReply::BigNumber(one_line(&s.as_bytes()));
    }
    if let Value::Table(m) = field("map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, v)| (to_reply(&k, resp, depth + 1), to_reply(&v, resp, depth + 1)))
            .collect();
        return ScriptReply::Map(pairs);
    }
    if let Value::Table(s) = field("set") {
        let items = s
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| to_reply(&k, resp, depth + 1))
            .collect();
        return ScriptReply::Set(items);
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => {
                let r = to_reply(&v, resp, depth + 1);
                if let ScriptReply::Error(e) = &r {
                    if e == "ERR reached lua stack limit" {
                        return r;
                    }
                }
                items.push(r);
            }
        }
    }
    ScriptReply::Array(items)
}
