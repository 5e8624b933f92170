//! The text protocol: command lines of the classic commands, the meta commands and `config`.
//!
//! [`parse`] turns one command line into a [`Command`]. Storage commands (`set`, `cas`, ...,
//! `ms`, `config set`) announce a data block; the caller fetches it with [`data_block`] once the
//! bytes are there, or swallows them when the command was refused.
//!
//! Tokens are split on spaces as memcached's `tokenize_command` does (runs of spaces count as
//! one); the line may end in `\r\n` or a bare `\n`. Command names are case-sensitive.

use crate::meta::{self, MetaCommand};
use crate::number::{parse_flags, parse_i32, parse_u64};
use crate::{msg, ErrorReply, ParseError, Parsed, KEY_MAX_LENGTH, MAX_LINE};

/// Which storage command a [`Store`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas,
}

impl StoreMode {
    pub fn name(self) -> &'static str {
        match self {
            StoreMode::Set => "set",
            StoreMode::Add => "add",
            StoreMode::Replace => "replace",
            StoreMode::Append => "append",
            StoreMode::Prepend => "prepend",
            StoreMode::Cas => "cas",
        }
    }
}

/// A storage command line; `len` bytes of data plus `\r\n` follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store<'a> {
    pub mode: StoreMode,
    pub key: &'a [u8],
    pub flags: u32,
    pub exptime: i32,
    pub len: usize,
    /// The compare value of `cas` (0 for the other modes).
    pub cas: u64,
    pub noreply: bool,
}

/// The keys of a retrieval command, each already checked against the length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys<'a> {
    rest: &'a [u8],
}

impl<'a> Keys<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.rest.split(|&b| b == b' ').filter(|t| !t.is_empty())
    }
}

/// The argument of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsGroup<'a> {
    General,
    Settings,
    Items,
    Slabs,
    Sizes,
    Conns,
    Reset,
    /// `stats detail ...`, `stats cachedump ...`: sub-commands we answer with memcached's usage text
    /// or refuse; the raw tokens are kept.
    Other(&'a [u8]),
}

/// One parsed text command line.
///
/// Built on the stack for one request and dropped after it, never stored: the size of the meta
/// variant (its flags inline, no allocation) costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    Store(Store<'a>),
    Get {
        keys: Keys<'a>,
        with_cas: bool,
    },
    /// `gat`/`gats`: get and touch.
    Gat {
        exptime: i32,
        keys: Keys<'a>,
        with_cas: bool,
    },
    Touch {
        key: &'a [u8],
        exptime: i32,
        noreply: bool,
    },
    /// `incr`/`decr`.
    Arith {
        key: &'a [u8],
        delta: u64,
        incr: bool,
        noreply: bool,
    },
    Delete {
        key: &'a [u8],
        noreply: bool,
    },
    FlushAll {
        delay: i32,
        noreply: bool,
    },
    Version,
    Verbosity {
        level: u64,
        noreply: bool,
    },
    Quit,
    Stats(StatsGroup<'a>),
    SlabsReassign {
        src: i32,
        dst: i32,
    },
    SlabsAutomove {
        level: u32,
    },
    /// `cache_memlimit <MB> [noreply]`: memcached's runtime memory limit.
    CacheMemlimit {
        megabytes: u64,
        noreply: bool,
    },
    /// `config get <key>` (ElastiCache Auto Discovery).
    ConfigGet {
        key: &'a [u8],
    },
    /// `config set param <name> <value>`: changes a parameter at runtime (admin only; our
    /// addition for the control plane, not an ElastiCache command).
    ConfigSetParam {
        name: &'a [u8],
        value: &'a [u8],
    },
    /// `config set <key> <flags> <exptime> <bytes>`, followed by a data block (admin only).
    ConfigSet {
        key: &'a [u8],
        len: usize,
    },
    Meta(MetaCommand<'a>),
    /// A command memcached refuses only after reading its data block (meta set with a bad
    /// flag): answer `reply`, then drop `swallow` bytes.
    Refused {
        reply: ErrorReply,
        swallow: usize,
    },
}

/// Finds the end of the command line at the start of `buf`: `Ok(Some((line_len_without_eol,
/// consumed)))`, `Ok(None)` when more bytes are needed, `Err` when memcached would close.
pub fn line_end(buf: &[u8]) -> Result<Option<(usize, usize)>, ParseError> {
    match memchr::memchr(b'\n', buf) {
        Some(nl) => {
            let end = if nl > 0 && buf[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            Ok(Some((end, nl + 1)))
        }
        None if buf.len() > MAX_LINE && !is_multiget_prefix(buf) => {
            Err(ParseError::Fatal(ErrorReply::Silent))
        }
        None => Ok(None),
    }
}

/// memcached lets unbounded `get`/`gets` lines through the 2048-byte line limit.
fn is_multiget_prefix(buf: &[u8]) -> bool {
    let start = buf.iter().position(|&b| b != b' ').unwrap_or(buf.len());
    start <= 100 && (buf[start..].starts_with(b"get ") || buf[start..].starts_with(b"gets "))
}

/// Splits a line into tokens; memcached keeps at most 24, the last holding the rest of the line.
pub(crate) fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ').filter(|t| !t.is_empty())
}

/// Parses one command line at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<Command<'_>> {
    let Some((end, consumed)) = line_end(buf)? else {
        return Err(ParseError::Incomplete);
    };
    let line = &buf[..end];
    parse_line(line)
        .map(|c| (c, consumed))
        .map_err(|reply| ParseError::Invalid { consumed, reply })
}

