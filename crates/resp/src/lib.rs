//! RESP2/RESP3 codec: no I/O, no state.
//!
//! - [`request`] parses client requests (multibulk arrays and inline commands) from a byte slice
//!   into an argument vector plus the number of bytes consumed, or says the buffer is incomplete,
//!   or gives the protocol error text redis-server 7.0 sends before closing the connection.
//! - [`reply`] encodes server replies into a `Vec<u8>`, in RESP2 or RESP3 depending on what the
//!   connection negotiated with `HELLO` (maps, sets, doubles, nulls and pushes degrade to their
//!   RESP2 forms exactly as redis-server degrades them).
//! - [`frame`] parses any reply (RESP2 and RESP3) into a [`frame::Frame`] tree: used by clients,
//!   tests and the scripting bridge, which runs commands and reads their replies back.

pub mod frame;
pub mod reply;
pub mod request;

pub use frame::Frame;
pub use reply::ReplyBuf;
pub use request::{parse_request, ParseError, Parsed, RequestLimits};
