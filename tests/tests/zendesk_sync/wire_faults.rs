//! The wire-fault matrix: every way the tickets export can go wrong on the
//! wire, one row each, with the class of the error the connector reports,
//! whether the sync engine retries it, and the database equal to the
//! simulator's ground truth after a clean re-run once the fault is gone.

use std::time::{Duration, Instant};

use connector_runtime::contract::PageRequest;
use connector_runtime::errors::Limit;
use connector_runtime::outbound::Timeouts;
use connector_runtime::ConnectorError;

use super::*;

/// The endpoint the simulator's faults hit: the tickets export, which the
/// tickets stream reads once its first page (a search) has set it up.
const ENDPOINT: &str = "incremental_tickets_cursor";

/// The host's response body cap while a fault is on (the default is 64 MiB).
const BODY_CAP: u64 = 1 << 20;

/// Attempts per page while a fault is on.
const ATTEMPTS: u32 = 3;

/// A pause longer than this is a rate limit's wait (backoffs here are
/// milliseconds): the sync is stopped rather than waited for.
const LONG_PAUSE: Duration = Duration::from_secs(5);

/// A subdomain under which nothing resolves (checked before use).
const UNRESOLVABLE: &str = "wire-faults-unresolvable";

/// Where a fault is.
#[derive(Clone, Debug)]
enum Setup {
    /// The simulator answers every request to [`ENDPOINT`] with this fault.
    Sim(FaultKind),
    /// `acme.zendesk.com` pinned to the simulator's HTTPS port, whose CA the host does not
    /// trust: the handshake fails on the certificate.
    UntrustedCertificate,
    /// `acme.zendesk.com` pinned to the simulator's plain HTTP port: the handshake reads
    /// an HTTP answer instead of TLS.
    PlainHttpServer,
    /// A subdomain that does not resolve, not pinned.
    Unresolvable,
}

/// An error's class, from its variant (`BodyTooLarge`: the host's response
/// body cap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Config,
    Auth,
    Permission,
    RateLimited,
    Transient,
    TimedOut,
    Protocol,
    Internal,
    BodyTooLarge,
    OtherLimit,
    UntrustedCertificate,
    Host,
}

fn class_of(error: &ConnectorError) -> Class {
    match error {
        ConnectorError::Config(_) => Class::Config,
        ConnectorError::Auth(_) => Class::Auth,
        ConnectorError::Permission(_) => Class::Permission,
        ConnectorError::RateLimited { .. } => Class::RateLimited,
        ConnectorError::Transient(_) => Class::Transient,
        ConnectorError::TimedOut(_) => Class::TimedOut,
        ConnectorError::Protocol(_) => Class::Protocol,
        ConnectorError::Internal(_) => Class::Internal,
        ConnectorError::LimitExceeded {
            limit: Limit::ResponseBody,
            ..
        } => Class::BodyTooLarge,
        ConnectorError::LimitExceeded { .. } => Class::OtherLimit,
        ConnectorError::Tls { .. } => Class::UntrustedCertificate,
        _ => Class::Host,
    }
}

/// One row: a fault, the class of the error it causes, and whether it is retried.
struct Row {
    name: &'static str,
    setup: Setup,
    class: Class,
    retried: bool,
}

const fn sim(name: &'static str, fault: FaultKind, class: Class, retried: bool) -> Row {
    Row {
        name,
        setup: Setup::Sim(fault),
        class,
        retried,
    }
}

