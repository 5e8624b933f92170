//! The replica's side of the replication link: the socket to the primary (REPLICAOF host port).
//!
//! ```text
//!   supervisor (every 100 ms): engine's REPLICAOF target changed? ─▶ stop the old link task,
//!                              start one for the new generation
//!   link task, while its generation is current: reconnects at once after a link that was up
//!   for a second or more, else once a second:
//!     connect ─▶ PING ─▶ REPLCONF listening-port <port> ─▶ REPLCONF capa eof capa psync2
//!     ─▶ PSYNC <replid> <offset+1>   (PSYNC ? -1 the first time)
//!        +FULLRESYNC id off ─▶ read "$EOF:<mark>" … <mark> (or "$<len>") ─▶ flush + load
//!        +CONTINUE [id]     ─▶ keep the data
//!     ─▶ stream: parse commands, run them as the "master" client (exempt from READONLY),
//!        their bytes join our offset and backlog; REPLCONF GETACK ─▶ REPLCONF ACK <offset>;
//!        REPLCONF ACK every second; CLIENT KILL TYPE master drops the link (then PSYNC
//!        continues where it stopped).
//! ```
//!
//! The engine keeps the replication state (`engine_redis::replication`); this module only
//! moves bytes. The RDB of a full sync is held in memory until loaded.

use engine_redis::client::{ClientKind, ConnInfo, OutMsg, Outbox};
use engine_redis::replication::{link, LinkState};
use engine_redis::Engine;
use resp::request::{parse_request, Argv, Parsed, RequestLimits};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Watches the engine's REPLICAOF target and keeps one link task for it.
pub async fn supervise(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut running: Option<(u64, JoinHandle<()>)> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let target = link::target(&engine.lock());
        let current = running.as_ref().map(|r| r.0);
        match target {
            Some((generation, host, port)) if current != Some(generation) => {
                if let Some((_, h)) = running.take() {
                    h.abort();
                }
                let e = engine.clone();
                running = Some((
                    generation,
                    tokio::spawn(run_link(e, generation, host, port)),
                ));
            }
            None => {
                if let Some((_, h)) = running.take() {
                    h.abort();
                }
            }
            _ => {}
        }
    }
    if let Some((_, h)) = running {
        h.abort();
    }
}

const RETRY_PAUSE: Duration = Duration::from_secs(1);

async fn run_link(engine: Arc<Engine>, generation: u64, host: String, port: u16) {
    loop {
        if !link::set_state(&mut engine.lock(), generation, LinkState::Connecting) {
            return;
        }
        let started = std::time::Instant::now();
        if let Err(e) = session(&engine, generation, &host, port).await {
            tracing::warn!(error = %e, %host, port, "replication link down");
        }
        if !link::set_state(&mut engine.lock(), generation, LinkState::Connect) {
            return;
        }
        // A link that had been up for a while reconnects at once (a dropped connection to a
        // live primary resumes by partial resync without a second's gap); a primary that keeps
        // failing is retried once a second, as redis's replication cron does.
        if started.elapsed() < RETRY_PAUSE {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

/// The primary's connection with a read buffer.
struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = vec![0u8; 64 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(60), self.sock.read(&mut chunk))
            .await
            .map_err(|_| anyhow::anyhow!("timeout reading from the primary"))??;
        if n == 0 {
            anyhow::bail!("the primary closed the connection");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// One line without its CRLF; bare newlines (the primary's keepalives) are skipped.
    async fn line(&mut self) -> anyhow::Result<String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.remove(0);
            }
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l = String::from_utf8_lossy(&self.buf[..p]).to_string();
                self.buf.drain(..p + 2);
                return Ok(l);
            }
            self.fill().await?;
        }
    }

    async fn command(&mut self, args: &[&str]) -> anyhow::Result<String> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.sock.write_all(&out).await?;
        self.line().await
    }

    /// The RDB payload of a full sync.
    async fn rdb(&mut self) -> anyhow::Result<Vec<u8>> {
        let head = self.line().await?;
        if let Some(mark) = head.strip_prefix("$EOF:") {
            let mark = mark.as_bytes().to_vec();
            anyhow::ensure!(mark.len() == 40, "bad EOF mark");
            // Only the bytes that arrived since the last look (plus a mark's length) are
            // searched: the payload can be gigabytes.
            let mut searched: usize = 0;
            loop {
                let from = searched.saturating_sub(40);
                if let Some(p) = self.buf[from..]
                    .windows(40)
                    .position(|w| w == mark.as_slice())
                {
                    let end = from + p;
                    // Keep the stream bytes that followed; the payload moves out uncopied.
                    let rest = self.buf.split_off(end + 40);
                    let mut rdb = std::mem::replace(&mut self.buf, rest);
                    rdb.truncate(end);
                    return Ok(rdb);
                }
                searched = self.buf.len();
                self.fill().await?;
            }
        }
        let len: usize = head
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("bad RDB header {head:?}"))?;
        while self.buf.len() < len {
            self.fill().await?;
        }
        Ok(self.buf.drain(..len).collect())
    }
}

