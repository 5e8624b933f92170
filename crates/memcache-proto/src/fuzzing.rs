//! The properties the fuzz targets check, shared with the stable proptest versions so that
//! `cargo test` exercises them too (`fuzz/` runs them under libFuzzer with nightly).
//!
//! Each check walks the whole input the way the node does: parse, step past what was used
//! (a data block for storage commands), repeat.

use crate::meta::MetaKind;
use crate::text::{self, Command, DataBlock};
use crate::{binary, ParseError, KEY_MAX_LENGTH};

/// Text parser properties on arbitrary input.
pub fn check_text(data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        let used = match text::parse(rest) {
            Err(ParseError::Incomplete) | Err(ParseError::Fatal(_)) => return,
            Err(ParseError::Invalid { consumed, .. }) => consumed,
            Ok((cmd, line)) => {
                assert!(line > 0 && line <= rest.len());
                let data_len = match &cmd {
                    Command::Store(s) => {
                        assert!(s.key.len() <= KEY_MAX_LENGTH);
                        Some(s.len)
                    }
                    Command::Get { keys, .. } | Command::Gat { keys, .. } => {
                        assert!(keys
                            .iter()
                            .all(|k| k.len() <= KEY_MAX_LENGTH && !k.is_empty()));
                        None
                    }
                    Command::Meta(m) if m.kind == MetaKind::Set => Some(m.len),
                    Command::Meta(m) => {
                        assert!(m.key.len() <= KEY_MAX_LENGTH);
                        let _ = m.decoded_key();
                        None
                    }
                    Command::ConfigSet { len, .. } => Some(*len),
                    Command::Refused { swallow, .. } => Some(swallow - 2),
                    _ => None,
                };
                match data_len {
                    None => line,
                    Some(len) => match text::data_block(&rest[line..], len) {
                        DataBlock::Incomplete => return,
                        DataBlock::Data(d) => {
                            assert_eq!(d.len(), len);
                            line + len + 2
                        }
                        DataBlock::BadChunk => line + len + 2,
                    },
                }
            }
        };
        assert!(
            used > 0 && used <= rest.len(),
            "consumed {used} of {}",
            rest.len()
        );
        rest = &rest[used..];
    }
}

/// Binary parser properties on arbitrary input.
pub fn check_binary(data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        match binary::parse(rest) {
            Err(_) => return,
            Ok((req, used)) => {
                assert_eq!(used, binary::HEADER_LEN + req.header.body_len as usize);
                assert_eq!(
                    req.extras.len() + req.key.len() + req.value.len(),
                    req.header.body_len as usize
                );
                assert!(req.key.len() <= KEY_MAX_LENGTH);
                rest = &rest[used..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Inputs made of protocol words, so that random runs reach deep into the parsers.
    fn wordy() -> impl Strategy<Value = Vec<u8>> {
        let words = prop::sample::select(vec![
            &b"get "[..],
            b"gets ",
            b"set ",
            b"cas ",
            b"add ",
            b"append ",
            b"incr ",
            b"decr ",
            b"touch ",
            b"gat ",
            b"delete ",
            b"flush_all ",
            b"stats ",
            b"verbosity ",
            b"noreply ",
            b"mg ",
            b"ms ",
            b"md ",
            b"ma ",
            b"mn",
            b"me ",
            b"config get cluster",
            b"config set ",
            b"slabs reassign ",
            b"k ",
            b"0 ",
            b"1 ",
            b"-1 ",
            b"5 ",
            b"4294967296 ",
            b"T10 ",
            b"v ",
            b"b ",
            b"Zm9v ",
            b"MA ",
            b"q ",
            b"\r\n",
            b"\n",
            b"abc",
            b"  ",
            b"\x00",
            b"\x80",
        ]);
        prop::collection::vec(words, 0..40).prop_map(|w| w.concat())
    }

    proptest! {
        #[test]
        fn text_random_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
            check_text(&data);
        }

        #[test]
        fn text_protocol_words(data in wordy()) {
            check_text(&data);
        }

        #[test]
        fn binary_random_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
            check_binary(&data);
        }

        #[test]
        fn binary_valid_headers_random_bodies(op: u8, key_len in 0u16..300, extras_len in 0u8..30,
                                              body in prop::collection::vec(any::<u8>(), 0..400)) {
            let mut data = vec![0x80, op];
            data.extend(key_len.to_be_bytes());
            data.push(extras_len);
            data.extend([0, 0, 0]);
            data.extend((body.len() as u32).to_be_bytes());
            data.extend([0u8; 12]);
            data.extend(&body);
            check_binary(&data);
        }
    }
}