const ROWS: &[Row] = &[
    sim(
        "reset before headers",
        FaultKind::ConnectionReset,
        Class::Transient,
        true,
    ),
    sim(
        "reset mid-body",
        FaultKind::ResetMidBody,
        Class::Transient,
        true,
    ),
    sim(
        "truncated body",
        FaultKind::TruncatedBody,
        Class::Transient,
        true,
    ),
    sim(
        "over-long body, announced",
        FaultKind::OversizedBody {
            bytes: 2 * BODY_CAP as usize,
            announced: true,
        },
        Class::BodyTooLarge,
        false,
    ),
    sim(
        "over-long body, chunked",
        FaultKind::OversizedBody {
            bytes: 2 * BODY_CAP as usize,
            announced: false,
        },
        Class::BodyTooLarge,
        false,
    ),
    sim(
        "trickle, 1 byte/s",
        FaultKind::Trickle(Duration::from_secs(1)),
        Class::TimedOut,
        true,
    ),
    // Nothing decodes gzip (the host passes bodies on as received, capped as
    // received; the connector neither asks for it nor decodes it), so the
    // bomb reaches the connector as the ~130 KiB it weighs, which is not
    // JSON. Decoded, it is a valid page: a host that decoded it without
    // capping the decoded bytes would let the page through and fail this
    // row; one that capped them would answer BodyTooLarge.
    sim(
        "gzip bomb",
        FaultKind::GzipBomb(16 * BODY_CAP),
        Class::Protocol,
        false,
    ),
    sim(
        "invalid JSON",
        FaultKind::MalformedJson,
        Class::Protocol,
        false,
    ),
    sim(
        "HTML page, 200",
        FaultKind::HtmlPage,
        Class::Protocol,
        false,
    ),
    sim("500", FaultKind::Status(500), Class::Transient, true),
    sim("502", FaultKind::Status(502), Class::Transient, true),
    sim("503", FaultKind::Status(503), Class::Transient, true),
    sim("504", FaultKind::Status(504), Class::TimedOut, true),
    // Retried after the connector's fallback wait of 60 s: the sync is
    // stopped at that pause.
    sim(
        "429 without Retry-After",
        FaultKind::Status(429),
        Class::RateLimited,
        true,
    ),
    Row {
        name: "TLS: untrusted certificate",
        setup: Setup::UntrustedCertificate,
        class: Class::UntrustedCertificate,
        retried: false,
    },
    Row {
        name: "TLS: plain HTTP server",
        setup: Setup::PlainHttpServer,
        class: Class::Transient,
        retried: true,
    },
    Row {
        name: "DNS failure",
        setup: Setup::Unresolvable,
        class: Class::Config,
        retried: false,
    },
];

/// What a row did.
#[derive(Debug, PartialEq, Eq)]
struct Measured {
    class: Class,
    retried: bool,
}

/// Short timeouts, so that a stall is noticed within a second, and a small body cap.
fn faulty_network(env: &Env) -> NetworkOptions {
    NetworkOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            first_byte: Duration::from_secs(10),
            between_bytes: Duration::from_millis(500),
        },
        max_response_bytes: BODY_CAP,
        ..env.network()
    }
}

/// The connection as the row's fault has it (the simulator's fault injected).
fn faulty_recipe(env: &Env, setup: &Setup) -> Arc<ConnectionRecipe> {
    let mut network = faulty_network(env);
    let mut subdomain = "acme";
    match setup {
        Setup::Sim(fault) => env
            .sim
            .set_fault(ENDPOINT, Fault::probability(1.0, fault.clone())),
        Setup::UntrustedCertificate => network.extra_ca_pem = Vec::new(),
        Setup::PlainHttpServer => {
            network.resolve =
                ResolveOverrides::parse(&[format!("acme.zendesk.com:443:{}", env.sim.http_addr())])
                    .unwrap();
        }
        Setup::Unresolvable => {
            network.resolve = ResolveOverrides::default();
            subdomain = UNRESOLVABLE;
        }
    }
    env.recipe_over(network, "acme", env.token_config(subdomain), "api_token")
}

/// Whether `name` resolves here (a machine whose resolver answers every name
/// cannot show a DNS failure).
async fn resolves(name: &str) -> bool {
    tokio::net::lookup_host((name, 443))
        .await
        .is_ok_and(|mut addrs| addrs.next().is_some())
}

/// The first failure of the tickets stream, its pages fetched directly from
/// the start (the first ones prepare the import; one that made progress
/// hands it over and leaves its error to the next call), and the requests
/// that made to [`ENDPOINT`].
async fn first_failure(env: &Env, recipe: &Arc<ConnectionRecipe>) -> (ConnectorError, u64) {
    env.sim.reset_counts();
    let mut connection = recipe.open().await.unwrap();
    let mut request = PageRequest {
        stream: "tickets".into(),
        cursor: None,
        sync_started_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        page_size: None,
    };
    for _ in 0..20 {
        match connection.fetch_page(&request).await {
            Err(error) => return (error, asked(env)),
            Ok(page) => {
                assert!(!page.done, "the fault let the stream through");
                request.cursor = page.next_cursor;
            }
        }
    }
    panic!("twenty pages of tickets and no failure");
}

