//! Server time as memcached keeps it: seconds since `process_started`, which is set two
//! seconds in the past so that relative time 1 ("already expired") is always in the past.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use memcache_proto::REALTIME_MAXDELTA;

/// Relative server time in seconds (memcached's `rel_time_t`).
pub type RelTime = u32;

#[derive(Debug)]
pub struct Clock {
    started: Instant,
    /// Unix time that relative time 0 stands for.
    process_started: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    pub fn new() -> Clock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Clock {
            started: Instant::now(),
            process_started: unix - 2,
        }
    }

    /// Current relative time.
    pub fn now(&self) -> RelTime {
        self.started.elapsed().as_secs() as RelTime + 2
    }

    /// Unix time of a relative time.
    pub fn unix(&self, rel: RelTime) -> i64 {
        self.process_started + i64::from(rel)
    }

    pub fn process_started(&self) -> i64 {
        self.process_started
    }

    /// Converts a client exptime to relative time (memcached's `realtime()`): 0 = never;
    /// negative = already expired; up to 30 days = seconds from now; more = unix time.
    pub fn realtime(&self, exptime: i64) -> RelTime {
        if exptime == 0 {
            return 0;
        }
        if exptime < 0 {
            return 1;
        }
        if exptime > REALTIME_MAXDELTA {
            if exptime <= self.process_started {
                return 1;
            }
            return (exptime - self.process_started).min(i64::from(u32::MAX)) as RelTime;
        }
        (i64::from(self.now()) + exptime).min(i64::from(u32::MAX)) as RelTime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_day_rule() {
        let c = Clock::new();
        let now = c.now();
        assert_eq!(c.realtime(0), 0);
        assert_eq!(c.realtime(-5), 1);
        assert_eq!(c.realtime(100), now + 100);
        assert_eq!(
            c.realtime(REALTIME_MAXDELTA),
            now + REALTIME_MAXDELTA as u32
        );
        // Over 30 days: absolute; a past absolute time is already expired.
        assert_eq!(c.realtime(REALTIME_MAXDELTA + 1), 1);
        let in_an_hour = c.unix(now) + 3600;
        assert_eq!(c.realtime(in_an_hour), now + 3600);
    }
}
