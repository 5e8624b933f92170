//! The clock every rule and the reconciler read, injectable so tests can move time (maintenance
//! windows, event durations, automatic snapshots and their retention).
//!
//! - [`SystemClock`]: the wall clock, what `serve` uses.
//! - [`ManualClock`]: unit tests, moved by code.
//! - [`FileClock`]: end-to-end tests of the real `serve` process, moved from outside through a
//!   file (`serve --clock-file PATH`, never on by default). The file holds an RFC 3339 instant;
//!   the clock reads that instant when the file changes and runs on from it at wall-clock pace.
//!   Writing a new instant moves the clock there (forwards or back).

use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock, in UTC.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock() = at;
    }

    pub fn advance(&self, by: time::Duration) {
        *self.0.lock() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock()
    }
}

/// A running clock set from outside the process through a file (test only: `serve
/// --clock-file`). See the module header.
#[derive(Debug)]
pub struct FileClock {
    path: PathBuf,
    /// The file's last text, the instant it named and when (monotonic) that was read.
    set: Mutex<(String, OffsetDateTime, Instant)>,
}

impl FileClock {
    /// Opens the clock file, which must already name an instant: a test that asks for a moved
    /// clock and gets the wall clock would test nothing.
    pub fn open(path: PathBuf) -> anyhow::Result<FileClock> {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("reading the clock file {}: {e}", path.display()))?;
        let at = parse_instant(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "the clock file {} must hold an RFC 3339 instant such as 2026-11-24T13:05:00Z, not {:?}",
                path.display(),
                text.trim()
            )
        })?;
        Ok(FileClock {
            path,
            set: Mutex::new((text, at, Instant::now())),
        })
    }
}

fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

impl Clock for FileClock {
    fn now(&self) -> OffsetDateTime {
        let mut set = self.set.lock();
        // A file being rewritten may be read half-written or missing: keep running from the
        // last good instant until it names a new one.
        if let Ok(text) = std::fs::read_to_string(&self.path) {
            if text != set.0 {
                if let Some(at) = parse_instant(&text) {
                    tracing::info!(clock = %at, "the clock file moved the clock");
                    *set = (text, at, Instant::now());
                }
            }
        }
        set.1 + set.2.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_file_clock_runs_from_the_instant_in_its_file_and_moves_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        assert!(FileClock::open(path.clone()).is_err(), "no file");
        std::fs::write(&path, "tomorrow").unwrap();
        assert!(FileClock::open(path.clone()).is_err(), "not an instant");

        std::fs::write(&path, "2026-11-24T13:05:00Z\n").unwrap();
        let clock = FileClock::open(path.clone()).unwrap();
        let a = clock.now();
        assert!(a >= datetime!(2026-11-24 13:05 UTC));
        assert!(a < datetime!(2026-11-24 13:06 UTC));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now() > a, "it runs");

        std::fs::write(&path, "2026-11-27T13:05:00+02:00").unwrap();
        let b = clock.now();
        assert!(b >= datetime!(2026-11-27 11:05 UTC) && b < datetime!(2026-11-27 11:06 UTC));
        assert_eq!(b.offset(), time::UtcOffset::UTC);

        // Garbage or a missing file: the clock keeps running from the last instant.
        std::fs::write(&path, "garbage").unwrap();
        assert!(clock.now() >= b);
        std::fs::remove_file(&path).unwrap();
        assert!(clock.now() >= b && clock.now() < datetime!(2026-11-27 11:06 UTC));
    }
}
