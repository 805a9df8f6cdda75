//! Customer sentiment on the store: which messages are scored, scores kept
//! and recomputed only for new or changed messages, and what documents and
//! signals show of them.

mod common;

use connector_platform::documents::DocumentOptions;
use connector_platform::sentiment::stored::refresh;
use connector_platform::sentiment::{Scorer, Sentiment};
use connector_platform::signals;
use connector_platform::window::Range;
use connector_platform::{matching, PlatformStore};
use connector_store_sqlite::Database;
use serde_json::json;

use common::*;

fn message(
    db: &Database,
    key: &str,
    ticket: &str,
    role: &str,
    visibility: &str,
    at: i64,
    body: &str,
) {
    put(
        db,
        "message",
        key,
        json!({"id": key, "conversation_id": ticket, "comment_id": key, "author_role": role,
               "visibility": visibility, "created_at": iso(at), "body": body}),
        false,
    );
}

/// One customer's ticket: an angry start, a quoted agent reply, a German
/// line, an agent's and an internal note (not the customer's), then relief.
fn sentiment_account(db: &Database) {
    import_customers(db, "id,name,domains\nacme,Acme,acme.com\n");
    put(
        db,
        "account",
        "1",
        json!({"id": "1", "name": "Acme", "domains": ["acme.com"]}),
        false,
    );
    let t = MONDAY + HOUR;
    put(
        db,
        "conversation",
        "7",
        json!({"id": "7", "organization_id": "1", "created_at": iso(t), "updated_at": iso(t + DAY),
               "status": "solved"}),
        false,
    );
    message(
        db,
        "m1",
        "7",
        "customer",
        "public",
        t,
        "This is terrible, nothing works!",
    );
    message(
        db,
        "m2",
        "7",
        "customer",
        "public",
        t + HOUR,
        "Still broken.\n\nOn Mon, 1 Jan 2024, Support <s@acme.zendesk.com> wrote:\n> Great, happy to help!",
    );
    message(
        db,
        "m3",
        "7",
        "customer",
        "public",
        t + 2 * HOUR,
        "Seit heute Morgen funktioniert der Export bei uns nicht mehr, bitte helfen Sie uns.",
    );
    message(
        db,
        "m4",
        "7",
        "agent",
        "public",
        t + 3 * HOUR,
        "Wonderful, glad to help!",
    );
    message(
        db,
        "m5",
        "7",
        "customer",
        "internal",
        t + 3 * HOUR,
        "Awful awful awful",
    );
    message(
        db,
        "m6",
        "7",
        "customer",
        "public",
        t + 4 * HOUR,
        "Thanks, it works great now!",
    );
    matching::run(db, CONNECTION).unwrap();
}

#[test]
fn customer_messages_are_scored_once_and_again_when_they_change() {
    let db = Database::in_memory().unwrap();
    sentiment_account(&db);
    let scorer = Scorer::default();
    let first = refresh(&db, CONNECTION, &scorer).unwrap();
    let keys: Vec<&str> = first.messages.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        ["m1", "m2", "m3", "m6"],
        "customers' public messages only"
    );
    assert_eq!((first.computed, first.reused), (4, 0));
    let score = |key: &str| {
        first
            .messages
            .iter()
            .find(|m| m.key == key)
            .unwrap()
            .sentiment
    };
    assert!(score("m1").score().unwrap() < -0.4);
    assert!(
        score("m2").score().unwrap() < 0.0,
        "the quoted agent line does not count"
    );
    assert_eq!(score("m3"), Sentiment::NotEnglish);
    assert!(score("m6").score().unwrap() > 0.5);
    assert_eq!(db.sentiment_scores(CONNECTION).unwrap().len(), 4);

    // Nothing changed: every score is reused.
    let again = refresh(&db, CONNECTION, &scorer).unwrap();
    assert_eq!((again.computed, again.reused), (0, 4));
    assert_eq!(again.messages, first.messages);

    // An edited message is scored again; a deleted one's score is dropped.
    message(
        &db,
        "m1",
        "7",
        "customer",
        "public",
        MONDAY + HOUR,
        "Thank you, wonderful!",
    );
    put(&db, "message", "m6", json!({"id": "m6"}), true);
    let edited = refresh(&db, CONNECTION, &scorer).unwrap();
    assert_eq!((edited.computed, edited.reused), (1, 2));
    assert!(edited.messages[0].sentiment.score().unwrap() > 0.5);
    let stored = db.sentiment_scores(CONNECTION).unwrap();
    assert_eq!(stored.len(), 3);
    assert!(!stored.contains_key("m6"));

    // Forgetting the connection forgets its scores.
    let removed = db.forget_connection(CONNECTION).unwrap();
    assert!(removed.contains(&("message_sentiment", 3)), "{removed:?}");
}

#[test]
fn documents_and_signals_carry_the_sentiment() {
    let db = Database::in_memory().unwrap();
    sentiment_account(&db);
    let docs = export(&db, DocumentOptions::default());
    let s = &docs[0]["sentiment"];
    assert_eq!(s["scored"], 3);
    assert_eq!(s["not_english"], 1);
    let outcomes: Vec<&str> = s["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["scored", "scored", "not_english", "scored"]);
    assert!(s["first"].as_f64().unwrap() < -0.4 && s["last"].as_f64().unwrap() > 0.5);
    assert_eq!(s["min"], s["first"]);
    assert_eq!(s["messages"][2]["score"], json!(null));
    assert_eq!(s["messages"][0]["at"], "2024-01-01T01:00:00Z");

    let signals = signals::load(&db, CONNECTION, Range::default()).unwrap();
    let acme = &signals.customers[0].sentiment;
    assert_eq!(
        (acme.messages, acme.not_english, acme.conversations),
        (3, 1, 1)
    );
    assert!(acme.drops.is_empty(), "it rose: {:?}", acme.drops);
    assert_eq!(
        (signals.sentiment.scored, signals.sentiment.not_english),
        (3, 1)
    );
    assert_eq!(signals.sentiment.computed, 0, "the export stored them");
}
