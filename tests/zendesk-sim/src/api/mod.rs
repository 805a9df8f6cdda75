//! The HTTP API: routing, authentication, permissions, limits, faults and the endpoints.

mod audits;
mod endpoints;
mod incremental;
mod oauth;
mod paging;
mod search;

use std::time::Duration;

use serde_json::{json, Value};

use crate::auth::{is_staff, AuthError, Caller};
use crate::faults::FaultKind;
use crate::server::Delivery;
use crate::state::{AccountState, Shared};

/// A request, parsed.
#[derive(Debug)]
pub(crate) struct Req {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without a `.json` suffix.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// `scheme://host[:port]` as the client addressed the server.
    pub base: String,
    /// The `Host` header without the port.
    pub host: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The request body.
    pub body: Vec<u8>,
}

impl Req {
    /// The first value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// This request's URL with the parameters in `set` replacing those of the same name.
    pub(crate) fn link(&self, set: &[(&str, String)]) -> String {
        let mut query: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
            .filter(|(k, _)| !k.starts_with("page[") && k != "page")
            .cloned()
            .collect();
        query.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
        self.url_with(query)
    }

    /// This request's URL with only `set` and the parameters named in `keep`.
    pub(crate) fn link_only(&self, set: &[(&str, String)], keep: &[&str]) -> String {
        let mut query: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .cloned()
            .collect();
        query.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
        self.url_with(query)
    }

    fn url_with(&self, query: Vec<(String, String)>) -> String {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("{}{}.json?{}", self.base, self.path, encoded)
    }
}

/// A response about to be sent.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    /// A JSON response.
    pub(crate) fn json(status: u16, body: &Value) -> Reply {
        Reply::raw_json(status, serde_json::to_vec(body).unwrap_or_default())
    }

    /// A response with an already serialised JSON body.
    pub(crate) fn raw_json(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body,
        }
    }

    /// An error response.
    pub(crate) fn error(status: u16, body: Value) -> Reply {
        Reply::json(status, &body)
    }

    fn html(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone, even without credentials.
    Anyone,
    /// Agents (light agents included) and admins.
    Staff,
    /// Admins only.
    Admin,
}

/// A recognised endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    UsersMe,
    Users,
    User(u64),
    Organizations,
    Organization(u64),
    Tickets,
    Ticket(u64),
    TicketComments(u64),
    TicketAudits(u64),
    AllTicketAudits,
    IncrementalTicketsCursor,
    IncrementalTickets,
    IncrementalUsersCursor,
    IncrementalUsers,
    IncrementalOrganizations,
    IncrementalTicketEvents,
    TicketFields,
    SatisfactionRatings,
    Tags,
    Brands,
    Groups,
    SearchExport,
    DeletedTickets,
    OAuthTokens,
    OAuthAuthorize,
}

