//! Zendesk's two list paginations: offset (`page`, `per_page`, `next_page`) and cursor
//! (`page[size]`, `page[after]`, `meta.has_more`, `links.next`).

use base64::Engine as _;
use serde_json::{json, Value};

use super::{Reply, Req};

/// Offset pagination stops at 100 pages of 100 (Zendesk answers 400 past that).
const OFFSET_RECORD_LIMIT: u64 = 10_000;

/// How a list is being paged through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Paging {
    /// `page` (from 1) of `per_page` items.
    Offset { page: u64, per_page: u64 },
    /// Up to `size` items after or before an id.
    Cursor {
        size: u64,
        after: Option<u64>,
        before: Option<u64>,
    },
}

/// Reads the paging parameters of a list request. Cursor pagination is used when any
/// `page[...]` parameter is present or `cursor_only` is set.
pub(crate) fn parse(req: &Req, max_size: u64, cursor_only: bool) -> Result<Paging, Reply> {
    let size = req.param("page[size]");
    let after = req.param("page[after]");
    let before = req.param("page[before]");
    if cursor_only || size.is_some() || after.is_some() || before.is_some() {
        let size = match size {
            None => 100.min(max_size),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (1..=max_size).contains(&n) => n,
                _ => {
                    return Err(invalid_page(format!(
                        "page[size] must be an integer between 1 and {max_size}"
                    )))
                }
            },
        };
        let decode = |c: Option<&str>, name: &str| match c {
            None | Some("") => Ok(None),
            Some(c) => decode_cursor(c)
                .map(Some)
                .ok_or_else(|| invalid_page(format!("{name} is not a valid cursor"))),
        };
        return Ok(Paging::Cursor {
            size,
            after: decode(after, "page[after]")?,
            before: decode(before, "page[before]")?,
        });
    }
    let number = |name: &str, default: u64| -> Result<u64, Reply> {
        match req.param(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid_page(format!("{name} must be a positive integer"))),
        }
    };
    let page = number("page", 1)?;
    let per_page = number("per_page", 100)?.min(100);
    if (page - 1) * per_page >= OFFSET_RECORD_LIMIT {
        return Err(invalid_page(
            "Offset pagination is limited to the first 10000 records; use cursor pagination"
                .to_string(),
        ));
    }
    Ok(Paging::Offset { page, per_page })
}

/// A 400 for pagination parameters out of range.
pub(super) fn invalid_page(description: String) -> Reply {
    Reply::error(
        400,
        json!({"error": "InvalidPaginationParameter", "description": description}),
    )
}

/// Opaque list cursor standing for an id.
pub(crate) fn encode_cursor(id: u64) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(format!("{{\"o\":\"id\",\"v\":{id}}}"))
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(cursor)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    v.get("v")?.as_u64()
}

/// An ascending set of ids to page through.
pub(crate) enum Ids<'a> {
    /// An explicit sorted list.
    Sorted(Vec<u64>),
    /// The ids `1..=max` that `keep` accepts (tickets, without materialising them).
    Range {
        max: u64,
        keep: Box<dyn Fn(u64) -> bool + 'a>,
    },
}

impl Ids<'_> {
    /// Ids greater than `id`, ascending.
    fn after(&self, id: u64) -> Box<dyn Iterator<Item = u64> + '_> {
        match self {
            Ids::Sorted(v) => Box::new(v[v.partition_point(|x| *x <= id)..].iter().copied()),
            Ids::Range { max, keep } => {
                Box::new((id.saturating_add(1)..=*max).filter(|i| keep(*i)))
            }
        }
    }

    /// Ids smaller than `id`, descending.
    fn before(&self, id: u64) -> Box<dyn Iterator<Item = u64> + '_> {
        match self {
            Ids::Sorted(v) => Box::new(v[..v.partition_point(|x| *x < id)].iter().rev().copied()),
            Ids::Range { max, keep } => Box::new((1..id.min(max + 1)).rev().filter(|i| keep(*i))),
        }
    }
}

