//! `Marker`/`MaxRecords` pagination for the Describe operations, shared so every one of them
//! validates and pages the same way (api-contract.md §2.3): `MaxRecords` defaults to 100 and must
//! lie in 20–100 (20–50 for DescribeSnapshots); `Marker` is opaque to clients and is present in a
//! response only when more items remain, so the CLI's auto-pagination terminates.
//!
//! The marker names the sort key of the first item of the next page, hex-encoded, rather than an
//! offset: items created or deleted between two calls do not shift the page boundary.

use crate::Fault;

/// The `MaxRecords` rules of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// Used when `MaxRecords` is absent.
    pub default: i32,
    /// Smallest accepted `MaxRecords`.
    pub min: i32,
    /// Largest accepted `MaxRecords`.
    pub max: i32,
}

/// One validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    start_key: Option<String>,
    size: usize,
}

impl Page {
    /// Every paginated seed operation except DescribeSnapshots: default 100, 20–100.
    pub const DEFAULT_LIMITS: PageLimits = PageLimits {
        default: 100,
        min: 20,
        max: 100,
    };
    /// DescribeSnapshots: default 50, 20–50.
    pub const SNAPSHOT_LIMITS: PageLimits = PageLimits {
        default: 50,
        min: 20,
        max: 50,
    };

    /// Validates a request's `Marker` and `MaxRecords`; a bad value is `InvalidParameterValue`.
    pub fn from_request(
        marker: Option<&str>,
        max_records: Option<i32>,
        limits: PageLimits,
    ) -> Result<Page, Fault> {
        let size = max_records.unwrap_or(limits.default);
        if size < limits.min || size > limits.max {
            return Err(Fault::invalid_parameter_value(format!(
                "Invalid value for MaxRecords: {size}. The value must be between {} and {}.",
                limits.min, limits.max
            )));
        }
        let start_key =
            match marker {
                None | Some("") => None,
                Some(m) => Some(decode_marker(m).ok_or_else(|| {
                    Fault::invalid_parameter_value(format!("Invalid marker: {m}"))
                })?),
            };
        Ok(Page {
            start_key,
            size: size as usize,
        })
    }

    /// The page of `items` (sorted here by `key`, which must be unique) and the marker of the next
    /// page, `None` on the last one.
    pub fn take<T>(
        &self,
        mut items: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let mut keyed: Vec<(String, T)> = items.drain(..).map(|item| (key(&item), item)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let mut rest = keyed
            .into_iter()
            .skip_while(|(k, _)| self.start_key.as_ref().is_some_and(|start| k < start));
        let page: Vec<T> = rest
            .by_ref()
            .take(self.size)
            .map(|(_, item)| item)
            .collect();
        let marker = rest.next().map(|(k, _)| hex::encode(k));
        (page, marker)
    }
}

fn decode_marker(m: &str) -> Option<String> {
    String::from_utf8(hex::decode(m).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FaultCode;

    #[test]
    fn max_records_bounds() {
        assert!(Page::from_request(None, Some(20), Page::DEFAULT_LIMITS).is_ok());
        assert!(Page::from_request(None, Some(100), Page::DEFAULT_LIMITS).is_ok());
        for bad in [19, 101, 0, -1] {
            let e = Page::from_request(None, Some(bad), Page::DEFAULT_LIMITS).unwrap_err();
            assert_eq!(e.code, FaultCode::InvalidParameterValueException);
        }
        assert!(Page::from_request(None, Some(51), Page::SNAPSHOT_LIMITS).is_err());
        assert_eq!(
            Page::from_request(Some("zz"), None, Page::DEFAULT_LIMITS)
                .unwrap_err()
                .code,
            FaultCode::InvalidParameterValueException
        );
    }

    #[test]
    fn pages_cover_everything_once_and_end_without_marker() {
        let items: Vec<String> = (0..245).map(|i| format!("c-{i:04}")).rev().collect();
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        let mut pages = 0;
        loop {
            let page =
                Page::from_request(marker.as_deref(), Some(100), Page::DEFAULT_LIMITS).unwrap();
            let (got, next) = page.take(items.clone(), |s| s.clone());
            pages += 1;
            seen.extend(got);
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
            assert!(pages < 10);
        }
        assert_eq!(pages, 3);
        let mut expected = items.clone();
        expected.sort();
        assert_eq!(seen, expected);
        // Exactly a page's worth: no marker.
        let page = Page::from_request(None, Some(20), Page::DEFAULT_LIMITS).unwrap();
        assert_eq!(page.take(items[..20].to_vec(), |s| s.clone()).1, None);
    }
}