/// The outbox of the master client: only CLIENT KILL (Close) matters; replies are dropped.
struct LinkOutbox(mpsc::UnboundedSender<()>);

impl Outbox for LinkOutbox {
    fn send(&self, msg: OutMsg) {
        if matches!(msg, OutMsg::Close) {
            let _ = self.0.send(());
        }
    }
}

/// Deregisters the master client however the session ends.
struct Registered {
    engine: Arc<Engine>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.engine.disconnect(self.id);
    }
}

fn ack(offset: u64) -> Vec<u8> {
    let off = offset.to_string();
    format!(
        "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n${}\r\n{off}\r\n",
        off.len()
    )
    .into_bytes()
}

async fn session(
    engine: &Arc<Engine>,
    generation: u64,
    host: &str,
    port: u16,
) -> anyhow::Result<()> {
    let addr = format!("{host}:{port}");
    let sock = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&addr))
        .await
        .map_err(|_| anyhow::anyhow!("timeout connecting to {addr}"))??;
    let _ = sock.set_nodelay(true);
    let mut c = Conn {
        sock,
        buf: Vec::new(),
    };
    let pong = c.command(&["PING"]).await?;
    anyhow::ensure!(
        pong.starts_with('+') || pong.starts_with("-NOAUTH") || pong.starts_with("-ERR"),
        "unexpected PING reply {pong:?}"
    );
    anyhow::ensure!(
        !pong.starts_with("-NOAUTH"),
        "the primary requires a password"
    );
    let my_port = engine.lock().tcp_port.to_string();
    c.command(&["REPLCONF", "listening-port", &my_port]).await?;
    c.command(&["REPLCONF", "capa", "eof", "capa", "psync2"])
        .await?;
    let (replid, offset) = link::psync_args(&engine.lock());
    let offset_arg = if replid == "?" {
        "-1".to_string()
    } else {
        offset.to_string()
    };
    if !link::set_state(&mut engine.lock(), generation, LinkState::Sync) {
        return Ok(());
    }
    let reply = c.command(&["PSYNC", &replid, &offset_arg]).await?;
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut parts = rest.split_whitespace();
        let id = parts.next().unwrap_or_default().to_string();
        let off: u64 = parts.next().and_then(|o| o.parse().ok()).unwrap_or(0);
        let rdb = c.rdb().await?;
        let mut s = engine.lock();
        if link::target(&s).map(|t| t.0) != Some(generation) {
            return Ok(());
        }
        let n = link::full_sync(&mut s, &id, off, &rdb).map_err(anyhow::Error::msg)?;
        tracing::info!(
            keys = n,
            bytes = rdb.len(),
            "full sync from the primary loaded"
        );
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let id = rest.trim();
        link::continued(&mut engine.lock(), (!id.is_empty()).then_some(id));
    } else {
        anyhow::bail!("PSYNC refused: {reply}");
    }
    let (tx, mut killed) = mpsc::unbounded_channel();
    // A Normal client (CLIENT LIST and CLIENT KILL TYPE master see it); marked as the master
    // link right away, which exempts it from READONLY.
    let id = engine.connect(
        ClientKind::Normal,
        ConnInfo {
            addr,
            laddr: c
                .sock
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            fd: -1,
        },
        Arc::new(LinkOutbox(tx)),
    );
    let _reg = Registered {
        engine: engine.clone(),
        id,
    };
    {
        let mut s = engine.lock();
        link::set_client(&mut s, generation, id);
    }
    if !link::set_state(&mut engine.lock(), generation, LinkState::Connected) {
        return Ok(());
    }
    let limits = RequestLimits {
        max_bulk_len: i64::MAX,
        authenticated: true,
    };
    let mut acks = tokio::time::interval(Duration::from_secs(1));
    let mut cmds: VecDeque<Argv> = VecDeque::new();
    let mut sink = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let timeout = Duration::from_secs(
        engine
            .lock()
            .config
            .value_of("repl-timeout")
            .parse()
            .unwrap_or(60),
    );
    let mut last_read = tokio::time::Instant::now();
    loop {
        // Apply every whole command in the buffer, answering GETACK in order.
        let mut consumed = 0;
        let mut applied_to = 0;
        loop {
            match parse_request(&c.buf[consumed..], &limits)
                .map_err(|e| anyhow::anyhow!("bad stream from the primary: {}", e.message()))?
            {
                Parsed::Incomplete => break,
                Parsed::Command(argv, n) => {
                    let getack = argv.len() >= 2
                        && argv[0].eq_ignore_ascii_case(b"replconf")
                        && argv[1].eq_ignore_ascii_case(b"getack");
                    if getack {
                        let off = apply(
                            engine,
                            id,
                            &mut cmds,
                            &c.buf[applied_to..consumed],
                            &mut sink,
                        );
                        applied_to = consumed;
                        consumed += n;
                        // The GETACK itself counts once it is processed.
                        apply(
                            engine,
                            id,
                            &mut cmds,
                            &c.buf[applied_to..consumed],
                            &mut sink,
                        );
                        applied_to = consumed;
                        c.sock.write_all(&ack(off)).await?;
                    } else {
                        if !argv.is_empty() {
                            cmds.push_back(argv);
                        }
                        consumed += n;
                    }
                }
            }
        }
        apply(
            engine,
            id,
            &mut cmds,
            &c.buf[applied_to..consumed],
            &mut sink,
        );
        c.buf.drain(..consumed);
        if link::target(&engine.lock()).map(|t| t.0) != Some(generation) {
            return Ok(());
        }
        tokio::select! {
            r = c.sock.read(&mut chunk) => {
                let n = r?;
                if n == 0 {
                    anyhow::bail!("the primary closed the connection");
                }
                c.buf.extend_from_slice(&chunk[..n]);
                last_read = tokio::time::Instant::now();
            }
            _ = acks.tick() => {
                let off = link::offset(&engine.lock());
                c.sock.write_all(&ack(off)).await?;
                if last_read.elapsed() > timeout {
                    anyhow::bail!("no data from the primary for {timeout:?}");
                }
            }
            _ = killed.recv() => anyhow::bail!("link closed by CLIENT KILL"),
        }
    }
}

/// Runs the queued commands as the master client and counts their bytes into our offset and
/// backlog. Returns the offset after them.
fn apply(
    engine: &Arc<Engine>,
    id: u64,
    cmds: &mut VecDeque<Argv>,
    bytes: &[u8],
    sink: &mut Vec<u8>,
) -> u64 {
    if !cmds.is_empty() {
        // Replies to the primary's commands are not sent back.
        let _ = engine.run(id, cmds, sink);
        sink.clear();
        cmds.clear();
    }
    let mut s = engine.lock();
    if !bytes.is_empty() {
        link::applied(&mut s, bytes);
    }
    link::offset(&s)
}
