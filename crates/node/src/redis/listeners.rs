//! Listening addresses added and removed at runtime, from the control socket only.
//!
//! A replication group's primary endpoint is an address of its own that only the current
//! primary listens on; when the control plane promotes another node it removes the address from
//! the old primary and adds it to the new one (`SO_REUSEADDR`, so the address is free again as
//! soon as the old listener closes). Commands (control socket, managed mode):
//!
//! ```text
//!   LISTENER ADD <ip:port>     +OK (also when already listening there)
//!   LISTENER REMOVE <ip:port>  +OK (also when not listening there); open connections stay
//!   LISTENER LIST              array of the runtime addresses
//! ```

use super::Workers;
use parking_lot::Mutex;
use resp::request::Argv;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The runtime listeners of one node. Their accept loops run on the worker that serves the
/// control socket (worker 0) and hand connections to every worker, as the `--bind` ones do.
pub struct RuntimeListeners {
    workers: Arc<Workers>,
    open: Mutex<BTreeMap<SocketAddr, JoinHandle<()>>>,
}

impl RuntimeListeners {
    pub(crate) fn new(workers: Arc<Workers>) -> Self {
        RuntimeListeners {
            workers,
            open: Mutex::default(),
        }
    }

    /// Whether `argv` is a LISTENER command (handled here, not by the engine).
    pub fn is_listener_command(argv: &Argv) -> bool {
        argv.get(0)
            .is_some_and(|c| c.eq_ignore_ascii_case(b"listener"))
    }

    /// Runs one LISTENER command and appends its RESP reply to `out`.
    pub fn run(&self, argv: &Argv, out: &mut Vec<u8>) {
        let sub = argv
            .get(1)
            .map(|s| String::from_utf8_lossy(s).to_ascii_uppercase());
        let addr = argv
            .get(2)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|a| a.parse::<SocketAddr>().ok());
        match (sub.as_deref(), addr, argv.len()) {
            (Some("ADD"), Some(addr), 3) => match self.add(addr) {
                Ok(()) => out.extend_from_slice(b"+OK\r\n"),
                Err(e) => {
                    let msg = format!("-ERR cannot listen on {addr}: {e}\r\n");
                    out.extend_from_slice(msg.replace(['\r', '\n'], " ").trim_end().as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            },
            (Some("REMOVE"), Some(addr), 3) => {
                if let Some(task) = self.open.lock().remove(&addr) {
                    task.abort();
                }
                out.extend_from_slice(b"+OK\r\n");
            }
            (Some("LIST"), None, 2) => {
                let open = self.open.lock();
                out.extend_from_slice(format!("*{}\r\n", open.len()).as_bytes());
                for a in open.keys() {
                    let a = a.to_string();
                    out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
                }
            }
            _ => out.extend_from_slice(
                b"-ERR syntax: LISTENER ADD <ip:port> | LISTENER REMOVE <ip:port> | LISTENER LIST\r\n",
            ),
        }
    }

    fn add(&self, addr: SocketAddr) -> std::io::Result<()> {
        let mut open = self.open.lock();
        if open.get(&addr).is_some_and(|t| !t.is_finished()) {
            return Ok(());
        }
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(1024)?;
        let task = tokio::spawn(super::accept_tcp(listener, self.workers.clone()));
        open.insert(addr, task);
        Ok(())
    }
}
