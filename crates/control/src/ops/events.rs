//! DescribeEvents: the event log, filtered by source and time.

use crate::fault::{Fault, Result};
use crate::model::*;
use crate::plane::ControlPlane;
use crate::rules;
use time::OffsetDateTime;

pub const SOURCE_TYPES: &[&str] = &[
    "cache-cluster",
    "cache-parameter-group",
    "cache-security-group",
    "cache-subnet-group",
    "replication-group",
];

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub source_identifier: Option<String>,
    pub source_type: Option<String>,
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
    /// Minutes before now (or before EndTime).
    pub duration: Option<i32>,
    pub marker: Option<String>,
    pub max_records: Option<i32>,
}

impl ControlPlane {
    /// Events in time order. Without a time filter, the last hour; Duration is in minutes.
    pub fn describe_events(&self, f: &EventFilter) -> Result<(Vec<Event>, Option<String>)> {
        if let Some(t) = &f.source_type {
            if !SOURCE_TYPES.contains(&t.as_str()) {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid SourceType: {t}. Valid values are {}.",
                    SOURCE_TYPES.join(", ")
                )));
            }
        }
        if let Some(d) = f.duration {
            if !(0..=14 * 24 * 60).contains(&d) {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid Duration: {d}. It must be between 0 and 20160 minutes (14 days)."
                )));
            }
        }
        let now = self.settings.clock.now();
        let (start, end) = match (f.start_time, f.end_time, f.duration) {
            (Some(_), Some(_), Some(_)) => {
                return Err(Fault::invalid_parameter_combination(
                    "Give at most two of StartTime, EndTime and Duration.",
                ))
            }
            (Some(s), Some(e), None) => (s, e),
            (Some(s), None, Some(d)) => (s, s + time::Duration::minutes(d.into())),
            (Some(s), None, None) => (s, now),
            (None, Some(e), d) => (e - time::Duration::minutes(d.unwrap_or(60).into()), e),
            (None, None, d) => (now - time::Duration::minutes(d.unwrap_or(60).into()), now),
        };
        if start > end {
            return Err(Fault::invalid_parameter_value(
                "StartTime must not be after EndTime.",
            ));
        }
        let (start, end) = (
            Timestamp::from_datetime(start),
            Timestamp::from_datetime(end),
        );
        let id = f.source_identifier.as_deref().map(str::to_ascii_lowercase);
        self.read(|state, _| {
            let events: Vec<Event> = state
                .events
                .values()
                .filter(|e| e.date >= start && e.date <= end)
                .filter(|e| f.source_type.as_deref().is_none_or(|t| e.source_type == t))
                .filter(|e| id.as_deref().is_none_or(|i| e.source_identifier == i))
                .cloned()
                .collect();
            rules::page(
                events,
                |e| format!("{:020}", e.seq),
                f.marker.as_deref(),
                f.max_records,
            )
        })
    }
}
