//! Cursor boundaries of the incremental exports: items changed after the
//! sync's cap are left to the next sync, and items already delivered at the
//! cursor's second (the same id and version) are dropped.

use serde_json::value::RawValue;

/// An item with the identity used at cursor boundaries.
pub(super) struct Stamped<'a> {
    /// The item as sent.
    pub(super) raw: &'a RawValue,
    /// The item's id.
    pub(super) id: u64,
    /// The item's change time (Unix seconds): its version.
    pub(super) at: u64,
}

/// Drops items already delivered (`seen`) and items changed after `cap`;
/// tells whether any item was past the cap.
pub(super) fn dedupe_and_cap<'a>(
    items: Vec<Stamped<'a>>,
    seen: &[(u64, u64)],
    cap: u64,
) -> (Vec<Stamped<'a>>, bool) {
    let mut capped = false;
    let kept = items
        .into_iter()
        .filter(|item| {
            if item.at > cap {
                capped = true;
                return false;
            }
            !seen.contains(&(item.id, item.at))
        })
        .collect();
    (kept, capped)
}

/// The `(id, version)` pairs at `at`, with the earlier ones when the
/// boundary did not move.
pub(super) fn seen_at(
    kept: &[Stamped<'_>],
    at: u64,
    previous: Option<&[(u64, u64)]>,
) -> Vec<(u64, u64)> {
    let mut seen = previous.map(<[_]>::to_vec).unwrap_or_default();
    seen.extend(kept.iter().filter(|i| i.at == at).map(|i| (i.id, i.at)));
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> &'static RawValue {
        Box::leak(RawValue::from_string("{}".to_owned()).unwrap())
    }

    #[test]
    fn drops_seen_and_capped_items_and_keeps_the_boundary() {
        let items = vec![
            Stamped {
                raw: raw(),
                id: 1,
                at: 5,
            },
            Stamped {
                raw: raw(),
                id: 2,
                at: 5,
            },
            Stamped {
                raw: raw(),
                id: 3,
                at: 6,
            },
            Stamped {
                raw: raw(),
                id: 4,
                at: 9,
            },
        ];
        let (kept, capped) = dedupe_and_cap(items, &[(1, 5)], 6);
        assert!(capped);
        assert_eq!(kept.iter().map(|i| i.id).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(seen_at(&kept, 6, None), [(3, 6)]);
        assert_eq!(seen_at(&kept, 5, Some(&[(1, 5)])), [(1, 5), (2, 5)]);
    }
}
