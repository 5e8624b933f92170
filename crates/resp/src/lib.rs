//! RESP2 and RESP3: parsing requests (multibulk and inline) and encoding replies.
//!
//! A codec only: no I/O, no state. Parsing takes `&[u8]` and returns the value plus the number of
//! bytes consumed, or `Incomplete` when more bytes are needed. Encoding appends to a buffer.
