//! `fetch-page` on hostile answers: every stream in every phase, planned
//! from a cursor (arbitrary numbers in it too), answered with arbitrary
//! statuses, headers and bodies, or with truncated and mutated real
//! bodies. A 2xx answer gives a page or a `Protocol` error; every cursor
//! of a page is read back and planned again.

use std::panic::AssertUnwindSafe;

use serde_json::Value;

use super::{fixtures, replace_node, replacement, truncated, CI_TIME};
use crate::api::HttpResponse;
use crate::config::{self, Config};
use crate::state::catalog::Catalogs;
use crate::state::marks::Marks;
use crate::state::{split, window};
use crate::storage::{MemoryStorage, Storage};
use crate::streams::cursor::{self, State};
use crate::streams::fetch::{self, FetchContext, Step};
use crate::streams::StreamName;
use crate::types::{ConnectorError, Page};

/// When every fuzzed sync started.
pub(super) const NOW: u64 = 1_700_000_000;

/// The two configs: everything read, and the first import's limits and
/// filters (`max_tickets`, the customer-comment and brand filters).
pub(super) fn configs() -> [Config; 2] {
    let base = r#""subdomain":"acme","email":"admin@acme.com","api_token":"t""#;
    let configure = |extra: &str| {
        config::configure(&format!("{{{base}{extra}}}"), "api_token", NOW as i64)
            .expect("the fuzz configs are valid")
            .0
    };
    [
        configure(r#","import_comments":true,"include_internal_notes":true"#),
        configure(
            r#","max_tickets":250,"only_tickets_with_customer_comments":true,"brands":["brand2"]"#,
        ),
    ]
}

/// A storage copied from another.
fn copy(from: &MemoryStorage) -> MemoryStorage {
    let to = MemoryStorage::new();
    for key in from.list_keys("").expect("memory storage lists") {
        let value = from.get(&key).expect("memory storage reads");
        to.set(&key, &value.unwrap_or_default())
            .expect("memory storage writes");
    }
    to
}

/// What a connection has stored once its reference streams were read
/// (from the fixtures) and its first import planned: the window, the
/// split of the comment history and tickets pending per-ticket reads.
pub(super) fn seeded(config: &Config) -> MemoryStorage {
    let storage = MemoryStorage::new();
    let mut catalogs = Catalogs::default();
    let mut ctx = FetchContext {
        config,
        storage: &storage,
        catalogs: &mut catalogs,
        sync_started_at: NOW,
        page_size: None,
    };
    let bodies = fixtures::bodies();
    let reference = [
        (StreamName::TicketFields, 6),
        (StreamName::Brands, 7),
        (StreamName::Groups, 8),
        (StreamName::Users, 1),
    ];
    for (stream, body) in reference {
        let response = HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: bodies[body].clone().into_bytes(),
        };
        let Step::Request(planned) = fetch::next_request(&mut ctx, stream, None).unwrap() else {
            panic!("{stream:?} starts with a request");
        };
        fetch::handle_response(&mut ctx, &planned, &response).unwrap();
    }
    window::store(&storage, config, NOW - 90 * 86_400).unwrap();
    split::Scheme::load_or_create(&storage, NOW - 90 * 86_400, NOW - 60).unwrap();
    split::store(
        &storage,
        split::Split {
            start: NOW - 30 * 86_400,
            marked: true,
            audits: false,
        },
    )
    .unwrap();
    let mut pending = Marks::new(split::pending(1));
    for ticket in [1, 2, 35_436, 35_437] {
        pending.set(&storage, ticket, true).unwrap();
    }
    pending.flush(&storage).unwrap();
    storage
}