const MAX_TOKENS: usize = 24;

/// Parses a line without its end-of-line.
pub fn parse_line(line: &[u8]) -> Result<Command<'_>, ErrorReply> {
    let mut toks: [&[u8]; MAX_TOKENS] = [&[]; MAX_TOKENS];
    let mut n = 0;
    for t in tokens(line) {
        if n == MAX_TOKENS {
            n += 1;
            break;
        }
        toks[n] = t;
        n += 1;
    }
    let Some(&name) = toks.first().filter(|_| n > 0) else {
        return Err(ErrorReply::Error);
    };
    let args = &toks[1..n.min(MAX_TOKENS)];
    let too_many = n > MAX_TOKENS;
    match name {
        b"get" | b"gets" => {
            let rest = after_tokens(line, 1);
            retrieval_keys(rest).map(|keys| Command::Get {
                keys,
                with_cas: name == b"gets",
            })
        }
        b"gat" | b"gats" => {
            if args.is_empty() {
                return Err(ErrorReply::Error);
            }
            let exptime = parse_i32(args[0]).ok_or(ErrorReply::Client(msg::INVALID_EXPTIME))?;
            // Unlike get, gat with no key answers an empty result.
            let keys = Keys {
                rest: after_tokens(line, 2),
            };
            if keys.iter().any(|k| k.len() > KEY_MAX_LENGTH) {
                return Err(ErrorReply::Client(msg::BAD_FORMAT));
            }
            Ok(Command::Gat {
                exptime,
                keys,
                with_cas: name == b"gats",
            })
        }
        b"set" | b"add" | b"replace" | b"append" | b"prepend" | b"cas" if !too_many => {
            parse_store(name, args)
        }
        b"incr" | b"decr" if matches!(args.len(), 2 | 3) => {
            let noreply = noreply_at(args, 2);
            let key = args[0];
            if key.len() > KEY_MAX_LENGTH {
                return Err(quiet(noreply, ErrorReply::Client(msg::BAD_FORMAT)));
            }
            let delta =
                parse_u64(args[1]).ok_or(quiet(noreply, ErrorReply::Client(msg::INVALID_DELTA)))?;
            Ok(Command::Arith {
                key,
                delta,
                incr: name == b"incr",
                noreply,
            })
        }
        b"delete" if matches!(args.len(), 1..=3) => parse_delete(args),
        b"touch" if matches!(args.len(), 2 | 3) => {
            let noreply = noreply_at(args, 2);
            let key = args[0];
            if key.len() > KEY_MAX_LENGTH {
                return Err(quiet(noreply, ErrorReply::Client(msg::BAD_FORMAT)));
            }
            let exptime = parse_i32(args[1])
                .ok_or(quiet(noreply, ErrorReply::Client(msg::INVALID_EXPTIME)))?;
            Ok(Command::Touch {
                key,
                exptime,
                noreply,
            })
        }
        b"flush_all" if args.len() <= 2 => {
            let noreply = args.last() == Some(&&b"noreply"[..]);
            let delay = match args.first() {
                Some(&t) if t != b"noreply" => {
                    parse_i32(t).ok_or(quiet(noreply, ErrorReply::Client(msg::INVALID_EXPTIME)))?
                }
                _ => 0,
            };
            Ok(Command::FlushAll { delay, noreply })
        }
        // memcached ignores anything after these two.
        b"version" => Ok(Command::Version),
        b"quit" => Ok(Command::Quit),
        b"verbosity" if matches!(args.len(), 1 | 2) => {
            let noreply = noreply_at(args, args.len() - 1);
            if noreply && args.len() == 1 {
                // "verbosity noreply": no level; memcached answers nothing.
                return Err(ErrorReply::Silent);
            }
            let level =
                parse_u64(args[0]).ok_or(quiet(noreply, ErrorReply::Client(msg::BAD_FORMAT)))?;
            Ok(Command::Verbosity { level, noreply })
        }
        b"stats" => Ok(Command::Stats(match args.first() {
            None => StatsGroup::General,
            Some(&b"settings") => StatsGroup::Settings,
            Some(&b"items") => StatsGroup::Items,
            Some(&b"slabs") => StatsGroup::Slabs,
            Some(&b"sizes") => StatsGroup::Sizes,
            Some(&b"conns") => StatsGroup::Conns,
            Some(&b"reset") => StatsGroup::Reset,
            Some(_) => StatsGroup::Other(after_tokens(line, 1)),
        })),
        b"slabs" => parse_slabs(args),
        b"cache_memlimit" if matches!(args.len(), 1 | 2) => {
            let noreply = noreply_at(args, 1);
            match parse_u64(args[0]) {
                Some(megabytes) if megabytes <= u64::from(u32::MAX) => {
                    Ok(Command::CacheMemlimit { megabytes, noreply })
                }
                _ => Err(ErrorReply::Error),
            }
        }
        b"config" => parse_config(args),
        b"mg" | b"ms" | b"md" | b"ma" | b"mn" | b"me" => match meta::parse(name, args) {
            Ok(m) => Ok(Command::Meta(m)),
            Err(reply) => match meta::set_data_len(name, args) {
                Some(len) => Ok(Command::Refused {
                    reply,
                    swallow: len + 2,
                }),
                None => Err(reply),
            },
        },
        _ => Err(ErrorReply::Error),
    }
}

