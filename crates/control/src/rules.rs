//! The guide's rules that do not belong to one resource: identifiers, maintenance windows,
//! tags, ARNs and pagination. Pure functions, unit-tested here.

use crate::fault::{Fault, Result};
use crate::model::Tag;
use rand::Rng;
use time::{OffsetDateTime, Weekday};

/// Cache cluster id: 1–20 letters, digits or hyphens; a letter first; no trailing hyphen and no
/// `--` (behaviour.md §2.1). Returns the id lower-cased, as ElastiCache stores it.
pub fn cluster_id(id: &str) -> Result<String> {
    identifier("CacheClusterId", id, 20)
}

/// Replication group id: the same rules, 1–16 characters.
pub fn replication_group_id(id: &str) -> Result<String> {
    identifier("ReplicationGroupId", id, 16)
}

fn identifier(what: &str, id: &str, max: usize) -> Result<String> {
    let bad = |why: &str| Fault::invalid_parameter_value(format!("Invalid {what}: {id}. {why}"));
    if id.is_empty() || id.len() > max {
        return Err(bad(&format!(
            "It must contain from 1 to {max} alphanumeric characters or hyphens."
        )));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(bad(
            "Identifiers must contain only ASCII letters, digits, and hyphens.",
        ));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(bad("Identifiers must begin with a letter."));
    }
    if id.ends_with('-') || id.contains("--") {
        return Err(bad(
            "Identifiers cannot end with a hyphen or contain two consecutive hyphens.",
        ));
    }
    Ok(id.to_ascii_lowercase())
}

/// Parameter group and subnet group names: 1–255 characters, letters, digits, hyphens and dots
/// (`default.redis2.8`), a letter first, no trailing hyphen, no `--`. Stored lower-case.
pub fn group_name(what: &str, name: &str) -> Result<String> {
    let bad = |why: &str| Fault::invalid_parameter_value(format!("Invalid {what}: {name}. {why}"));
    if name.is_empty() || name.len() > 255 {
        return Err(bad(
            "It must contain from 1 to 255 alphanumeric characters or hyphens.",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(bad(
            "It must contain only ASCII letters, digits, periods, and hyphens.",
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(bad("It must begin with a letter."));
    }
    if name.ends_with('-') || name.contains("--") {
        return Err(bad(
            "It cannot end with a hyphen or contain two consecutive hyphens.",
        ));
    }
    Ok(name.to_ascii_lowercase())
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const WEEK_MINUTES: u32 = 7 * 24 * 60;

/// A weekly maintenance window, as minutes since Sunday 00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u32,
    pub minutes: u32,
}

impl Window {
    /// Parses `ddd:hh24:mi-ddd:hh24:mi` (days in any case); the window must last 60 minutes to
    /// 24 hours.
    pub fn parse(s: &str) -> Result<Window> {
        let bad = || {
            Fault::invalid_parameter_value(format!(
                "Invalid maintenance window: {s}. It must be in the format ddd:hh24:mi-ddd:hh24:mi, for example sun:05:00-sun:06:00, and last at least 60 minutes and at most 24 hours."
            ))
        };
        let (from, to) = s.split_once('-').ok_or_else(bad)?;
        let point = |p: &str| -> Option<u32> {
            let mut parts = p.split(':');
            let (day, hh, mm) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || hh.len() != 2 || mm.len() != 2 {
                return None;
            }
            let day = DAYS.iter().position(|d| d.eq_ignore_ascii_case(day))? as u32;
            let (hh, mm): (u32, u32) = (hh.parse().ok()?, mm.parse().ok()?);
            (hh < 24 && mm < 60).then_some(day * 1440 + hh * 60 + mm)
        };
        let (start, end) = (point(from).ok_or_else(bad)?, point(to).ok_or_else(bad)?);
        let minutes = (end + WEEK_MINUTES - start) % WEEK_MINUTES;
        if !(60..=1440).contains(&minutes) {
            return Err(bad());
        }
        Ok(Window { start, minutes })
    }

    /// The canonical lower-case form.
    pub fn format(&self) -> String {
        let point = |m: u32| {
            let m = m % WEEK_MINUTES;
            format!(
                "{}:{:02}:{:02}",
                DAYS[(m / 1440) as usize],
                (m % 1440) / 60,
                m % 60
            )
        };
        format!("{}-{}", point(self.start), point(self.start + self.minutes))
    }

    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        let day = u32::from(at.weekday().number_days_from_sunday());
        let now = day * 1440 + u32::from(at.hour()) * 60 + u32::from(at.minute());
        (now + WEEK_MINUTES - self.start) % WEEK_MINUTES < self.minutes
    }

    /// A 60-minute window on a random day, starting at a random hour of the region's 8-hour
    /// block (behaviour.md §4.8).
    pub fn assign(region: &str, rng: &mut impl Rng) -> Window {
        let block_start = match region {
            "ap-northeast-1" => 13,
            "ap-southeast-1" | "cn-north-1" => 14,
            "ap-southeast-2" => 12,
            "eu-central-1" => 23,
            "eu-west-1" => 22,
            "sa-east-1" => 1,
            "us-east-1" => 3,
            _ => 6,
        };
        let day = rng.gen_range(0..7u32);
        let hour = (block_start + rng.gen_range(0..8u32)) % 24;
        Window {
            start: day * 1440 + hour * 60,
            minutes: 60,
        }
    }
}

pub fn weekday_name(d: Weekday) -> &'static str {
    DAYS[d.number_days_from_sunday() as usize]
}

/// At most 10 tags per resource (behaviour.md §2.5).
pub const MAX_TAGS: usize = 10;

/// Checks one tag: key 1–128 and value up to 256 characters, neither starting with `aws:`, made
/// of letters, digits, white space and `_ . : / = + - @`.
pub fn tag(t: &Tag) -> Result<()> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    let klen = t.key.chars().count();
    if klen == 0 || klen > 128 {
        return Err(Fault::invalid_parameter_value(format!(
            "Invalid tag key: {:?}. Tag keys must be 1 to 128 characters long.",
            t.key
        )));
    }
    if t.value.chars().count() > 256 {
        return Err(Fault::invalid_parameter_value(format!(
            "Invalid tag value for key {:?}. Tag values must be at most 256 characters long.",
            t.key
        )));
    }
    for (what, s) in [("key", &t.key), ("value", &t.value)] {
        if s.starts_with("aws:") {
            return Err(Fault::invalid_parameter_value(format!(
                "Invalid tag {what}: {s:?}. Tags cannot start with the reserved prefix aws:."
            )));
        }
        if !s.chars().all(allowed) {
            return Err(Fault::invalid_parameter_value(format!(
                "Invalid tag {what}: {s:?}. Allowed characters are letters, digits, white space and _ . : / = + - @."
            )));
        }
    }
    Ok(())
}

/// A parsed ElastiCache ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub resource_type: String,
    pub name: String,
}

