//! [`ScriptControl`]: what other connections may know about the running script, without the
//! keyspace lock: whether it is past `lua-time-limit` (then they get BUSY), and SCRIPT KILL.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The reply every command but SCRIPT KILL / SHUTDOWN NOSAVE gets while a script is busy.
pub const BUSY_ERROR: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// The same while a function (FCALL) is busy.
pub const BUSY_FUNCTION_ERROR: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// Shared between the script runner and every connection.
///
/// Dispatcher contract: before waiting for the keyspace, a connection asks [`busy`]; when true
/// it replies [`BUSY_ERROR`], except to SCRIPT KILL (answered by [`kill`]) and SHUTDOWN NOSAVE
/// (which stops the script with [`kill_for_shutdown`], then runs once the keyspace is free). A connection already waiting should wait in slices (e.g. `try_lock_for`)
/// and ask again, so it too answers BUSY once the limit passes. SCRIPT KILL calls [`kill`]
/// without taking the keyspace.
///
/// [`busy`]: ScriptControl::busy
/// [`kill`]: ScriptControl::kill
/// [`kill_for_shutdown`]: ScriptControl::kill_for_shutdown
#[derive(Debug)]
pub struct ScriptControl {
    epoch: Instant,
    running: AtomicBool,
    /// Milliseconds after `epoch` at which the running script started.
    started_ms: AtomicU64,
    time_limit_ms: AtomicU64,
    kill_requested: AtomicBool,
    wrote: AtomicBool,
    /// The running script is a function (FCALL), not EVAL: it is killed with FUNCTION KILL.
    function: AtomicBool,
    /// While a library loads (FUNCTION LOAD): milliseconds after `epoch` past which the load
    /// is aborted (0: no load running).
    load_deadline_ms: AtomicU64,
    /// What FUNCTION STATS shows of the running function (the registry itself is behind the
    /// server the function holds).
    running_function: Mutex<Option<RunningFunction>>,
}

/// The running FCALL, for FUNCTION STATS from other connections.
#[derive(Debug, Clone, Default)]
pub struct RunningFunction {
    pub name: String,
    pub command: Vec<Vec<u8>>,
    pub libraries: usize,
    pub functions: usize,
}

/// Why SCRIPT KILL did not kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KillError {
    #[error("NOTBUSY No scripts in execution right now.")]
    NotBusy,
    #[error(
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
    )]
    Unkillable,
}

impl Default for ScriptControl {
    fn default() -> Self {
        Self::new(5000)
    }
}

impl ScriptControl {
    /// A control with `lua-time-limit` in milliseconds (Redis's default is 5000).
    pub fn new(time_limit_ms: u64) -> Self {
        ScriptControl {
            epoch: Instant::now(),
            running: AtomicBool::new(false),
            started_ms: AtomicU64::new(0),
            time_limit_ms: AtomicU64::new(time_limit_ms),
            kill_requested: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            function: AtomicBool::new(false),
            load_deadline_ms: AtomicU64::new(0),
            running_function: Mutex::new(None),
        }
    }

    /// CONFIG SET lua-time-limit / busy-reply-threshold.
    pub fn set_time_limit_ms(&self, ms: u64) {
        self.time_limit_ms.store(ms, Ordering::Relaxed);
    }

    pub fn time_limit_ms(&self) -> u64 {
        self.time_limit_ms.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether a script is running.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Whether a script has been running longer than the time limit: others get BUSY.
    pub fn busy(&self) -> bool {
        self.running()
            && self
                .now_ms()
                .saturating_sub(self.started_ms.load(Ordering::Acquire))
                >= self.time_limit_ms()
    }

    /// SCRIPT KILL: asks the running script to stop at its next check.
    pub fn kill(&self) -> Result<(), KillError> {
        if !self.running() {
            return Err(KillError::NotBusy);
        }
        if self.wrote.load(Ordering::Acquire) {
            return Err(KillError::Unkillable);
        }
        self.kill_requested.store(true, Ordering::Release);
        Ok(())
    }

    /// SCRIPT KILL (`is_eval`) or FUNCTION KILL: each kills only its own kind, and answers the
    /// other with the BUSY error naming the right command, as Redis does.
    pub fn kill_kind(&self, is_eval: bool) -> Result<(), &'static str> {
        if self.running() && !self.wrote.load(Ordering::Acquire) {
            let function = self.function.load(Ordering::Acquire);
            if is_eval && function {
                return Err(BUSY_FUNCTION_ERROR);
            }
            if !is_eval && !function {
                return Err(BUSY_ERROR);
            }
        }
        self.kill().map_err(|e| match e {
            KillError::NotBusy => "NOTBUSY No scripts in execution right now.",
            KillError::Unkillable => "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        })
    }

    /// The BUSY error for the kind of script running.
    pub fn busy_error(&self) -> &'static str {
        if self.function.load(Ordering::Acquire) {
            BUSY_FUNCTION_ERROR
        } else {
            BUSY_ERROR
        }
    }

    /// Whether the running FCALL function is the running script.
    pub fn running_function(&self) -> bool {
        self.running() && self.function.load(Ordering::Acquire)
    }

    /// How long the running script has run, in milliseconds.
    pub fn running_ms(&self) -> u64 {
        self.now_ms()
            .saturating_sub(self.started_ms.load(Ordering::Acquire))
    }

    /// FUNCTION LOAD starts running library code that must finish within `timeout_ms`.
    pub(crate) fn start_load(&self, timeout_ms: u64) {
        self.load_deadline_ms
            .store(self.now_ms() + timeout_ms.max(1), Ordering::Release);
    }

    pub(crate) fn finish_load(&self) {
        self.load_deadline_ms.store(0, Ordering::Release);
    }

    /// Whether the loading library code has run past its time (checked by the VM hook).
    pub(crate) fn load_timed_out(&self) -> bool {
        let deadline = self.load_deadline_ms.load(Ordering::Acquire);
        deadline != 0 && self.now_ms() > deadline
    }

    /// SHUTDOWN NOSAVE during a busy script: stop it even if it wrote (the data is not saved).
    pub fn kill_for_shutdown(&self) {
        if self.running() {
            self.kill_requested.store(true, Ordering::Release);
        }
    }

    pub(crate) fn kill_requested(&self) -> bool {
        self.kill_requested.load(Ordering::Acquire)
    }

    pub(crate) fn mark_written(&self) {
        self.wrote.store(true, Ordering::Release);
    }

    /// The next run is this function (FCALL).
    pub(crate) fn set_function(&self, info: RunningFunction) {
        *self
            .running_function
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(info);
        self.function.store(true, Ordering::Release);
    }

    /// The running function, if a function is running.
    pub fn running_function_info(&self) -> Option<RunningFunction> {
        if !self.running_function() {
            return None;
        }
        self.running_function
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn start(&self) {
        self.kill_requested.store(false, Ordering::Release);
        self.wrote.store(false, Ordering::Release);
        self.started_ms.store(self.now_ms(), Ordering::Release);
        self.running.store(true, Ordering::Release);
    }

    pub(crate) fn finish(&self) {
        self.running.store(false, Ordering::Release);
        self.function.store(false, Ordering::Release);
        self.kill_requested.store(false, Ordering::Release);
    }
}