/// Every phase of every stream, under one config or the other, with
/// numbers and a cursor text from the input; `None` is the stream's start.
fn cases(a: u64, b: u64, text: &str) -> Vec<(usize, StreamName, Option<State>)> {
    let after = Some(text.to_owned());
    let time = State::Time {
        start: a,
        seen: vec![(b, a), (35_436, b)],
    };
    let list = State::List {
        after: after.clone(),
        page: Some(b as u32),
    };
    let mut cases = vec![
        (1, StreamName::Tickets, Some(State::Anchor)),
        (1, StreamName::TicketComments, Some(State::Anchor)),
        (
            0,
            StreamName::Tickets,
            Some(State::Backfill {
                start: a,
                after: None,
            }),
        ),
        (
            1,
            StreamName::Tickets,
            Some(State::Backfill {
                start: a,
                after: after.clone(),
            }),
        ),
        (
            0,
            StreamName::Tickets,
            Some(State::Sweep {
                since: a,
                after: after.clone(),
                resume: b,
            }),
        ),
        (
            0,
            StreamName::Tickets,
            Some(State::Probe {
                at: a,
                resume: Box::new(time.clone()),
            }),
        ),
        (
            0,
            StreamName::TicketCommentsBackfill,
            Some(State::Queue {
                generation: a % 3,
                next: b % 40_000,
                after: None,
                sync: NOW - 86_400,
            }),
        ),
        (
            1,
            StreamName::TicketCommentsBackfill,
            Some(State::Queue {
                generation: 1,
                next: 2,
                after: after.clone(),
                sync: NOW,
            }),
        ),
        (
            0,
            StreamName::SatisfactionRatings,
            Some(State::Ratings {
                since: a,
                until: Some(b),
                after: after.clone(),
            }),
        ),
    ];
    for config in [0, 1] {
        for stream in StreamName::ALL {
            cases.push((config, stream, None));
        }
        for stream in [StreamName::Tickets, StreamName::Users] {
            cases.push((
                config,
                stream,
                Some(State::After {
                    after: text.to_owned(),
                }),
            ));
        }
        for stream in [
            StreamName::Tickets,
            StreamName::TicketComments,
            StreamName::Users,
            StreamName::Organizations,
        ] {
            cases.push((config, stream, Some(time.clone())));
        }
        for stream in [
            StreamName::TicketFields,
            StreamName::Tags,
            StreamName::Brands,
        ] {
            cases.push((config, stream, Some(list.clone())));
        }
    }
    cases
}

/// The fixture body of a stream's usual answer.
fn usual_body(stream: StreamName, state: Option<&State>) -> usize {
    match (stream, state) {
        (_, Some(State::Backfill { .. } | State::Sweep { .. })) => 10,
        (_, Some(State::Probe { .. })) => 3,
        (StreamName::Tickets, _) => 0,
        (StreamName::Users, _) => 1,
        (StreamName::Organizations, _) => 2,
        (StreamName::TicketComments, _) => 3,
        (StreamName::TicketCommentsBackfill, _) => 4,
        (StreamName::SatisfactionRatings, _) => 5,
        (StreamName::TicketFields, _) => 6,
        (StreamName::Brands, _) => 7,
        (StreamName::Groups, _) => 8,
        (StreamName::Tags, _) => 9,
    }
}

/// Numbers as cursors hold them: mostly times near the sync's start,
/// sometimes anything.
fn number(raw: u64) -> u64 {
    if raw & 1 == 1 {
        raw
    } else {
        NOW - 61 - (raw >> 1) % 400_000_000
    }
}

/// Statuses an answer may have.
const STATUSES: [u16; 16] = [
    200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 429, 500, 503,
];

/// Header names the connector reads, and one it does not.
const HEADERS: [&str; 10] = [
    "ratelimit-remaining",
    "x-rate-limit-remaining",
    "x-rate-limit",
    "ratelimit-reset",
    "ratelimit",
    "zendesk-ratelimit-incremental-exports",
    "zendesk-ratelimit-tickets-index",
    "retry-after",
    "content-type",
    "x-other",
];