fn quiet(noreply: bool, reply: ErrorReply) -> ErrorReply {
    if noreply {
        ErrorReply::Silent
    } else {
        reply
    }
}

fn noreply_at(args: &[&[u8]], i: usize) -> bool {
    args.get(i) == Some(&&b"noreply"[..])
}

/// The part of `line` after its first `n` tokens.
fn after_tokens(line: &[u8], n: usize) -> &[u8] {
    let mut rest = line;
    for _ in 0..n {
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        rest = &rest[start..];
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest
}

fn retrieval_keys(rest: &[u8]) -> Result<Keys<'_>, ErrorReply> {
    let keys = Keys { rest };
    let mut any = false;
    for k in keys.iter() {
        if k.len() > KEY_MAX_LENGTH {
            return Err(ErrorReply::Client(msg::BAD_FORMAT));
        }
        any = true;
    }
    if any {
        Ok(keys)
    } else {
        Err(ErrorReply::Error)
    }
}

fn parse_store<'a>(name: &[u8], args: &[&'a [u8]]) -> Result<Command<'a>, ErrorReply> {
    let mode = match name {
        b"set" => StoreMode::Set,
        b"add" => StoreMode::Add,
        b"replace" => StoreMode::Replace,
        b"append" => StoreMode::Append,
        b"prepend" => StoreMode::Prepend,
        _ => StoreMode::Cas,
    };
    let fixed = if mode == StoreMode::Cas { 5 } else { 4 };
    if args.len() != fixed && args.len() != fixed + 1 {
        return Err(ErrorReply::Error);
    }
    let noreply = noreply_at(args, fixed);
    let bad = quiet(noreply, ErrorReply::Client(msg::BAD_FORMAT));
    let key = args[0];
    if key.len() > KEY_MAX_LENGTH {
        return Err(bad);
    }
    let flags = parse_flags(args[1]).ok_or(bad)?;
    let exptime = parse_i32(args[2]).ok_or(bad)?;
    let len = parse_i32(args[3]).ok_or(bad)?;
    let cas = if mode == StoreMode::Cas {
        parse_u64(args[4]).ok_or(bad)?
    } else {
        0
    };
    // memcached adds 2 for "\r\n" to an int: lengths near INT_MAX are refused.
    if !(0..=i32::MAX - 2).contains(&len) {
        return Err(bad);
    }
    Ok(Command::Store(Store {
        mode,
        key,
        flags,
        exptime,
        len: len as usize,
        cas,
        noreply,
    }))
}