impl Route {
    /// Recognises `method path` (path without `.json`).
    pub(crate) fn parse(method: &str, path: &str) -> Option<Route> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let id = |s: &str| s.parse::<u64>().ok();
        let route = match segments.as_slice() {
            ["oauth", "tokens"] => return (method == "POST").then_some(Route::OAuthTokens),
            ["oauth", "authorizations", "new"] => {
                return (method == "GET").then_some(Route::OAuthAuthorize)
            }
            ["api", "v2", rest @ ..] => match rest {
                ["users", "me"] => Route::UsersMe,
                ["users"] => Route::Users,
                ["users", u] => Route::User(id(u)?),
                ["organizations"] => Route::Organizations,
                ["organizations", o] => Route::Organization(id(o)?),
                ["tickets"] => Route::Tickets,
                ["tickets", t] => Route::Ticket(id(t)?),
                ["tickets", t, "comments"] => Route::TicketComments(id(t)?),
                ["tickets", t, "audits"] => Route::TicketAudits(id(t)?),
                ["ticket_audits"] => Route::AllTicketAudits,
                ["incremental", "tickets", "cursor"] => Route::IncrementalTicketsCursor,
                ["incremental", "tickets"] => Route::IncrementalTickets,
                ["incremental", "users", "cursor"] => Route::IncrementalUsersCursor,
                ["incremental", "users"] => Route::IncrementalUsers,
                ["incremental", "organizations"] => Route::IncrementalOrganizations,
                ["incremental", "ticket_events"] => Route::IncrementalTicketEvents,
                ["ticket_fields"] => Route::TicketFields,
                ["satisfaction_ratings"] => Route::SatisfactionRatings,
                ["tags"] => Route::Tags,
                ["brands"] => Route::Brands,
                ["groups"] => Route::Groups,
                ["search", "export"] => Route::SearchExport,
                ["deleted_tickets"] => Route::DeletedTickets,
                _ => return None,
            },
            _ => return None,
        };
        (method == "GET").then_some(route)
    }

    /// The endpoint's name in request counts and fault settings.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Route::UsersMe => "users_me",
            Route::Users => "users",
            Route::User(_) => "user",
            Route::Organizations => "organizations",
            Route::Organization(_) => "organization",
            Route::Tickets => "tickets",
            Route::Ticket(_) => "ticket",
            Route::TicketComments(_) => "ticket_comments",
            Route::TicketAudits(_) => "ticket_audits",
            Route::AllTicketAudits => "all_ticket_audits",
            Route::IncrementalTicketsCursor => "incremental_tickets_cursor",
            Route::IncrementalTickets => "incremental_tickets",
            Route::IncrementalUsersCursor => "incremental_users_cursor",
            Route::IncrementalUsers => "incremental_users",
            Route::IncrementalOrganizations => "incremental_organizations",
            Route::IncrementalTicketEvents => "incremental_ticket_events",
            Route::TicketFields => "ticket_fields",
            Route::SatisfactionRatings => "satisfaction_ratings",
            Route::Tags => "tags",
            Route::Brands => "brands",
            Route::Groups => "groups",
            Route::SearchExport => "search_export",
            Route::DeletedTickets => "deleted_tickets",
            Route::OAuthTokens => "oauth_tokens",
            Route::OAuthAuthorize => "oauth_authorize",
        }
    }

    fn access(self) -> Access {
        match self {
            Route::UsersMe | Route::OAuthTokens | Route::OAuthAuthorize => Access::Anyone,
            Route::SatisfactionRatings | Route::AllTicketAudits => Access::Admin,
            r if r.incremental() => Access::Admin,
            _ => Access::Staff,
        }
    }

    /// Whether the endpoint counts against the incremental export budget.
    fn incremental(self) -> bool {
        matches!(
            self,
            Route::IncrementalTicketsCursor
                | Route::IncrementalTickets
                | Route::IncrementalUsersCursor
                | Route::IncrementalUsers
                | Route::IncrementalOrganizations
                | Route::IncrementalTicketEvents
        )
    }

    /// The page size a request asks for, for faults that depend on it.
    fn page_size(self, req: &Req) -> u32 {
        if self == Route::AllTicketAudits && !audits::standard_paging(req) {
            let limit = req.param("limit").and_then(|v| v.parse().ok());
            return limit.unwrap_or(audits::LEGACY_MAX_LIMIT as u32);
        }
        let asked = req.param("per_page").or(req.param("page[size]"));
        let default = if self.incremental() { 1000 } else { 100 };
        asked.and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

/// What the server must do with a request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Send this reply, after waiting `delay`, its body as `delivery` says.
    Send {
        reply: Reply,
        delay: Duration,
        delivery: Delivery,
    },
    /// Reset the connection without answering.
    Reset,
}

/// Handles one request end to end.
pub(crate) fn process(shared: &Shared, req: &Req) -> Outcome {
    let Some(account) = shared.account_for_host(&req.host) else {
        shared.count("unknown_account");
        return send(Reply::html(404, MISSING_ACCOUNT));
    };
    let Some(route) = Route::parse(&req.method, &req.path) else {
        shared.count("unknown_endpoint");
        return send(Reply::error(
            404,
            json!({"error": "InvalidEndpoint", "description": "Not found"}),
        ));
    };
    shared.count(route.name());
    let fault = shared.fire_fault(route.name(), route.page_size(req));
    let mut delay = Duration::ZERO;
    match &fault {
        Some(FaultKind::Status(code)) => return send(fault_status(*code)),
        Some(FaultKind::GatewayTimeoutAbove(_)) => return send(fault_status(504)),
        Some(FaultKind::ConnectionReset) => return Outcome::Reset,
        Some(FaultKind::HtmlPage) => return send(Reply::html(200, HTML_ERROR_PAGE)),
        Some(FaultKind::Delay(d)) => delay = *d,
        _ => {}
    }
    let reply = respond(shared, account, route, req);
    let (reply, delivery) = match fault {
        Some(kind) => spoil(reply, kind),
        None => (reply, Delivery::Whole),
    };
    Outcome::Send {
        reply,
        delay,
        delivery,
    }
}

/// A reply as a fault that lets the request through changes it, and how its body goes out.
fn spoil(mut reply: Reply, kind: FaultKind) -> (Reply, Delivery) {
    let delivery = match kind {
        FaultKind::TruncatedBody => Delivery::Truncated,
        FaultKind::ResetMidBody => Delivery::ResetMidBody,
        FaultKind::Trickle(every) => Delivery::Trickle(every),
        FaultKind::MalformedJson => {
            let keep = reply.body.len() / 2;
            reply.body.truncate(keep);
            reply.body.extend_from_slice(b"<!-- upstream timeout -->");
            reply.status = 200;
            Delivery::Whole
        }
        FaultKind::OversizedBody { bytes, announced } => {
            let padding = bytes.saturating_sub(reply.body.len());
            reply.body.resize(reply.body.len() + padding, b' ');
            if announced {
                Delivery::Whole
            } else {
                Delivery::Unsized
            }
        }
        FaultKind::GzipBomb(expanded) => {
            reply.body = crate::faults::gzip_bomb(&reply.body, expanded);
            reply.headers.push(("content-encoding", "gzip".into()));
            Delivery::Whole
        }
        _ => Delivery::Whole,
    };
    (reply, delivery)
}