/// A fuzzed fetch: the setup, then one answer to whatever was planned.
struct Fetch {
    configs: [Config; 2],
    seeded: [MemoryStorage; 2],
}

impl Fetch {
    fn new() -> Self {
        let configs = configs();
        let seeded = [seeded(&configs[0]), seeded(&configs[1])];
        Fetch { configs, seeded }
    }

    /// Plans case `case` and answers every request with `response`;
    /// asserts what any answer must give.
    fn run(&self, case: (usize, StreamName, Option<State>), response: &HttpResponse) {
        let (which, stream, state) = case;
        let config = &self.configs[which];
        let storage = copy(&self.seeded[which]);
        let mut catalogs = Catalogs::default();
        let mut ctx = FetchContext {
            config,
            storage: &storage,
            catalogs: &mut catalogs,
            sync_started_at: NOW,
            page_size: Some(100),
        };
        let cursor = state.as_ref().map(cursor::encode);
        if fetch::begin_page(&ctx, stream, cursor.as_deref()).is_err() {
            return;
        }
        let step = match fetch::next_request(&mut ctx, stream, cursor.as_deref()) {
            Ok(step) => step,
            // A cursor the connector never writes (e.g. a start past the
            // cap of a stream that refuses it) may be refused, classified.
            Err(ConnectorError::Internal(_) | ConnectorError::Config(_)) => return,
            Err(other) => panic!("planning {stream:?} from {cursor:?}: {other:?}"),
        };
        let (page, error) = match step {
            Step::Finished(page) => (Some(page), None),
            Step::Request(planned) => match fetch::handle_response(&mut ctx, &planned, response) {
                Ok(page) => (Some(page), None),
                Err(e) => (None, Some(e)),
            },
            Step::Batch(planned) => {
                let responses = planned.iter().map(|_| Ok(response.clone())).collect();
                fetch::handle_all(&mut ctx, &planned, responses)
            }
        };
        if let Some(error) = error {
            let success = (200..300).contains(&response.status);
            assert!(
                !success || matches!(error, ConnectorError::Protocol(_)),
                "{stream:?} answered {}: {error:?}",
                response.status
            );
            assert!(!error.to_string().is_empty());
        }
        if let Some(page) = page {
            check_page(&mut ctx, stream, &page);
        }
    }
}

/// A page's records are JSON, and its cursor is one the connector reads
/// and plans from again.
fn check_page(ctx: &mut FetchContext<'_>, stream: StreamName, page: &Page) {
    for record in &page.records {
        assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(record).is_ok(),
            "{stream:?} page record is not JSON: {record}"
        );
    }
    let Some(next) = page.next_cursor.as_deref() else {
        return;
    };
    cursor::decode(stream.as_str(), next)
        .unwrap_or_else(|e| panic!("{stream:?} wrote a cursor it cannot read: {next}: {e:?}"));
    if let Err(e) = fetch::next_request(ctx, stream, Some(next)) {
        panic!("{stream:?} cannot plan from its own cursor {next}: {e:?}");
    }
}

/// A response from fuzzed parts.
fn response(status: u8, headers: &[(u8, String)], body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        status: STATUSES[usize::from(status) % STATUSES.len()],
        headers: headers
            .iter()
            .map(|(name, value)| {
                let name = HEADERS[usize::from(*name) % HEADERS.len()];
                (name.to_owned(), value.clone())
            })
            .collect(),
        body,
    }
}

type ArbitraryInput = (u8, u8, Vec<(u8, String)>, (u64, u64, String), Vec<u8>);

/// Target `fetch_arbitrary_answers`: any status, headers and bytes.
#[test]
fn fetch_arbitrary_answers() {
    let fetch = AssertUnwindSafe(Fetch::new());
    bolero::check!()
        .with_type::<ArbitraryInput>()
        .with_test_time(CI_TIME)
        .for_each(|(case, status, headers, (a, b, text), body)| {
            let cases = cases(number(*a), number(*b), text);
            let case = cases[usize::from(*case) % cases.len()].clone();
            fetch.run(case, &response(*status, headers, body.clone()));
        });
}

