//! One client connection: read, parse as many requests as are buffered, answer them in one
//! write (pipelining), repeat.
//!
//! The protocol is chosen from the connection's first byte (0x80 = binary), as memcached does.
//! A step can ask to swallow bytes (an oversized value refused before it arrived) so that such
//! values are never buffered.

use std::sync::atomic::Ordering::Relaxed;

use engine_memcached::settings::BindingProtocol;
use engine_memcached::stats::ThreadStats;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{binary, text, Shared};

/// What handling one request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The request used this many bytes.
    Consumed(usize),
    /// Not a whole request yet.
    NeedMore,
    /// Not a whole request yet; it will be this many bytes long.
    NeedMoreFor(usize),
    /// Used `consumed` bytes; drop the next `swallow` bytes as they arrive.
    Swallow { consumed: usize, swallow: usize },
    /// Close the connection (after writing what is queued).
    Close,
}

/// What a request handler may use.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub stats: &'a ThreadStats,
    /// Control-channel connection: may set the cluster configuration and parameters.
    pub admin: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Text,
    Binary,
}

const READ_CHUNK: usize = 16 * 1024;

/// Serves one connection until the client leaves or the protocol says to close.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    shared: &Shared,
    stats: &ThreadStats,
    admin: bool,
) {
    let mut ctx = Ctx {
        shared,
        stats,
        admin,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut protocol = None;
    let mut swallow = 0usize;
    let binding = shared.store.settings().binding_protocol;
    let per_event = shared.store.settings().requests_per_event as usize;
    loop {
        let mut pos = 0;
        let mut close = false;
        let mut want = 0;
        let mut served = 0usize;
        loop {
            if swallow > 0 {
                let n = swallow.min(buf.len() - pos);
                pos += n;
                swallow -= n;
                if swallow > 0 {
                    break;
                }
            }
            if pos >= buf.len() {
                break;
            }
            let proto = *protocol.get_or_insert_with(|| match (buf[pos], binding) {
                (_, BindingProtocol::Binary) => Protocol::Binary,
                (0x80, BindingProtocol::Auto) => Protocol::Binary,
                _ => Protocol::Text,
            });
            let step = match proto {
                Protocol::Text => text::handle(&mut ctx, &buf[pos..], &mut out),
                Protocol::Binary => binary::handle(&mut ctx, &buf[pos..], &mut out),
            };
            match step {
                Step::Consumed(n) => pos += n,
                Step::NeedMore => break,
                Step::NeedMoreFor(n) => {
                    want = n;
                    break;
                }
                Step::Swallow {
                    consumed,
                    swallow: s,
                } => {
                    pos += consumed;
                    swallow = s;
                }
                Step::Close => {
                    close = true;
                    break;
                }
            }
            served += 1;
            if served.is_multiple_of(per_event) && !out.is_empty() {
                // Fairness: let other connections on this worker run between batches.
                if write_all(&mut stream, &mut out, stats).await.is_err() {
                    return;
                }
                shared.conn_yields.fetch_add(1, Relaxed);
                tokio::task::yield_now().await;
            }
        }
        buf.drain(..pos);
        if buf.is_empty() && buf.capacity() > 16 * READ_CHUNK {
            // A big value passed through: do not keep its buffer for the connection's life.
            buf = Vec::with_capacity(READ_CHUNK);
        }
        if !out.is_empty() && write_all(&mut stream, &mut out, stats).await.is_err() {
            return;
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
        if want > buf.capacity() {
            buf.reserve(want - buf.len());
        } else if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                ThreadStats::add(&stats.bytes_read, n as u64);
                crate::busy_poll::note_input();
            }
        }
    }
}

async fn write_all<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &mut Vec<u8>,
    stats: &ThreadStats,
) -> std::io::Result<()> {
    stream.write_all(out).await?;
    ThreadStats::add(&stats.bytes_written, out.len() as u64);
    out.clear();
    if out.capacity() > 4 * 1024 * 1024 {
        out.shrink_to(READ_CHUNK);
    }
    Ok(())
}