fn parse_delete<'a>(args: &[&'a [u8]]) -> Result<Command<'a>, ErrorReply> {
    let key = args[0];
    let noreply = args.len() > 1 && noreply_at(args, args.len() - 1);
    let hold_is_zero = args.get(1) == Some(&&b"0"[..]);
    let valid = match args.len() {
        1 => true,
        2 => hold_is_zero || noreply,
        _ => hold_is_zero && noreply,
    };
    if !valid {
        return Err(quiet(noreply, ErrorReply::Client(msg::DELETE_USAGE)));
    }
    if key.len() > KEY_MAX_LENGTH {
        return Err(quiet(noreply, ErrorReply::Client(msg::BAD_FORMAT)));
    }
    Ok(Command::Delete { key, noreply })
}

fn parse_slabs<'a>(args: &[&'a [u8]]) -> Result<Command<'a>, ErrorReply> {
    match args {
        [b"reassign", src, dst] => {
            let (Some(src), Some(dst)) = (parse_i32(src), parse_i32(dst)) else {
                return Err(ErrorReply::Client(msg::BAD_FORMAT));
            };
            Ok(Command::SlabsReassign { src, dst })
        }
        [b"automove", level] => match parse_u64(level) {
            Some(level) if level <= 2 => Ok(Command::SlabsAutomove {
                level: level as u32,
            }),
            _ => Err(ErrorReply::Error),
        },
        _ => Err(ErrorReply::Error),
    }
}

fn parse_config<'a>(args: &[&'a [u8]]) -> Result<Command<'a>, ErrorReply> {
    match args {
        [b"get", key] => Ok(Command::ConfigGet { key }),
        [b"set", b"param", name, value] => Ok(Command::ConfigSetParam { name, value }),
        [b"set", key, _flags, _exptime, len] => {
            let len = parse_i32(len)
                .filter(|&l| l >= 0)
                .ok_or(ErrorReply::Client(msg::BAD_FORMAT))?;
            Ok(Command::ConfigSet {
                key,
                len: len as usize,
            })
        }
        _ => Err(ErrorReply::Error),
    }
}

/// The outcome of looking for a data block of `len` bytes plus `\r\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataBlock<'a> {
    /// Fewer than `len + 2` bytes buffered.
    Incomplete,
    /// The data, correctly terminated; `len + 2` bytes are used.
    Data(&'a [u8]),
    /// `len + 2` bytes are there but do not end in `\r\n` (memcached: "bad data chunk"); they
    /// are used all the same.
    BadChunk,
}