/// `arn:aws:elasticache:<region>:<account>:<type>:<name>`, for this region and account.
pub fn arn(s: &str, region: &str, account: &str) -> Result<Arn> {
    let bad = || Fault::invalid_arn(format!("{s} is not a valid ARN."));
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    if parts.len() != 7 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "elasticache" {
        return Err(bad());
    }
    if parts[3] != region || parts[4] != account || parts[5].is_empty() || parts[6].is_empty() {
        return Err(bad());
    }
    Ok(Arn {
        resource_type: parts[5].to_string(),
        name: parts[6].to_string(),
    })
}

pub fn make_arn(region: &str, account: &str, resource_type: &str, name: &str) -> String {
    format!("arn:aws:elasticache:{region}:{account}:{resource_type}:{name}")
}

/// One page of a Describe result, by the API's shared pagination rules (MaxRecords 20–100,
/// default 100; the Marker names the first item of the next page and is present only when more
/// remain). `key` orders the items and must be unique.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_records: Option<i32>,
) -> Result<(Vec<T>, Option<String>)> {
    let page = api::Page::from_request(marker, max_records, api::Page::DEFAULT_LIMITS)?;
    Ok(page.take(items, key))
}

/// A Describe over a map of named resources: the one named (case-insensitively, or the
/// `not_found` fault), or a page of all of them in name order.
pub fn page_of_named<T: Clone>(
    items: &std::collections::BTreeMap<String, T>,
    name: Option<&str>,
    not_found: impl Fn(&str) -> Fault,
    marker: Option<&str>,
    max_records: Option<i32>,
) -> Result<(Vec<T>, Option<String>)> {
    let selected: Vec<(&String, &T)> = match name {
        Some(n) => vec![items
            .get_key_value(&n.to_ascii_lowercase())
            .ok_or_else(|| not_found(n))?],
        None => items.iter().collect(),
    };
    let (page, marker) = page(selected, |(k, _)| k.to_string(), marker, max_records)?;
    Ok((page.into_iter().map(|(_, v)| v.clone()).collect(), marker))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cluster_ids_follow_the_guide() {
        assert_eq!(cluster_id("My-Cluster1").unwrap(), "my-cluster1");
        assert_eq!(cluster_id("a").unwrap(), "a");
        assert!(cluster_id("abcdefghijklmnopqrst").is_ok());
        for bad in [
            "",
            "abcdefghijklmnopqrstu",
            "1abc",
            "-abc",
            "abc-",
            "a--b",
            "a_b",
            "a.b",
            "é",
        ] {
            let f = cluster_id(bad).unwrap_err();
            assert_eq!(f.code, "InvalidParameterValue", "{bad}");
        }
        assert!(replication_group_id("abcdefghijklmnop").is_ok());
        assert!(replication_group_id("abcdefghijklmnopq").is_err());
    }

    #[test]
    fn group_names_allow_dots_and_lowercase() {
        assert_eq!(
            group_name("CacheParameterGroupName", "myCacheParameterGroup").unwrap(),
            "mycacheparametergroup"
        );
        assert!(group_name("x", "default.redis2.8").is_ok());
        assert!(group_name("x", "a b").is_err());
        assert!(group_name("x", "").is_err());
    }

    #[test]
    fn windows_parse_format_and_contain() {
        let w = Window::parse("Tue:04:00-Tue:05:00").unwrap();
        assert_eq!(w.format(), "tue:04:00-tue:05:00");
        assert!(w.contains(datetime!(2026-11-24 04:30 UTC))); // a Tuesday
        assert!(!w.contains(datetime!(2026-11-24 05:00 UTC)));
        assert!(!w.contains(datetime!(2026-11-25 04:30 UTC)));
        // Wraps around the week.
        let w = Window::parse("sat:23:30-sun:00:30").unwrap();
        assert_eq!(w.minutes, 60);
        assert!(w.contains(datetime!(2026-11-29 00:10 UTC))); // Sunday
        assert!(Window::parse("sun:00:00-mon:00:00").is_ok());
        for bad in [
            "tue:04:00-tue:04:30",
            "sun:00:00-mon:00:01",
            "tue:4:00-tue:05:00",
            "xyz:04:00-tue:05:00",
            "tue:24:00-wed:01:00",
            "tue:04:00",
        ] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn assigned_windows_are_an_hour_inside_the_regions_block() {
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let w = Window::assign("us-east-1", &mut rng);
            assert_eq!(w.minutes, 60);
            let hour = (w.start % 1440) / 60;
            assert!((3..11).contains(&hour), "{hour}");
            assert_eq!(Window::parse(&w.format()).unwrap(), w);
        }
    }

    #[test]
    fn tags_are_checked() {
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(tag(&t("team", "cache-1 @home")).is_ok());
        assert!(tag(&t("", "v")).is_err());
        assert!(tag(&t("aws:x", "v")).is_err());
        assert!(tag(&t("k", "aws:v")).is_err());
        assert!(tag(&t("k#", "v")).is_err());
        assert!(tag(&t(&"k".repeat(129), "v")).is_err());
        assert!(tag(&t("k", &"v".repeat(257))).is_err());
    }

    #[test]
    fn arns_name_this_region_and_account() {
        let a = arn(
            "arn:aws:elasticache:us-east-1:123456789012:cluster:web",
            "us-east-1",
            "123456789012",
        )
        .unwrap();
        assert_eq!(
            a,
            Arn {
                resource_type: "cluster".into(),
                name: "web".into()
            }
        );
        for bad in [
            "web",
            "arn:aws:elasticache:us-west-2:123456789012:cluster:web",
            "arn:aws:s3:us-east-1:123456789012:cluster:web",
            "arn:aws:elasticache:us-east-1:123456789012:cluster:",
        ] {
            assert_eq!(
                arn(bad, "us-east-1", "123456789012").unwrap_err().code,
                "InvalidARN"
            );
        }
    }

    #[test]
    fn pages_follow_markers_to_the_end() {
        let items: Vec<u32> = (0..205).collect();
        let key = |i: &u32| format!("{i:05}");
        let (p1, m1) = page(items.clone(), key, None, None).unwrap();
        assert_eq!(p1.len(), 100);
        let (p2, m2) = page(items.clone(), key, m1.as_deref(), None).unwrap();
        assert_eq!(p2[0], 100);
        let (p3, m3) = page(items.clone(), key, m2.as_deref(), None).unwrap();
        assert_eq!((p3.len(), m3), (5, None));
        assert_eq!(
            page(items.clone(), key, None, Some(19)).unwrap_err().code,
            "InvalidParameterValue"
        );
        assert!(page(items.clone(), key, None, Some(101)).is_err());
        assert!(page(items, key, Some("x"), None).is_err());
        assert_eq!(
            page(Vec::<u32>::new(), key, None, Some(20)).unwrap(),
            (vec![], None)
        );
    }
}
