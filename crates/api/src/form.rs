//! Query-protocol request parameters: `application/x-www-form-urlencoded` text (a POST body or a
//! GET query string) decoded into a tree of dotted keys, and the binders the generated code uses
//! to turn a tree into an input shape.
//!
//! `Tags.Tag.2.Value=x` becomes the path `Tags` → `Tag` → `2` → `Value`; a list is a node whose
//! single child is the element name (`Tag`, or `member`) with 1-based numeric children; `Name=`
//! alone is an empty list (api-contract.md §3.4), which differs from an absent list. Every binding
//! error is the AWS fault a real endpoint would send: `MissingParameter`, `InvalidParameterValue`
//! for bad scalars and unknown keys, `MalformedQueryString` for undecodable text.

use crate::{Fault, FaultCode, Timestamp};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Parameters every request may carry besides its input shape: the action selector and the
/// SigV4/legacy signing parameters (which the verifier reads from the raw query).
const ENVELOPE_KEYS: &[&str] = &[
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "SignatureVersion",
    "SignatureMethod",
    "Signature",
    "Timestamp",
    "Expires",
];

/// Deepest key accepted. The deepest keys of the model have 6 segments
/// (`NodeGroupConfiguration.NodeGroupConfiguration.1.ReplicaAvailabilityZones.AvailabilityZone.1`);
/// the bound keeps a hostile `a.a.a…` key from building a tree deep enough to overflow the stack.
const MAX_KEY_DEPTH: usize = 12;

/// One node of the parameter tree.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

/// A decoded request: its `Action`, its `Version`, and the tree of the remaining parameters.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Params {
    /// `Action`, when sent.
    pub action: Option<String>,
    /// `Version`, when sent.
    pub version: Option<String>,
    /// Every other parameter except the signing ones.
    pub tree: Node,
}

impl Params {
    /// Decodes one or more form-encoded texts (the query string and the body of one request).
    pub fn decode(texts: &[&[u8]]) -> Result<Params, Fault> {
        let mut params = Params::default();
        let mut seen = std::collections::HashSet::new();
        for text in texts {
            for (key, value) in decode_pairs(text)? {
                if !seen.insert(key.clone()) {
                    return Err(Fault::new(
                        FaultCode::MalformedQueryString,
                        format!("Parameter {key} is given more than once"),
                    ));
                }
                match key.as_str() {
                    "Action" => params.action = Some(value),
                    "Version" => params.version = Some(value),
                    k if ENVELOPE_KEYS.contains(&k) => {}
                    _ => params.tree.insert(&key, value)?,
                }
            }
        }
        Ok(params)
    }
}

/// Splits form text into decoded `(key, value)` pairs: `+` is a space, `%XX` a byte, and the
/// result must be UTF-8.
pub fn decode_pairs(text: &[u8]) -> Result<Vec<(String, String)>, Fault> {
    let mut pairs = Vec::new();
    for part in text.split(|&b| b == b'&') {
        if part.is_empty() {
            continue;
        }
        let (key, value) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        pairs.push((percent_decode(key)?, percent_decode(value)?));
    }
    Ok(pairs)
}

fn percent_decode(bytes: &[u8]) -> Result<String, Fault> {
    let malformed = || {
        Fault::new(
            FaultCode::MalformedQueryString,
            "The query string could not be decoded",
        )
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(malformed)?;
                let hex = std::str::from_utf8(hex).map_err(|_| malformed())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| malformed())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed())
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn unknown(key: &str) -> Fault {
    Fault::invalid_parameter_value(format!("Unrecognized parameter: {}", shown(key)))
}

/// `InvalidParameterValue` for a value that is not of the member's type.
fn bad_value(value: &str, path: &str, expected: &str) -> Fault {
    Fault::invalid_parameter_value(format!(
        "Invalid value '{}' for parameter {path}: must be {expected}",
        shown(value)
    ))
}

/// Client text echoed in a fault message, cut short so a huge key or value is not sent back whole.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 128;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]).into(),
        None => text.into(),
    }
}

impl Node {
    fn insert(&mut self, key: &str, value: String) -> Result<(), Fault> {
        let mut node = self;
        for (depth, segment) in key.split('.').enumerate() {
            if segment.is_empty() || depth >= MAX_KEY_DEPTH {
                return Err(unknown(key));
            }
            node = node.children.entry(segment.to_string()).or_default();
        }
        node.value = Some(value);
        Ok(())
    }

