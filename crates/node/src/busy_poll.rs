//! Busy polling (`--busy-poll MICROSECONDS`): after serving input, a worker keeps checking its
//! sockets for a short while before it goes to sleep in `epoll_wait`.
//!
//! A sleeping worker must be woken by whoever sends it the next request. On loopback that
//! wake-up is paid by the sender, and in a VM it is an inter-processor interrupt and a VM exit:
//! at pipeline depth 1 it made the client's CPU time per request (what limits a one-core
//! benchmark, where the server idles 15-20% of the time) 4-8% higher than against a server
//! that stays awake. With busy polling a worker that served input within the window polls its
//! poller without blocking instead: tokio polls the I/O driver with a zero timeout while the
//! only ready task is one that yielded. It sleeps once it has been idle for the whole window,
//! so an idle node costs nothing, while a busy one keeps its core. That trade is right for a
//! node with a core of its own, and wrong where nodes and clients share cores, hence off by
//! default.

use std::cell::Cell;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

thread_local! {
    /// Batches of input served on this worker (wraps).
    static SERVED: Cell<u64> = const { Cell::new(0) };
    /// The spinner while it waits, idle, for input to resume polling.
    static IDLE_SPINNER: Cell<Option<Waker>> = const { Cell::new(None) };
}

/// Called by a connection of this worker after it served input: keeps (or starts) the worker
/// polling. Costs a thread-local increment when busy polling is off.
pub(crate) fn note_input() {
    SERVED.with(|s| s.set(s.get().wrapping_add(1)));
    if let Some(w) = IDLE_SPINNER.with(Cell::take) {
        w.wake();
    }
}

/// Starts busy polling on the current worker (a current-thread runtime) if `window` is not
/// zero. The task runs until the runtime is dropped.
pub(crate) fn start(window: Duration) {
    if !window.is_zero() {
        tokio::spawn(spin(window));
    }
}

async fn spin(window: Duration) {
    loop {
        // Idle: sleep until a connection serves input.
        let seen = SERVED.with(Cell::get);
        std::future::poll_fn(|cx| {
            if SERVED.with(Cell::get) != seen {
                return Poll::Ready(());
            }
            IDLE_SPINNER.with(|w| w.set(Some(cx.waker().clone())));
            Poll::Pending
        })
        .await;
        // Busy: yield, so the runtime polls the sockets without blocking, until no input came
        // for the whole window.
        let mut seen = SERVED.with(Cell::get);
        let mut last_input = Instant::now();
        loop {
            tokio::task::yield_now().await;
            let served = SERVED.with(Cell::get);
            if served != seen {
                seen = served;
                last_input = Instant::now();
            } else if last_input.elapsed() >= window {
                break;
            }
        }
    }
}