/// One page of ids.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// The ids on the page, ascending.
    pub ids: Vec<u64>,
    /// Whether more items follow (cursor pagination).
    pub has_more: bool,
    /// Total number of items (offset pagination).
    pub total: u64,
}

/// Selects a page of `ids`.
pub(crate) fn select(ids: &Ids<'_>, paging: &Paging) -> Page {
    match *paging {
        Paging::Offset { page, per_page } => {
            let all = ids.after(0);
            let mut total = 0;
            let skip = (page - 1) * per_page;
            let mut out = Vec::new();
            for id in all {
                if total >= skip && total < skip + per_page {
                    out.push(id);
                }
                total += 1;
            }
            Page {
                ids: out,
                has_more: total > skip + per_page,
                total,
            }
        }
        Paging::Cursor {
            size,
            before: Some(b),
            ..
        } => {
            let mut it = ids.before(b);
            let mut out: Vec<u64> = it.by_ref().take(size as usize).collect();
            let has_more = it.next().is_some();
            out.reverse();
            Page {
                ids: out,
                has_more,
                total: 0,
            }
        }
        Paging::Cursor { size, after, .. } => {
            let mut it = ids.after(after.unwrap_or(0));
            let out: Vec<u64> = it.by_ref().take(size as usize).collect();
            Page {
                ids: out,
                has_more: it.next().is_some(),
                total: 0,
            }
        }
    }
}

/// The response envelope of a list: `{key: items, meta, links}` for cursor pagination,
/// `{key: items, next_page, previous_page, count}` for offset pagination.
pub(crate) fn envelope(
    req: &Req,
    key: &str,
    items: Vec<Value>,
    paging: &Paging,
    page: &Page,
) -> Value {
    match *paging {
        Paging::Offset { page: n, per_page } => {
            let link =
                |p: u64| req.link(&[("page", p.to_string()), ("per_page", per_page.to_string())]);
            json!({
                key: items,
                "next_page": page.has_more.then(|| link(n + 1)),
                "previous_page": (n > 1).then(|| link(n - 1)),
                "count": page.total,
            })
        }
        Paging::Cursor { size, .. } => {
            let after = page.ids.last().map(|id| encode_cursor(*id));
            let before = page.ids.first().map(|id| encode_cursor(*id));
            let link = |name: &str, c: &String| {
                req.link(&[("page[size]", size.to_string()), (name, c.clone())])
            };
            // As in real responses, `links.next` is set even when `has_more` is false.
            json!({
                key: items,
                "meta": {"has_more": page.has_more, "after_cursor": after, "before_cursor": before},
                "links": {
                    "prev": before.as_ref().map(|c| link("page[before]", c)),
                    "next": after.as_ref().map(|c| link("page[after]", c)),
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_pages_partition_the_ids() {
        assert_eq!(decode_cursor(&encode_cursor(987_654)), Some(987_654));
        assert_eq!(decode_cursor("not-a-cursor"), None);
        let ids = Ids::Range {
            max: 25,
            keep: Box::new(|i| i % 2 == 0),
        };
        let mut seen: Vec<u64> = Vec::new();
        let mut after = None;
        loop {
            let page = select(
                &ids,
                &Paging::Cursor {
                    size: 5,
                    after,
                    before: None,
                },
            );
            seen.extend(&page.ids);
            after = page.ids.last().copied();
            if !page.has_more {
                break;
            }
        }
        assert_eq!(seen, (1..=25u64).filter(|i| i % 2 == 0).collect::<Vec<_>>());
        let back = select(
            &ids,
            &Paging::Cursor {
                size: 3,
                after: None,
                before: Some(10),
            },
        );
        assert_eq!(back.ids, vec![4, 6, 8]);
        assert!(back.has_more);
        let sorted = Ids::Sorted(vec![3, 9, 27]);
        let offset = select(
            &sorted,
            &Paging::Offset {
                page: 2,
                per_page: 2,
            },
        );
        assert_eq!(
            (offset.ids, offset.total, offset.has_more),
            (vec![27], 3, false)
        );
    }
}