    /// The child named `name`, if sent.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.get(name)
    }

    /// Whether nothing at all was sent under this node.
    pub fn is_empty(&self) -> bool {
        self.value.is_none() && self.children.is_empty()
    }

    /// Fails with the first child whose name is not in `allowed` (a structure's member names).
    /// A structure node may also carry an empty value (`Tags.Tag.1=`), but not a non-empty one.
    pub fn reject_unknown(&self, path: &str, allowed: &[&str]) -> Result<(), Fault> {
        if let Some(v) = &self.value {
            if !v.is_empty() {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid value for parameter {path}: a structure takes no value"
                )));
            }
        }
        for (name, child) in &self.children {
            if !allowed.contains(&name.as_str()) {
                let mut key = join(path, name);
                let mut n = child;
                while let Some((k, c)) = n.children.iter().next() {
                    key = join(&key, k);
                    n = c;
                }
                return Err(unknown(&key));
            }
        }
        Ok(())
    }

    fn scalar(&self, path: &str) -> Result<&str, Fault> {
        if let Some((name, _)) = self.children.iter().next() {
            return Err(unknown(&join(path, name)));
        }
        Ok(self.value.as_deref().unwrap_or(""))
    }
}

/// A shape built from a parameter tree (implemented by the generated code for every input shape).
pub trait Bind: Sized {
    /// Binds `node`, found at dotted key `path` ("" for the request itself).
    fn bind(node: &Node, path: &str) -> Result<Self, Fault>;
}

/// A required member: `MissingParameter` when absent.
pub fn required<T>(
    node: &Node,
    path: &str,
    name: &str,
    bind: impl Fn(&Node, &str) -> Result<T, Fault>,
) -> Result<T, Fault> {
    let key = join(path, name);
    match node.child(name) {
        Some(child) => bind(child, &key),
        None => Err(Fault::missing_parameter(&key)),
    }
}

/// An optional member.
pub fn optional<T>(
    node: &Node,
    path: &str,
    name: &str,
    bind: impl Fn(&Node, &str) -> Result<T, Fault>,
) -> Result<Option<T>, Fault> {
    node.child(name)
        .map(|child| bind(child, &join(path, name)))
        .transpose()
}

/// A string member, taken as sent.
pub fn string(node: &Node, path: &str) -> Result<String, Fault> {
    node.scalar(path).map(str::to_string)
}

/// A string member restricted to the model's enum values.
pub fn enumerated(node: &Node, path: &str, allowed: &[&str]) -> Result<String, Fault> {
    let v = node.scalar(path)?;
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(bad_value(
            v,
            path,
            &format!("one of {}", allowed.join(", ")),
        ))
    }
}

fn parsed<T: std::str::FromStr>(node: &Node, path: &str, kind: &str) -> Result<T, Fault> {
    let v = node.scalar(path)?;
    v.trim().parse().map_err(|_| bad_value(v, path, kind))
}

/// A 32-bit integer member.
pub fn integer(node: &Node, path: &str) -> Result<i32, Fault> {
    parsed(node, path, "an integer")
}

/// A 64-bit integer member.
pub fn long(node: &Node, path: &str) -> Result<i64, Fault> {
    parsed(node, path, "an integer")
}

/// A floating-point member.
pub fn double(node: &Node, path: &str) -> Result<f64, Fault> {
    let v: f64 = parsed(node, path, "a number")?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Fault::invalid_parameter_value(format!(
            "Invalid value for parameter {path}: must be a finite number"
        )))
    }
}

/// A boolean member: `true` or `false` (any case, as the Java-based AWS front ends accept).
pub fn boolean(node: &Node, path: &str) -> Result<bool, Fault> {
    let v = node.scalar(path)?;
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(bad_value(v, path, "true or false"))
    }
}

/// A timestamp member: ISO 8601 / RFC 3339 with an optional fraction and `Z` or an offset; a
/// value without a zone is read as UTC.
pub fn timestamp(node: &Node, path: &str) -> Result<Timestamp, Fault> {
    let v = node.scalar(path)?;
    parse_timestamp(v).ok_or_else(|| bad_value(v, path, "an ISO 8601 timestamp"))
}

/// Parses a request timestamp (see [`timestamp`]).
pub fn parse_timestamp(v: &str) -> Option<Timestamp> {
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Some(t);
    }
    let naive = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(v, naive)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// A list member spelled `path.<element>.N` (N from 1, in index order; gaps allowed), or `path=`
/// for an empty list.
pub fn list<T>(
    node: &Node,
    path: &str,
    element: &str,
    bind: impl Fn(&Node, &str) -> Result<T, Fault>,
) -> Result<Vec<T>, Fault> {
    if let Some(v) = &node.value {
        if !v.is_empty() {
            return Err(Fault::invalid_parameter_value(format!(
                "Invalid value for parameter {path}: a list is sent as {path}.{element}.N"
            )));
        }
    }
    node.reject_unknown(path, &[element])?;
    let Some(items) = node.child(element) else {
        return Ok(Vec::new());
    };
    let elem_path = join(path, element);
    if items.value.is_some() {
        return Err(unknown(&elem_path));
    }
    let mut indexed = Vec::with_capacity(items.children.len());
    for (index, child) in &items.children {
        let n = parse_index(index).ok_or_else(|| unknown(&join(&elem_path, index)))?;
        indexed.push((n, index, child));
    }
    indexed.sort_by_key(|(n, _, _)| *n);
    indexed
        .into_iter()
        .map(|(_, index, child)| bind(child, &join(&elem_path, index)))
        .collect()
}

