//! How a worker gets its connections' batches executed: parallel I/O, serial execution, one
//! engine turn per worker for everything it has ready (flat combining).
//!
//! Every worker reads and parses on its own, but the engine runs one batch at a time. A worker
//! must never block its thread waiting for the engine: it would stop reading, parsing and
//! writing for all its other connections, and two workers would then take turns at doing
//! anything at all (measured: `--threads 2` kept 1.03 CPUs busy and did 0.82x of one thread).
//! So a connection that finds the engine taken queues its batch on its worker and waits as a
//! task; the first one queued takes the next turn for the whole worker, and its turn runs every
//! batch the worker queued meanwhile under one lock acquisition. One lock hand-over between
//! workers then covers many connections, not one.
//!
//! The gate is an async mutex beside the engine's own lock: connection batches pass it, the
//! rest (cron, control socket, scripts, replication) take the engine lock directly, and the
//! gate never waits on them for long. Tasks wait for the gate in FIFO order, so neither worker
//! can starve the other. With one worker the gate is never contended: a batch runs at once.
//!
//! Polling for the gate before sleeping on it (a few µs to a few hundred) measured the same as
//! sleeping at once on this two-CPU machine, and costs the CPU the client needs; it is not done.

use engine_redis::{Engine, RunOutcome};
use resp::request::Argv;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Poll, Waker};

/// The engine and the gate to it, shared by every worker of a node.
pub(crate) struct Executor {
    engine: Arc<Engine>,
    gate: tokio::sync::Mutex<()>,
}

/// A connection's batch waiting for its worker's next turn.
struct Job {
    id: u64,
    cmds: VecDeque<Argv>,
    out: Vec<u8>,
    outcome: Option<RunOutcome>,
    waker: Option<Waker>,
}

type SharedJob = Arc<parking_lot::Mutex<Job>>;

thread_local! {
    /// The batches this worker has queued for its next turn. Each worker is one thread (a
    /// current-thread runtime), so this is per worker.
    static QUEUED: RefCell<Vec<SharedJob>> = const { RefCell::new(Vec::new()) };
}

impl Executor {
    pub(crate) fn new(engine: Arc<Engine>) -> Executor {
        Executor {
            engine,
            gate: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Runs one connection's queued commands (as [`Engine::run`]), waiting for the engine as a
    /// task, never by blocking the worker.
    pub(crate) async fn run(
        &self,
        id: u64,
        cmds: &mut VecDeque<Argv>,
        out: &mut Vec<u8>,
    ) -> RunOutcome {
        if QUEUED.with(|q| q.borrow().is_empty()) {
            if let Ok(_turn) = self.gate.try_lock() {
                return self.engine.run(id, cmds, out);
            }
        }
        let job: SharedJob = Arc::new(parking_lot::Mutex::new(Job {
            id,
            cmds: std::mem::take(cmds),
            out: std::mem::take(out),
            outcome: None,
            waker: None,
        }));
        let first = QUEUED.with(|q| {
            let mut q = q.borrow_mut();
            q.push(job.clone());
            q.len() == 1
        });
        if first {
            // Until this task holds the gate, the worker's other connections keep queueing.
            let gate = self.gate.lock().await;
            let jobs = QUEUED.with(|q| std::mem::take(&mut *q.borrow_mut()));
            let mut turn = self.engine.turn();
            for job in &jobs {
                let mut j = job.lock();
                let Job { id, cmds, out, .. } = &mut *j;
                let outcome = turn.run(*id, cmds, out);
                j.outcome = Some(outcome);
            }
            drop(turn);
            drop(gate);
            for job in &jobs {
                if let Some(w) = job.lock().waker.take() {
                    w.wake();
                }
            }
        }
        let outcome = std::future::poll_fn(|cx| {
            let mut j = job.lock();
            match j.outcome.take() {
                Some(outcome) => Poll::Ready(outcome),
                None => {
                    j.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await;
        let mut j = job.lock();
        *cmds = std::mem::take(&mut j.cmds);
        *out = std::mem::take(&mut j.out);
        outcome
    }
}
