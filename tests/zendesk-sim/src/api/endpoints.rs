//! The read endpoints.

use serde_json::{json, Value};

use super::incremental::{self, Kind, Of, Tickets};
use super::paging::{self, Ids};
use super::{audits, search, Reply, Req, Route};
use crate::auth::Caller;
use crate::model::{Account, Status};
use crate::render::Renderer;
use crate::state::{AccountState, Shared};

/// Answers a request already authenticated, authorised and counted.
pub(super) fn dispatch(
    shared: &Shared,
    account: &AccountState,
    route: Route,
    req: &Req,
    caller: &Caller,
) -> Reply {
    let acct = account.read();
    let r = Renderer {
        acct: &acct,
        base: &req.base,
        now: shared.clock.now(),
    };
    match answer(&r, route, req, caller) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn answer(r: &Renderer<'_>, route: Route, req: &Req, caller: &Caller) -> Result<Reply, Reply> {
    let acct = r.acct;
    let ok = |v: Value| Ok(Reply::json(200, &v));
    match route {
        Route::UsersMe => ok(json!({"user": match caller {
            Caller::User { index, .. } => r.user(&acct.users[*index]),
            Caller::Anonymous => r.anonymous_user(),
        }})),
        Route::User(id) => ok(json!({"user": r.user(acct.user(id).ok_or_else(not_found)?)})),
        Route::Organization(id) => {
            ok(json!({"organization": r.org(acct.org(id).ok_or_else(not_found)?)}))
        }
        Route::Ticket(id) => {
            live_ticket(acct, id)?;
            ok(json!({"ticket": r.ticket_value(id).ok_or_else(not_found)?}))
        }
        Route::Users => {
            let ids = Ids::Sorted(
                acct.users
                    .iter()
                    .filter(|u| u.active)
                    .map(|u| u.id)
                    .collect(),
            );
            list(req, "users", &ids, 100, |id| {
                acct.user(id).map(|u| r.user(u))
            })
        }
        Route::Organizations => {
            let ids = Ids::Sorted(acct.orgs.iter().map(|o| o.id).collect());
            list(req, "organizations", &ids, 100, |id| {
                acct.org(id).map(|o| r.org(o))
            })
        }
        Route::Tickets => {
            let ids = Ids::Range {
                max: acct.ticket_count(),
                // "Archived tickets are not included" (List Tickets).
                keep: Box::new(|id| {
                    acct.ticket(id)
                        .is_some_and(|t| t.status != Status::Deleted && !t.archived)
                }),
            };
            list(req, "tickets", &ids, 100, |id| r.ticket_value(id))
        }
        Route::TicketComments(id) => {
            let t = live_ticket(acct, id)?;
            let facts = acct.facts(id, t.base_status);
            let comments: Vec<_> = acct
                .audits(id, &facts)
                .into_iter()
                .filter_map(|a| a.comment)
                .collect();
            let ids = Ids::Sorted(comments.iter().map(|c| c.id).collect());
            list(req, "comments", &ids, 100, |cid| {
                comments.iter().find(|c| c.id == cid).map(|c| r.comment(c))
            })
        }
        Route::TicketAudits(id) => audits::for_ticket(r, req, id),
        Route::AllTicketAudits => audits::all(r, req),
        Route::TicketFields => {
            let ids = Ids::Sorted(acct.fields.iter().map(|f| f.id).collect());
            list(req, "ticket_fields", &ids, 100, |id| {
                acct.fields.iter().find(|f| f.id == id).map(|f| r.field(f))
            })
        }
        Route::Brands => {
            let ids = Ids::Sorted(acct.brands.iter().map(|b| b.id).collect());
            list(req, "brands", &ids, 100, |id| {
                acct.brands.iter().find(|b| b.id == id).map(|b| r.brand(b))
            })
        }
        Route::Groups => {
            let ids = Ids::Sorted(acct.groups.iter().map(|g| g.id).collect());
            list(req, "groups", &ids, 100, |id| {
                acct.groups.iter().find(|g| g.id == id).map(|g| r.group(g))
            })
        }
        Route::Tags => {
            let tags = acct.tag_counts();
            let ids = Ids::Sorted((1..=tags.len() as u64).collect());
            list(req, "tags", &ids, 100, |i| {
                tags.get(i as usize - 1)
                    .map(|(name, count)| json!({"name": name, "count": count}))
            })
        }
        Route::SatisfactionRatings => satisfaction_ratings(r, req),
        Route::DeletedTickets => {
            let ids = Ids::Range {
                max: acct.ticket_count(),
                keep: Box::new(|id| {
                    acct.ticket(id)
                        .is_some_and(|t| t.status == Status::Deleted && !acct.is_scrubbed(t, r.now))
                }),
            };
            list(req, "deleted_tickets", &ids, 100, |id| r.deleted_ticket(id))
        }
        Route::SearchExport => search::export(r, req),
        Route::IncrementalTicketsCursor | Route::IncrementalTickets => {
            let per_page = incremental::per_page(req)?;
            let src = Tickets {
                acct,
                exclude_deleted: req.param("exclude_deleted") == Some("true"),
            };
            let (items, meta) = if route == Route::IncrementalTicketsCursor {
                let pos = incremental::cursor_position(req, r.now)?;
                let page = incremental::cursor_page(&src, pos, r.now, per_page);
                let meta = incremental::cursor_meta(req, &page);
                (page.items, meta)
            } else {
                let start = incremental::start_time(req, r.now)?;
                let page = incremental::time_page(&src, start, r.now, per_page);
                let meta = incremental::time_meta(req, &page);
                (page.items, meta)
            };
            Ok(Reply::raw_json(
                200,
                incremental::tickets_body(r, req, &items, meta),
            ))
        }
        Route::IncrementalUsersCursor => {
            let pos = incremental::cursor_position(req, r.now)?;
            let page = incremental::cursor_page(
                &Of(acct, Kind::Users),
                pos,
                r.now,
                incremental::per_page(req)?,
            );
            let mut body = incremental::cursor_meta(req, &page);
            body["users"] = users(r, &page.items);
            ok(body)
        }
        Route::IncrementalUsers
        | Route::IncrementalOrganizations
        | Route::IncrementalTicketEvents => {
            let start = incremental::start_time(req, r.now)?;
            let per_page = incremental::per_page(req)?;
            let (kind, key) = match route {
                Route::IncrementalUsers => (Kind::Users, "users"),
                Route::IncrementalOrganizations => (Kind::Organizations, "organizations"),
                _ => (Kind::Events, "ticket_events"),
            };
            let page = incremental::time_page(&Of(acct, kind), start, r.now, per_page);
            let mut body = incremental::time_meta(req, &page);
            body[key] = match kind {
                Kind::Users => users(r, &page.items),
                Kind::Organizations => page
                    .items
                    .iter()
                    .filter_map(|&(_, id)| acct.org(id))
                    .map(|o| r.org(o))
                    .collect(),
                Kind::Events => {
                    let comments = req
                        .param("include")
                        .is_some_and(|i| i.split(',').any(|s| s.trim() == "comment_events"));
                    incremental::events(r, &page.items, comments).into()
                }
            };
            ok(body)
        }
        Route::OAuthTokens | Route::OAuthAuthorize => Err(not_found()),
    }
}

fn users(r: &Renderer<'_>, items: &[(i64, u64)]) -> Value {
    items
        .iter()
        .filter_map(|&(_, id)| r.acct.user(id))
        .map(|u| r.user(u))
        .collect()
}

/// A paginated list of `key` over `ids`, each rendered by `render`.
pub(super) fn list(
    req: &Req,
    key: &str,
    ids: &Ids<'_>,
    max_size: u64,
    render: impl Fn(u64) -> Option<Value>,
) -> Result<Reply, Reply> {
    let paging = paging::parse(req, max_size, false)?;
    let page = paging::select(ids, &paging);
    let items = page.ids.iter().filter_map(|id| render(*id)).collect();
    Ok(Reply::json(
        200,
        &paging::envelope(req, key, items, &paging, &page),
    ))
}

fn satisfaction_ratings(r: &Renderer<'_>, req: &Req) -> Result<Reply, Reply> {
    let acct = r.acct;
    let score = req.param("score");
    let start = req.param("start_time").and_then(|s| s.parse::<i64>().ok());
    let end = req.param("end_time").and_then(|s| s.parse::<i64>().ok());
    let keep = move |id: u64| {
        let Some(t) = acct.ticket(id) else {
            return false;
        };
        if t.status == Status::Deleted {
            return false;
        }
        let Some(rating) = acct.facts(id, t.base_status).rating else {
            return false;
        };
        let at = acct.rating_time(t);
        let score_ok = match score {
            None | Some("received") => true,
            Some("received_with_comment") => rating.comment.is_some(),
            Some("received_without_comment") => rating.comment.is_none(),
            Some("good_with_comment") => {
                rating.score.as_str() == "good" && rating.comment.is_some()
            }
            Some("bad_with_comment") => rating.score.as_str() == "bad" && rating.comment.is_some(),
            Some(s) => rating.score.as_str() == s,
        };
        score_ok && start.is_none_or(|s| at >= s) && end.is_none_or(|e| at <= e)
    };
    let ids = Ids::Range {
        max: acct.ticket_count(),
        keep: Box::new(keep),
    };
    // Rating ids follow ticket ids, so cursors (opaque to clients) stand for ticket ids.
    let paging = paging::parse(req, 100, false)?;
    let page = paging::select(&ids, &paging);
    let items = page.ids.iter().filter_map(|id| r.rating(*id)).collect();
    Ok(Reply::json(
        200,
        &paging::envelope(req, "satisfaction_ratings", items, &paging, &page),
    ))
}

/// A ticket that is not deleted, or a 404.
pub(super) fn live_ticket(acct: &Account, id: u64) -> Result<&crate::model::TicketState, Reply> {
    acct.ticket(id)
        .filter(|t| t.status != Status::Deleted)
        .ok_or_else(not_found)
}

fn not_found() -> Reply {
    Reply::error(
        404,
        json!({"error": "RecordNotFound", "description": "Not found"}),
    )
}