/// A list index: a decimal number from 1, without sign or leading zeros.
fn parse_index(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 6 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(body: &str) -> Node {
        Params::decode(&[body.as_bytes()]).unwrap().tree
    }

    #[test]
    fn decoding_follows_html_form_rules() {
        let pairs = decode_pairs(b"a=b+c%26d%3De&&empty=&bare").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "b c&d=e".into()),
                ("empty".into(), "".into()),
                ("bare".into(), "".into())
            ]
        );
        for bad in [&b"a=%2"[..], b"a=%zz", b"a=%ff"] {
            assert_eq!(
                decode_pairs(bad).unwrap_err().code,
                FaultCode::MalformedQueryString
            );
        }
    }

    #[test]
    fn envelope_keys_are_split_off() {
        let p = Params::decode(&[b"Action=X&Version=2015-02-02&X-Amz-Date=1&A=1"]).unwrap();
        assert_eq!(p.action.as_deref(), Some("X"));
        assert_eq!(p.version.as_deref(), Some("2015-02-02"));
        assert_eq!(p.tree, tree("A=1"));
        let dup = Params::decode(&[b"A=1", b"A=2"]).unwrap_err();
        assert_eq!(dup.code, FaultCode::MalformedQueryString);
    }

    #[test]
    fn lists_bind_in_index_order_and_empty_differs_from_absent() {
        let t = tree("L.E.2=b&L.E.1=a&L.E.10=c&Empty=");
        let l = list(t.child("L").unwrap(), "L", "E", string).unwrap();
        assert_eq!(l, vec!["a", "b", "c"]);
        assert_eq!(
            list(t.child("Empty").unwrap(), "Empty", "E", string).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            optional(&t, "", "Absent", |n, p| list(n, p, "E", string)).unwrap(),
            None
        );
        for bad in [
            "L.E.0=a",
            "L.E.01=a",
            "L.E.x=a",
            "L.member.1=a",
            "L=a",
            "L.E=a",
        ] {
            let t = tree(bad);
            let err = list(t.child("L").unwrap(), "L", "E", string).unwrap_err();
            assert_eq!(err.code, FaultCode::InvalidParameterValueException, "{bad}");
        }
    }

    #[test]
    fn scalars() {
        let t = tree("I=42&B=true&F=False&X=abc&T=2024-05-01T10%3A00%3A00.250000Z&N=2024-05-01T10%3A00%3A00&D=1.5");
        assert_eq!(required(&t, "", "I", integer).unwrap(), 42);
        assert!(required(&t, "", "B", boolean).unwrap());
        assert!(!required(&t, "", "F", boolean).unwrap());
        assert_eq!(required(&t, "", "D", double).unwrap(), 1.5);
        let e = required(&t, "", "X", integer).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                FaultCode::InvalidParameterValueException,
                "Invalid value 'abc' for parameter X: must be an integer"
            )
        );
        assert_eq!(
            required(&t, "", "X", boolean).unwrap_err().code,
            FaultCode::InvalidParameterValueException
        );
        let ts = required(&t, "", "T", timestamp).unwrap();
        assert_eq!(crate::xml::format_timestamp(ts), "2024-05-01T10:00:00.250Z");
        assert_eq!(
            crate::xml::format_timestamp(required(&t, "", "N", timestamp).unwrap()),
            "2024-05-01T10:00:00.000Z"
        );
        let missing = required(&t, "Outer", "Nope", string).unwrap_err();
        assert_eq!(
            (missing.code, missing.message.as_str()),
            (
                FaultCode::MissingParameter,
                "The request must contain the parameter Outer.Nope"
            )
        );
        assert_eq!(
            required(&t, "", "X", |n, p| enumerated(n, p, &["a", "b"]))
                .unwrap_err()
                .code,
            FaultCode::InvalidParameterValueException
        );
    }

    #[test]
    fn unknown_keys_are_named_in_full() {
        let t = tree("A=1&B.c.d=2");
        let e = t.reject_unknown("", &["A"]).unwrap_err();
        assert_eq!(e.message, "Unrecognized parameter: B.c.d");
        let t = tree("A.x=1");
        assert_eq!(
            required(&t, "", "A", string).unwrap_err().message,
            "Unrecognized parameter: A.x"
        );
        assert_eq!(
            Params::decode(&[b"A..b=1"]).unwrap_err().message,
            "Unrecognized parameter: A..b"
        );
    }

    #[test]
    fn hostile_depth_is_refused_before_building_a_tree() {
        let key = vec!["a"; 200_000].join(".");
        let e = Params::decode(&[format!("{key}=1").as_bytes()]).unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidParameterValueException);
        assert!(e.message.len() < 200, "{}", e.message.len());
        let ok = ["a"; MAX_KEY_DEPTH].join(".");
        assert!(Params::decode(&[format!("{ok}=1").as_bytes()]).is_ok());
    }
}
