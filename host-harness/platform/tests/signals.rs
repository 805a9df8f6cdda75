//! Support signals checked against values computed by hand, with and
//! without change history, as a table and as a page.

mod common;

use connector_platform::signals::{self, Advice, CustomerSignals, Point};
use connector_platform::window::{Granularity, Range};
use connector_platform::{html, matching};
use connector_store_sqlite::Database;
use serde_json::json;

use common::*;

const ADVICE: Advice<'static> = Advice {
    no_customers: "import the customer list",
    unattributed: "the matching report shows why",
    whole_history: "ask for all of it",
};

/// A period's tickets, median first reply, good and bad ratings.
fn point(tickets: usize, first_reply: Option<i64>, good: usize, bad: usize) -> Point {
    Point {
        tickets,
        first_reply,
        good,
        bad,
        ..Point::default()
    }
}

/// Hand-made tickets of two customers with replies, changes and ratings,
/// whose signals are worked out in the comments.
fn signals_account(db: &Database, with_history: bool) {
    import_customers(
        db,
        "id,name,domains\nacme,Acme,acme.com\nglobex,Globex,globex.com\nidle,Idle,idle.com\n",
    );
    for (key, name, domain) in [("1", "Acme", "acme.com"), ("2", "Globex", "globex.com")] {
        put(
            db,
            "account",
            key,
            json!({"id": key, "name": name, "domains": [domain]}),
            false,
        );
    }
    put(
        db,
        "person",
        "900",
        json!({"id": "900", "email": "x@gmail.com", "role": "end-user"}),
        false,
    );
    let mut messages = 0;
    let mut message = |ticket: &str, role: &str, visibility: &str, at: i64, chat: bool| {
        messages += 1;
        let key = format!("m{messages}");
        let mut data = json!({"id": key, "conversation_id": ticket, "comment_id": key,
                              "author_role": role, "visibility": visibility, "created_at": iso(at)});
        if chat {
            data["chat"] = json!({"line": 1, "time": "10:00:00", "parsed": true});
        }
        put(db, "message", &key, data, false);
    };
    let mut changes = 0;
    let mut change = |ticket: &str, field: &str, from: Option<&str>, to: &str, at: String| {
        changes += 1;
        if with_history {
            put(
                db,
                "change",
                &format!("c{changes}"),
                json!({"id": format!("c{changes}"), "conversation_id": ticket, "field": field,
                       "from": from, "to": to, "at": at, "author_id": "201"}),
                false,
            );
        }
    };
    let ticket = |key: &str, org: Option<&str>, created: i64, satisfaction: Option<&str>| {
        put(
            db,
            "conversation",
            key,
            json!({"id": key, "organization_id": org, "requester_id": "900",
                   "created_at": iso(created), "updated_at": iso(created + DAY),
                   "satisfaction": satisfaction.map(|s| json!({"score": s}))}),
            false,
        );
    };
    let rating = |key: &str, ticket: &str, score: &str| {
        put(
            db,
            "satisfaction",
            key,
            json!({"id": key, "conversation_id": ticket, "score": score, "updated_at": iso(MONDAY + 30 * DAY)}),
            false,
        );
    };

    // Acme, week 1. a1: the internal note does not count, the public reply
    // at 30 min does (first reply 1800 s); solved at 2 h (resolution 7200 s,
    // the later solve after reopening does not count), reopened; rated
    // good; created normal (no escalation).
    let a1 = MONDAY + DAY + 9 * HOUR;
    ticket("a1", Some("1"), a1, None);
    message("a1", "customer", "public", a1, false);
    message("a1", "agent", "internal", a1 + 600, false);
    message("a1", "agent", "public", a1 + 1800, false);
    change("a1", "priority", None, "normal", iso(a1));
    change("a1", "status", Some("open"), "solved", iso(a1 + 2 * HOUR));
    change("a1", "status", Some("solved"), "open", iso(a1 + 3 * HOUR));
    change("a1", "status", Some("open"), "solved", iso(a1 + 5 * HOUR));
    rating("r1", "a1", "good");
    // a2: first reply 7200 s; escalated normal → urgent (the time written
    // with an offset); solved after a day; rated bad on the ticket only.
    let a2 = MONDAY + 2 * DAY + 10 * HOUR;
    ticket("a2", Some("1"), a2, Some("bad"));
    message("a2", "agent", "public", a2 + 2 * HOUR, false);
    let plus_two = connector_platform::text::format_time(a2 + HOUR + 2 * HOUR).replace(' ', "T");
    change(
        "a2",
        "priority",
        Some("normal"),
        "urgent",
        format!("{plus_two}+02:00"),
    );
    change("a2", "status", Some("open"), "solved", iso(a2 + DAY));
    // Acme, week 3. a3: a chat whose agent line is at the creation (not a
    // reply); first reply 14400 s; not solved; offered on the ticket but
    // answered good in the ratings.
    let a3 = MONDAY + 14 * DAY + 8 * HOUR;
    ticket("a3", Some("1"), a3, Some("offered"));
    message("a3", "customer", "public", a3, true);
    message("a3", "agent", "public", a3, true);
    message("a3", "agent", "public", a3 + 4 * HOUR, false);
    rating("r3", "a3", "good");
    // a4: no reply; solved after 10 h; raised low → high; offered.
    let a4 = MONDAY + 15 * DAY;
    ticket("a4", Some("1"), a4, Some("offered"));
    change("a4", "priority", Some("low"), "high", iso(a4 + HOUR));
    change(
        "a4",
        "status",
        Some("pending"),
        "solved",
        iso(a4 + 10 * HOUR),
    );
    // Globex, week 2: replies after 600 s and 1200 s (median 900), solved
    // after 3600 s and 7200 s (median 5400); created urgent (no
    // escalation); one bad rating.
    let g1 = MONDAY + 7 * DAY + 12 * HOUR;
    ticket("g1", Some("2"), g1, None);
    message("g1", "agent", "public", g1 + 600, false);
    change("g1", "status", Some("new"), "solved", iso(g1 + HOUR));
    rating("r4", "g1", "bad");
    let g2 = MONDAY + 8 * DAY;
    ticket("g2", Some("2"), g2, None);
    message("g2", "agent", "public", g2 + 1200, false);
    change("g2", "priority", None, "urgent", iso(g2));
    change("g2", "status", Some("open"), "solved", iso(g2 + 2 * HOUR));
    // Not counted: a deleted Acme ticket, and a ticket of nobody's.
    put(
        db,
        "conversation",
        "a5",
        json!({"id": "a5", "organization_id": "1", "created_at": iso(MONDAY + 3 * DAY)}),
        true,
    );
    ticket("n1", None, MONDAY + 4 * DAY, Some("bad"));
    matching::run(db, CONNECTION).unwrap();
}