/// Requests to [`ENDPOINT`] since the counts were reset.
fn asked(env: &Env) -> u64 {
    env.sim
        .request_counts()
        .get(ENDPOINT)
        .copied()
        .unwrap_or_default()
}

/// Injects the row's fault; measures the class (of the first failure,
/// fetched directly) and whether a sync retries it; then, the fault gone,
/// syncs again and checks the database against the ground truth.
async fn run_row(row: &Row) -> Measured {
    let env = env(tickets(30)).await;
    let faulty = faulty_recipe(&env, &row.setup);
    let (error, asked_once) = first_failure(&env, &faulty).await;
    let class = class_of(&error);

    env.sim.reset_counts();
    let options = SyncOptions {
        streams: vec!["tickets".into()],
        max_attempts: ATTEMPTS,
        backoff: Duration::from_millis(1),
        ..SyncOptions::default()
    };
    // A rate limit's wait ends the sync rather than the test's time.
    let stop = options.stop.clone();
    let long_pauses = Arc::new(Mutex::new(Vec::new()));
    let seen = long_pauses.clone();
    let progress: sync::Progress = Arc::new(move |event| {
        if let Event::Paused { wait, .. } = event {
            if wait > LONG_PAUSE {
                seen.lock().unwrap().push(wait);
                stop.stop();
            }
        }
    });
    let report = run_watched_sync(&env.db, &faulty, options, progress).await;
    let tickets = stream(&report, "tickets");
    let retried = tickets.retries + tickets.rate_limited > 0;
    match &tickets.outcome {
        Outcome::Failed(failure) => {
            assert_eq!(class_of(failure), class, "{}: {failure}", row.name);
            let attempts = if retried { ATTEMPTS } else { 1 };
            assert_eq!(tickets.retries, u64::from(attempts - 1), "{}", row.name);
        }
        Outcome::Interrupted => {
            let ConnectorError::RateLimited { retry_after, .. } = &error else {
                panic!("{}: stopped at a long pause after {error:?}", row.name);
            };
            // Without `Retry-After` or an exhausted budget, the connector's fallback.
            assert_eq!(*retry_after, Duration::from_secs(60), "{}", row.name);
            assert_eq!(*long_pauses.lock().unwrap(), [*retry_after], "{}", row.name);
            assert_eq!(tickets.rate_limited, 1, "{}", row.name);
        }
        other => panic!("{}: the tickets stream ended {other:?}", row.name),
    }
    let (live, deleted) = env.ids("acme", "conversation");
    assert!(
        live.is_empty() && deleted.is_empty(),
        "{}: tickets got through",
        row.name
    );
    if let Setup::Sim(_) = row.setup {
        // The sync asks as the direct fetch did, and once more per retry.
        assert_eq!(asked(&env), asked_once + tickets.retries, "{}", row.name);
    }

    env.sim.clear_faults();
    sync_to_the_end(&env.db, &env.token_recipe("acme")).await;
    env.assert_matches_ground_truth("acme");
    Measured { class, retried }
}

#[tokio::test(flavor = "multi_thread")]
async fn wire_faults_are_classified_retried_as_they_deserve_and_lose_nothing() {
    let dns_fails = !resolves(&format!("{UNRESOLVABLE}.zendesk.com")).await;
    let mut table = Vec::new();
    for row in ROWS {
        if matches!(row.setup, Setup::Unresolvable) && !dns_fails {
            eprintln!("{}: skipped, every name resolves here", row.name);
            continue;
        }
        let started = Instant::now();
        let measured = run_row(row).await;
        eprintln!(
            "{:<28} {:<14} retried: {:<5} {:>6.2?}",
            row.name,
            format!("{:?}", measured.class),
            measured.retried,
            started.elapsed()
        );
        table.push((row.name, measured));
    }
    let expected: Vec<_> = ROWS
        .iter()
        .filter(|row| table.iter().any(|(name, _)| *name == row.name))
        .map(|row| {
            (
                row.name,
                Measured {
                    class: row.class,
                    retried: row.retried,
                },
            )
        })
        .collect();
    assert_eq!(table, expected);
}
