//! Property tests of the request parser: encoded argument vectors parse back whole, every prefix
//! is `Incomplete`, and arbitrary bytes never panic (the stable-toolchain companion of the
//! cargo-fuzz target in `fuzz/`).

use proptest::prelude::*;
use resp::request::{parse_request, Argv, Parsed, RequestLimits};
use resp::{Frame, ReplyBuf};

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

proptest! {
    #[test]
    fn multibulk_roundtrip(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..8)) {
        let wire = encode(&args);
        let limits = RequestLimits::default();
        match parse_request(&wire, &limits).unwrap() {
            Parsed::Command(argv, n) => {
                prop_assert_eq!(n, wire.len());
                prop_assert_eq!(argv, Argv::from_slices(&args));
            }
            Parsed::Incomplete => prop_assert!(false, "complete request reported incomplete"),
        }
        for cut in 0..wire.len() {
            prop_assert_eq!(parse_request(&wire[..cut], &limits), Ok(Parsed::Incomplete));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let limits = RequestLimits::default();
        let mut rest: &[u8] = &data;
        // Consume as a server would: every step either makes progress or stops.
        for _ in 0..400 {
            match parse_request(rest, &limits) {
                Ok(Parsed::Command(_, n)) => { prop_assert!(n > 0 && n <= rest.len()); rest = &rest[n..]; }
                Ok(Parsed::Incomplete) | Err(_) => break,
            }
        }
    }

    #[test]
    fn bulk_reply_roundtrip(data in prop::collection::vec(any::<u8>(), 0..100), n in any::<i64>()) {
        let mut r = ReplyBuf::new(false);
        r.array(2);
        r.bulk(&data);
        r.int(n);
        let (f, used) = Frame::parse(&r.buf).unwrap();
        prop_assert_eq!(used, r.buf.len());
        prop_assert_eq!(f, Frame::Array(vec![Frame::Bulk(data), Frame::Int(n)]));
    }
}
