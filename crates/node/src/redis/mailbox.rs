//! A connection's outbox: how the engine and other connections, on any worker, reach it
//! (pub/sub messages, MONITOR lines, replies of served blocked commands, CLIENT KILL).
//!
//! The connection checks it every time it waits for input, which at pipeline depth 1 is once
//! per request, so the check is one atomic load: the connection task's waker is registered
//! once and stays registered, and a sender raises `has_mail` before waking it. A Close also
//! raises `killed`, which reaches a connection stuck writing to a client that does not read.

use engine_redis::client::{OutMsg, Outbox};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
pub(crate) struct Mailbox {
    has_mail: AtomicBool,
    killed: AtomicBool,
    /// Bytes of `OutMsg::Data` not yet taken plus reply bytes the socket has not taken yet
    /// (client output buffer limits, CLIENT LIST omem).
    pending: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    msgs: VecDeque<OutMsg>,
    waker: Option<Waker>,
}

impl Outbox for Mailbox {
    fn send(&self, msg: OutMsg) {
        match &msg {
            OutMsg::Data(d) => {
                self.pending.fetch_add(d.len(), Ordering::Relaxed);
            }
            OutMsg::Close => self.killed.store(true, Ordering::Release),
            OutMsg::Unblocked => {}
        }
        let waker = {
            let mut inner = self.inner.lock();
            inner.msgs.push_back(msg);
            self.has_mail.store(true, Ordering::Release);
            inner.waker.clone()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn pending_bytes(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }
}

/// The receiving side, owned by the connection task.
pub(crate) struct MailboxRx {
    mailbox: std::sync::Arc<Mailbox>,
    /// The waker last registered, to re-register only if the task's waker changes.
    registered: Option<Waker>,
}

impl MailboxRx {
    pub(crate) fn new(mailbox: std::sync::Arc<Mailbox>) -> Self {
        MailboxRx {
            mailbox,
            registered: None,
        }
    }

    /// Makes sure the next message wakes the task polling with `cx`.
    fn register(&mut self, cx: &Context<'_>) {
        if !self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            // Registered under the lock a sender takes before reading it, and before the flags
            // are read: a message is either seen by the caller or wakes this waker.
            self.mailbox.inner.lock().waker = Some(cx.waker().clone());
            self.registered = Some(cx.waker().clone());
        }
    }

    /// Ready when messages are waiting; otherwise the task is woken when one arrives.
    pub(crate) fn poll_mail(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.register(cx);
        if self.mailbox.has_mail.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Whether the connection was told to close; otherwise the task is woken when a message
    /// (maybe that one) arrives.
    pub(crate) fn poll_killed(&mut self, cx: &mut Context<'_>) -> bool {
        self.register(cx);
        self.mailbox.killed.load(Ordering::Acquire)
    }

    /// Moves the count of unsent reply bytes in the output buffer from `*counted` to `now`.
    pub(crate) fn recount_unsent(&self, counted: &mut usize, now: usize) {
        if now > *counted {
            self.mailbox
                .pending
                .fetch_add(now - *counted, Ordering::Relaxed);
        } else if now < *counted {
            self.mailbox
                .pending
                .fetch_sub(*counted - now, Ordering::Relaxed);
        }
        *counted = now;
    }

    /// Takes every waiting message, in the order they were sent.
    pub(crate) fn take(&mut self) -> VecDeque<OutMsg> {
        let msgs = {
            let mut inner = self.mailbox.inner.lock();
            self.mailbox.has_mail.store(false, Ordering::Relaxed);
            std::mem::take(&mut inner.msgs)
        };
        let bytes: usize = msgs
            .iter()
            .map(|m| match m {
                OutMsg::Data(d) => d.len(),
                _ => 0,
            })
            .sum();
        self.mailbox.pending.fetch_sub(bytes, Ordering::Relaxed);
        msgs
    }
}