#[test]
fn signals_match_values_computed_by_hand() {
    let db = Database::in_memory().unwrap();
    signals_account(&db, true);
    let signals = signals::load(&db, CONNECTION, Range::default()).unwrap();
    let window = signals.window.clone().unwrap();
    assert_eq!(window.granularity, Granularity::Week);
    assert_eq!(
        window.periods,
        vec![MONDAY, MONDAY + 7 * DAY, MONDAY + 14 * DAY]
    );
    assert!(signals.history);
    assert_eq!(signals.unattributed, 1);
    let acme = CustomerSignals {
        customer_id: "acme".into(),
        name: "Acme".into(),
        tickets: 4,
        periods: vec![
            point(2, Some(4500), 1, 1),
            point(0, None, 0, 0),
            point(2, Some(14_400), 1, 0),
        ],
        first_reply: Some(7200),
        replied: 3,
        resolution: Some(36_000),
        resolved: 3,
        good: 2,
        bad: 1,
        offered: 1,
        escalated: 2,
        reopened: 1,
        ..CustomerSignals::default()
    };
    let globex = CustomerSignals {
        customer_id: "globex".into(),
        name: "Globex".into(),
        tickets: 2,
        periods: vec![
            point(0, None, 0, 0),
            point(2, Some(900), 0, 1),
            point(0, None, 0, 0),
        ],
        first_reply: Some(900),
        replied: 2,
        resolution: Some(5400),
        resolved: 2,
        good: 0,
        bad: 1,
        offered: 0,
        escalated: 0,
        reopened: 0,
        ..CustomerSignals::default()
    };
    // Customers without a matched organization, person or ticket are left out.
    assert_eq!(signals.customers, vec![acme, globex]);
    let table = signals::table(&signals, &ADVICE);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "TRENDS");
    assert!(
        lines[1].starts_with("Acme (acme): sentiment: too few customer messages"),
        "{table}"
    );
    let lines = &lines[4..];
    assert_eq!(
        columns(lines[1]),
        [
            "Acme (acme)",
            "4",
            "1.3",
            "2 0 2",
            "2h 00m",
            "10h 00m",
            "2",
            "1",
            "1",
            "2",
            "1",
            "-",
            "-",
            "67% of 3",
            "-",
            "67% of 3"
        ]
    );
    assert_eq!(
        columns(lines[2]),
        [
            "Globex (globex)",
            "2",
            "0.7",
            "0 2 0",
            "15m",
            "1h 30m",
            "0",
            "1",
            "0",
            "0",
            "0",
            "-",
            "-",
            "0% of 1",
            "-",
            "0% of 1"
        ]
    );
    assert!(
        table.contains("tickets created 2024-01-01 to 2024-01-16 (UTC; 3 weeks, from Monday)"),
        "{table}"
    );
    assert!(
        table.contains("ECSAT: not estimated: only 5 rated tickets"),
        "{table}"
    );
    assert!(table.contains("1 tickets are not attributed"), "{table}");
    assert!(!table.contains("n/a"), "{table}");

    let page = html::page(&signals);
    assert_eq!(
        page.matches("<svg").count(),
        2 * 4 + 2 + 2 + 1 + 3,
        "trends and sentiment per customer, satisfaction, volume, medians and escalations"
    );
    assert!(page.contains("Acme (acme): 2 tickets in the week of 2024-01-01"));
    assert!(page.contains("Globex (globex): median 15m over 2 tickets"));
    assert!(!page.contains("http"), "self-contained");
}

#[test]
fn signals_without_change_history_say_so() {
    let db = Database::in_memory().unwrap();
    signals_account(&db, false);
    let signals = signals::load(&db, CONNECTION, Range::default()).unwrap();
    assert!(!signals.history);
    let acme = &signals.customers[0];
    assert_eq!(
        (acme.first_reply, acme.good, acme.resolution, acme.escalated),
        (Some(7200), 2, None, 0)
    );
    let table = signals::table(&signals, &ADVICE);
    assert_eq!(
        columns(table.lines().nth(5).unwrap())[..11],
        [
            "Acme (acme)",
            "4",
            "1.3",
            "2 0 2",
            "2h 00m",
            "n/a",
            "2",
            "1",
            "1",
            "n/a",
            "n/a"
        ]
    );
    assert!(table.contains("n/a: no change history synced"), "{table}");
    let page = html::page(&signals);
    assert_eq!(page.matches("<svg").count(), 2 * 4 + 2 + 2 + 1 + 1);
    assert_eq!(page.matches("n/a: no change history synced").count(), 2);
}

/// The cells of a table line (columns are two or more spaces apart).
pub fn columns(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}