type RealInput = (u8, u8, u16, u8, (u32, u8, String), (u64, Vec<(u8, String)>));

/// A real body, mutated: cut short, one node replaced (then maybe cut),
/// or one byte changed (maybe making it invalid UTF-8).
fn mutated(body: &str, cut: u16, mode: u8, (node, choice, text): &(u32, u8, String)) -> Vec<u8> {
    let at = (body.len() as u64 * u64::from(cut) / u64::from(u16::MAX)) as usize;
    match mode % 4 {
        0 => truncated(body, at).as_bytes().to_vec(),
        1 | 2 => {
            let mut value: Value = serde_json::from_str(body).expect("fixtures are JSON");
            replace_node(&mut value, *node as usize, replacement(*choice, text));
            let text = value.to_string();
            match mode % 4 {
                1 => text.into_bytes(),
                _ => truncated(&text, at).as_bytes().to_vec(),
            }
        }
        _ => {
            let mut bytes = body.as_bytes().to_vec();
            if let Some(byte) = bytes.get_mut(at) {
                *byte = *choice;
            }
            bytes
        }
    }
}

/// Target `fetch_real_bodies_mutated`: truncations and mutations of the
/// recorded bodies, mostly the case's own endpoint's.
#[test]
fn fetch_real_bodies_mutated() {
    let fetch = AssertUnwindSafe(Fetch::new());
    let bodies = fixtures::bodies();
    bolero::check!()
        .with_type::<RealInput>()
        .with_test_time(CI_TIME)
        .for_each(|(case, pick, cut, mode, node, (a, headers))| {
            let cases = cases(number(*a), NOW - 3600, "eyJvIjoiaWQifQ==");
            let case = cases[usize::from(*case) % cases.len()].clone();
            let body = match pick {
                0..=127 => usual_body(case.1, case.2.as_ref()),
                _ => usize::from(*pick) % bodies.len(),
            };
            let body = mutated(&bodies[body], *cut, *mode, node);
            fetch.run(case, &response(0, headers, body));
        });
}

#[test]
fn every_case_is_answered_by_its_usual_body() {
    // The seeded storage and the cases reach every phase: each case, with
    // its stream's usual unmutated body, gives a page.
    let fetch = Fetch::new();
    let bodies = fixtures::bodies();
    let mut requested = 0;
    for case in cases(NOW - 3600, NOW - 7200, "eyJvIjoiaWQifQ==") {
        let body = bodies[usual_body(case.1, case.2.as_ref())].clone();
        let config = &fetch.configs[case.0];
        let storage = copy(&fetch.seeded[case.0]);
        let mut catalogs = Catalogs::default();
        let mut ctx = FetchContext {
            config,
            storage: &storage,
            catalogs: &mut catalogs,
            sync_started_at: NOW,
            page_size: None,
        };
        let cursor = case.2.as_ref().map(cursor::encode);
        let step = fetch::next_request(&mut ctx, case.1, cursor.as_deref()).unwrap();
        let answer = |http_body: String| HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: http_body.into_bytes(),
        };
        match step {
            Step::Finished(_) => {}
            Step::Request(planned) => {
                requested += 1;
                fetch::handle_response(&mut ctx, &planned, &answer(body))
                    .unwrap_or_else(|e| panic!("{case:?}: {e:?}"));
            }
            Step::Batch(planned) => {
                requested += 1;
                let responses = planned.iter().map(|_| Ok(answer(body.clone()))).collect();
                let (page, error) = fetch::handle_all(&mut ctx, &planned, responses);
                assert!(page.is_some() && error.is_none(), "{case:?}: {error:?}");
            }
        }
    }
    // All but the streams that are caught up at once plan a request.
    assert!(requested >= 30, "{requested} cases requested");
}
