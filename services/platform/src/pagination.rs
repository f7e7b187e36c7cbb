//! Page-number pagination with a bounded page size, shared by every list endpoint.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::FieldErrors;

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;
/// Deep pages cost the database a scan of everything before them; past this a client should
/// narrow its filters.
pub const MAX_PAGE: u64 = 10_000;

/// The raw `page` and `limit` query parameters, kept as text so that a bad value is reported
/// against its parameter name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1 (default 1).
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub page: u64,
    pub limit: u64,
}

impl PageRequest {
    pub fn offset(self) -> u64 {
        (self.page - 1) * self.limit
    }
}

impl PageParams {
    /// Validates both parameters, recording problems in `errors`.
    pub fn validate(&self, errors: &mut FieldErrors) -> PageRequest {
        let page = parse_bounded(self.page.as_deref(), 1, 1, MAX_PAGE, "page", errors);
        let limit = parse_bounded(
            self.limit.as_deref(),
            DEFAULT_LIMIT,
            1,
            MAX_LIMIT,
            "limit",
            errors,
        );
        PageRequest { page, limit }
    }
}

fn parse_bounded(
    raw: Option<&str>,
    default: u64,
    min: u64,
    max: u64,
    name: &str,
    errors: &mut FieldErrors,
) -> u64 {
    let Some(raw) = raw else { return default };
    match raw.parse::<u64>() {
        Ok(value) if (min..=max).contains(&value) => value,
        _ => {
            errors.add(name, format!("must be a whole number from {min} to {max}"));
            default
        }
    }
}

/// One page of a list, with what the client needs to fetch the next.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub limit: u64,
    /// Number of items matching the query across all pages.
    pub total: u64,
    /// The next page number, null on the last page.
    pub next_page: Option<u64>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: u64) -> Self {
        let next_page = (request.page * request.limit < total).then_some(request.page + 1);
        Self {
            items,
            page: request.page,
            limit: request.limit,
            total,
            next_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let mut errors = FieldErrors::new();
        let req = PageParams::default().validate(&mut errors);
        assert_eq!(
            req,
            PageRequest {
                page: 1,
                limit: DEFAULT_LIMIT
            }
        );
        assert!(errors.is_empty());

        for (page, limit) in [
            ("0", "10"),
            ("1", "0"),
            ("1", "101"),
            ("x", "1"),
            ("1", "-1"),
            ("1", "99999999999999999999999"),
        ] {
            let mut errors = FieldErrors::new();
            PageParams {
                page: Some(page.into()),
                limit: Some(limit.into()),
            }
            .validate(&mut errors);
            assert!(
                !errors.is_empty(),
                "page={page} limit={limit} should be refused"
            );
        }
    }

    #[test]
    fn next_page_only_when_more_remain() {
        let req = PageRequest { page: 2, limit: 10 };
        assert_eq!(Page::new(vec![0; 10], req, 30).next_page, Some(3));
        assert_eq!(Page::new(vec![0; 10], req, 20).next_page, None);
        assert_eq!(req.offset(), 10);
    }
}