fn send(reply: Reply) -> Outcome {
    Outcome::Send {
        reply,
        delay: Duration::ZERO,
        delivery: Delivery::Whole,
    }
}

/// What a proxy or captive portal in the way answers, with status 200.
const HTML_ERROR_PAGE: &str = "<!DOCTYPE html><html><head><title>Error</title></head>\
<body><h1>Something went wrong</h1><p>The page could not be loaded. Please try again later.</p>\
</body></html>";

/// The body Zendesk's edge answers when no account has the subdomain.
const MISSING_ACCOUNT: &str =
    "<!DOCTYPE html><html><head><title>Help Center Closed | Zendesk</title></head>\
<body><h1>Oops! This help center no longer exists</h1>\
<p>The help center you are looking for does not exist.</p></body></html>";

fn fault_status(code: u16) -> Reply {
    match code {
        503 => Reply::error(
            503,
            json!({"error": "ServiceUnavailable", "description": "Service temporarily unavailable"}),
        ),
        504 => Reply::html(504, "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>"),
        429 => Reply::error(
            429,
            json!({"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"}),
        ),
        other => Reply::error(
            other,
            json!({"error": "InternalError", "description": "Something went wrong"}),
        ),
    }
}

/// Authentication, permissions, limits, then the endpoint itself.
fn respond(shared: &Shared, account: &AccountState, route: Route, req: &Req) -> Reply {
    match route {
        Route::OAuthTokens => return oauth::tokens(shared, account, req),
        Route::OAuthAuthorize => return oauth::authorize(shared, account, req),
        _ => {}
    }
    let caller = match account.authenticate(shared, req.authorization.as_deref()) {
        Ok(caller) => caller,
        Err(AuthError::Basic) => return unauthenticated(),
        Err(AuthError::Bearer) => {
            return Reply::error(
                401,
                json!({
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."
                }),
            )
        }
    };
    let role = match &caller {
        Caller::User { index, can_read } => {
            if !can_read {
                return Reply::error(
                    403,
                    json!({"error": "Forbidden", "description": "You are missing the following required scopes: read"}),
                );
            }
            Some(account.role_of(*index))
        }
        Caller::Anonymous => None,
    };
    let allowed = match (route.access(), role) {
        (Access::Anyone, _) => true,
        (_, None) => return unauthenticated(),
        (Access::Staff, Some((r, _))) => is_staff(r),
        (Access::Admin, Some((r, _))) => r == crate::model::Role::Admin,
    };
    if !allowed {
        return Reply::error(
            403,
            json!({"error": {"title": "Forbidden", "message": "You do not have access to this page. Please contact the account owner of this help desk for further help."}}),
        );
    }
    let verdict = shared.check_limits(account, route.incremental());
    let mut reply = match &verdict {
        Some(v) if v.refused.is_some() => {
            let description = v.refused.map(|r| r.0).unwrap_or_default();
            Reply::error(
                429,
                json!({"error": "APIRateLimitExceeded", "description": description}),
            )
        }
        _ => endpoints::dispatch(shared, account, route, req, &caller),
    };
    if let Some(v) = verdict {
        reply.headers.extend(v.headers);
    }
    reply
}

fn unauthenticated() -> Reply {
    Reply::error(401, json!({"error": "Couldn't authenticate you"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_recognised_only_for_their_method() {
        assert_eq!(
            Route::parse("GET", "/api/v2/users/me"),
            Some(Route::UsersMe)
        );
        assert_eq!(
            Route::parse("GET", "/api/v2/tickets/12/comments"),
            Some(Route::TicketComments(12))
        );
        assert_eq!(Route::parse("GET", "/api/v2/tickets/x/comments"), None);
        assert_eq!(Route::parse("POST", "/api/v2/tickets"), None);
        assert_eq!(
            Route::parse("POST", "/oauth/tokens"),
            Some(Route::OAuthTokens)
        );
        assert_eq!(Route::parse("GET", "/oauth/tokens"), None);
        assert_eq!(Route::IncrementalTicketEvents.access(), Access::Admin);
        assert_eq!(
            Route::parse("GET", "/api/v2/ticket_audits"),
            Some(Route::AllTicketAudits)
        );
        assert_eq!(Route::AllTicketAudits.access(), Access::Admin);
        assert!(!Route::AllTicketAudits.incremental(), "account budget");
        assert_eq!(Route::Tickets.access(), Access::Staff);
    }
}