/// Reads the data block of a storage command.
pub fn data_block(buf: &[u8], len: usize) -> DataBlock<'_> {
    if buf.len() < len + 2 {
        DataBlock::Incomplete
    } else if &buf[len..len + 2] == b"\r\n" {
        DataBlock::Data(&buf[..len])
    } else {
        DataBlock::BadChunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &[u8]) -> Command<'_> {
        parse(s).expect("parses").0
    }

    fn err(s: &[u8]) -> ErrorReply {
        match parse(s) {
            Err(ParseError::Invalid { reply, .. }) => reply,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn storage_line() {
        assert_eq!(
            parse(b"set foo 5 10 3 noreply\r\nbar\r\n"),
            Ok((
                Command::Store(Store {
                    mode: StoreMode::Set,
                    key: b"foo",
                    flags: 5,
                    exptime: 10,
                    len: 3,
                    cas: 0,
                    noreply: true
                }),
                24
            ))
        );
        match cmd(b"cas k 0 0 1 99\r\n") {
            Command::Store(s) => {
                assert_eq!((s.mode, s.cas, s.noreply), (StoreMode::Cas, 99, false))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err(b"set k -1 0 1\r\n"),
            ErrorReply::Client(msg::BAD_FORMAT)
        );
        assert_eq!(
            err(b"set k 0 0 -1\r\n"),
            ErrorReply::Client(msg::BAD_FORMAT)
        );
        assert_eq!(err(b"set k 0 0\r\n"), ErrorReply::Error);
        assert_eq!(err(b"cas k 0 0 1\r\n"), ErrorReply::Error);
        assert_eq!(err(b"set k 0 0 x noreply\r\n"), ErrorReply::Silent);
    }

    #[test]
    fn incomplete_and_line_limit() {
        assert_eq!(parse(b"get k"), Err(ParseError::Incomplete));
        let long = vec![b'x'; MAX_LINE + 1];
        assert_eq!(parse(&long), Err(ParseError::Fatal(ErrorReply::Silent)));
        let mut get = b"get ".to_vec();
        get.extend(std::iter::repeat_n(b'a', MAX_LINE));
        assert_eq!(parse(&get), Err(ParseError::Incomplete));
    }

    #[test]
    fn retrieval() {
        match cmd(b"gets  a b   c\n") {
            Command::Get { keys, with_cas } => {
                assert!(with_cas);
                assert_eq!(keys.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b", b"c"]);
            }
            other => panic!("{other:?}"),
        }
        let mut long = b"get a ".to_vec();
        long.extend([b'k'; 251]);
        long.extend(b"\r\n");
        assert_eq!(err(&long), ErrorReply::Client(msg::BAD_FORMAT));
        assert_eq!(err(b"get\r\n"), ErrorReply::Error);
        assert_eq!(
            err(b"gat x k\r\n"),
            ErrorReply::Client(msg::INVALID_EXPTIME)
        );
    }

    #[test]
    fn delete_forms() {
        assert!(matches!(
            cmd(b"delete k 0\r\n"),
            Command::Delete { noreply: false, .. }
        ));
        assert!(matches!(
            cmd(b"delete k 0 noreply\r\n"),
            Command::Delete { noreply: true, .. }
        ));
        assert_eq!(
            err(b"delete k 1\r\n"),
            ErrorReply::Client(msg::DELETE_USAGE)
        );
    }

    #[test]
    fn misc() {
        assert_eq!(
            cmd(b"flush_all 10\r\n"),
            Command::FlushAll {
                delay: 10,
                noreply: false
            }
        );
        assert_eq!(
            err(b"flush_all x\r\n"),
            ErrorReply::Client(msg::INVALID_EXPTIME)
        );
        assert_eq!(err(b"GET k\r\n"), ErrorReply::Error);
        assert_eq!(err(b"\r\n"), ErrorReply::Error);
        assert_eq!(
            cmd(b"config get cluster\r\n"),
            Command::ConfigGet { key: b"cluster" }
        );
        assert_eq!(cmd(b"stats slabs\r\n"), Command::Stats(StatsGroup::Slabs));
        assert_eq!(err(b"incr k x\r\n"), ErrorReply::Client(msg::INVALID_DELTA));
    }

    proptest::proptest! {
        #[test]
        fn storage_line_round_trip(
            mode in proptest::sample::select(vec!["set", "add", "replace", "append", "prepend", "cas"]),
            key in "[!-~]{1,250}",
            flags: u32,
            exptime: i32,
            len in 0i32..i32::MAX - 2,
            cas: u64,
            noreply: bool,
        ) {
            let mut line = format!("{mode} {key} {flags} {exptime} {len}");
            if mode == "cas" {
                line.push_str(&format!(" {cas}"));
            }
            if noreply {
                line.push_str(" noreply");
            }
            line.push_str("\r\n");
            let (cmd, used) = parse(line.as_bytes()).unwrap();
            proptest::prop_assert_eq!(used, line.len());
            let Command::Store(s) = cmd else { panic!("not a store: {cmd:?}") };
            proptest::prop_assert_eq!(s.mode.name(), mode);
            proptest::prop_assert_eq!(s.key, key.as_bytes());
            proptest::prop_assert_eq!((s.flags, s.exptime, s.len, s.noreply), (flags, exptime, len as usize, noreply));
            proptest::prop_assert_eq!(s.cas, if mode == "cas" { cas } else { 0 });
        }
    }

    #[test]
    fn data_blocks() {
        assert_eq!(data_block(b"abc\r\n", 3), DataBlock::Data(b"abc"));
        assert_eq!(data_block(b"abc\r", 3), DataBlock::Incomplete);
        assert_eq!(data_block(b"abcd\r", 3), DataBlock::BadChunk);
    }
}
