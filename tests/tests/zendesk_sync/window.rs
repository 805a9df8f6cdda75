//! The import window: tickets created before it come with all their
//! comments, and a rate-limited first import splits the comments between
//! the export, the account-wide audit list and the per-ticket endpoint,
//! each comment arriving once.

use super::*;

/// A value the connector keeps in its storage, as JSON.
fn stored(env: &Env, connection: &str, key: &str) -> Value {
    let value = env.db.key_value().get(connection, key).unwrap();
    serde_json::from_slice(&value.unwrap_or_else(|| panic!("no {key} stored"))).unwrap()
}

/// Messages written by more than one stream (the same key twice).
fn duplicated_messages(env: &Env, connection: &str) -> i64 {
    env.sqlite()
        .lock()
        .query_row(
            "SELECT COUNT(*) FROM (SELECT key FROM records WHERE connection = ?1 AND kind = 'message'
             GROUP BY key HAVING COUNT(*) > 1)",
            [connection],
            |r| r.get(0),
        )
        .unwrap()
}

/// Every comment a first import split at `split` delivers, each once.
fn assert_each_comment_once(env: &Env, truth: &zendesk_sim::GroundTruth, split: u64) {
    let (messages, _) = env.ids("acme", "message");
    assert_eq!(
        messages,
        truth.comments_with_split_at(split as i64, env.first_import),
        "comments"
    );
    assert_eq!(duplicated_messages(env, "acme"), 0);
    env.assert_no_absent_conversations("acme");
}

/// The comments of `tickets` in the ground truth.
fn comments_of(truth: &zendesk_sim::GroundTruth, tickets: &BTreeSet<u64>) -> BTreeSet<u64> {
    truth
        .comment_tickets
        .iter()
        .filter(|(_, ticket)| tickets.contains(ticket))
        .map(|(comment, _)| *comment)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tickets_created_before_the_window_come_with_all_their_comments() {
    // History longer than the connector's 90 days: old unsolved tickets, and
    // old tickets updated inside the window, are imported; their earlier
    // comments come per ticket.
    let env = env(SimConfig {
        history_days: 150,
        ..tickets(600)
    })
    .await;
    let recipe = env.token_recipe("acme");
    sync_to_the_end(&env.db, &recipe).await;
    let truth = env.sim.ground_truth("acme");
    let (live, deleted) = env.ids("acme", "conversation");
    assert!(live.is_subset(&truth.tickets.live()));
    assert!(deleted.is_subset(&truth.tickets.deleted));
    let window = stored(&env, "acme", "first-import")["start_time"]
        .as_u64()
        .unwrap();
    assert_eq!(
        stored(&env, "acme", "comment-split")["start"].as_u64(),
        Some(window),
        "no rate limits: the comments export starts at the window"
    );

    let (messages, _) = env.ids("acme", "message");
    assert_eq!(
        comments_of(&truth, &live),
        &messages & &comments_of(&truth, &live),
        "every comment of every imported ticket"
    );
    let imported: BTreeSet<u64> = &live | &deleted;
    assert!(
        messages.is_subset(&comments_of(&truth, &imported)),
        "no comment of a ticket not imported"
    );
    assert_eq!(
        duplicated_messages(&env, "acme"),
        0,
        "each comment once, over both comment streams"
    );
    // Tickets deleted before the import (in the window: tombstones; before
    // it: absent) have no messages, though the events export carries the
    // comments made in the window.
    let deleted_before = comments_of(&truth, &truth.deleted_before(env.first_import));
    let in_window = deleted_before
        .iter()
        .filter(|c| truth.comments.versions[c].updated_at as u64 >= window)
        .count();
    assert!(
        in_window > 5,
        "{in_window} comments of deleted tickets in the window"
    );
    assert!(
        messages.is_disjoint(&deleted_before),
        "no message of a ticket deleted before the import"
    );
    env.assert_no_absent_conversations("acme");

    // Tickets older than the window were imported, and the per-ticket
    // endpoint read only those.
    let older: Vec<u64> = live
        .iter()
        .copied()
        .filter(|id| {
            comments_of(&truth, &BTreeSet::from([*id]))
                .iter()
                .any(|c| (truth.comments.versions[c].updated_at as u64) < window)
        })
        .collect();
    assert!(older.len() > 20, "{} older tickets", older.len());
    let per_ticket = env.sim.request_counts()["ticket_comments"] as usize;
    assert!(
        per_ticket >= older.len() && per_ticket <= older.len() + 20,
        "{per_ticket} requests for {} tickets",
        older.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_comment_of_a_ticket_created_just_before_the_window_is_imported() {
    // The simulator's history and the connector's window are both 90 days:
    // ticket 1 was created minutes before the window and updated inside it.
    let env = env(tickets(200)).await;
    let report = run_sync(&env.db, &env.token_recipe("acme"), SyncOptions::default()).await;
    assert_all_done(&report);
    let (live, _) = env.ids("acme", "conversation");
    let (messages, _) = env.ids("acme", "message");
    assert!(live.contains(&1));
    assert!(messages.contains(&1_000_000_001_000));
    let truth = env.sim.ground_truth("acme");
    assert!(comments_of(&truth, &live).is_subset(&messages));
}

/// 6000 tickets over 60 days under Zendesk's Enterprise budgets, a
/// simulated minute per second.
fn enterprise_account() -> SimConfig {
    SimConfig {
        history_days: 60,
        rate_limits: zendesk_sim::RateLimits::plan("enterprise"),
        time_scale: 60.0,
        ..tickets(6000)
    }
}

/// The date (`YYYY-MM-DD`, UTC) of Unix seconds `at`.
fn date_of(at: i64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = at.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Change records of `stream` made before `split`, and after it.
fn changes_around(env: &Env, stream: &str, split: u64) -> (i64, i64) {
    let db = env.sqlite().lock();
    let count = |op: &str| -> i64 {
        db.query_row(
            &format!(
                "SELECT COUNT(*) FROM records WHERE connection = 'acme' AND kind = 'change'
                 AND stream = ?1 AND unixepoch(json_extract(data, '$.at')) {op} ?2"
            ),
            (stream, split as i64),
            |r| r.get(0),
        )
        .unwrap()
    };
    (count("<"), count(">="))
}

/// Under Zendesk's budgets, with 10% of the tickets archived and the whole
/// history imported: the comments and field changes made before the split
/// come from the account-wide audit list for the tickets it lists, those of
/// archived tickets per ticket, later ones from the export; each comment
/// exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_first_import_reads_the_older_history_from_the_audit_list() {
    let env = env(SimConfig {
        archived_share: 0.1,
        ..enterprise_account()
    })
    .await;
    let mut config = env.token_config("acme");
    // Archived tickets span 60 days ending 135 days ago.
    config["start_date"] = json!(date_of(env.sim.now() - 200 * 86_400));
    let recipe = env.recipe("acme", config, "api_token");
    sync_to_the_end(&env.db, &recipe).await;

    let truth = env.sim.ground_truth("acme");
    let (live, _) = env.ids("acme", "conversation");
    assert_eq!(live, truth.tickets.live(), "live tickets");
    let split = stored(&env, "acme", "comment-split");
    assert_eq!(split["audits"], true, "{split}");
    let split = split["start"].as_u64().unwrap();
    assert_each_comment_once(&env, &truth, split);
    let counts = env.sim.request_counts();
    let walked = counts.get("all_ticket_audits").copied().unwrap_or(0);
    assert!(walked >= 2, "the audit list was not walked: {counts:?}");
    // Per ticket: the archived tickets alone (the list leaves them out).
    let per_ticket = counts.get("ticket_comments").copied().unwrap_or(0);
    let archived = truth.archived.len() as u64;
    assert!(
        per_ticket > 0 && per_ticket <= 2 * archived,
        "{per_ticket} per ticket, {archived} archived: {counts:?}"
    );
    // The field changes made before the split came from the audit list.
    let (before, after) = changes_around(&env, "ticket_comments_backfill", split);
    assert!(before > 100 && after == 0, "{before} before, {after} after");
    let (before, _) = changes_around(&env, "ticket_comments", split);
    assert_eq!(before, 0, "the export delivers no change before the split");
}

/// The same budgets with the audit list switched off (`use_audit_list`):
/// today's two-way split, every earlier comment per ticket.
#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_first_import_splits_the_comments_between_the_budgets() {
    let env = env(enterprise_account()).await;
    let mut config = env.token_config("acme");
    config["use_audit_list"] = json!(false);
    let recipe = env.recipe("acme", config, "api_token");
    sync_to_the_end(&env.db, &recipe).await;
    assert_eq!(stored(&env, "acme", "comment-split")["audits"], false);
    assert_eq!(env.sim.request_counts().get("all_ticket_audits"), None);

    let truth = env.sim.ground_truth("acme");
    let (live, deleted) = env.ids("acme", "conversation");
    assert_eq!(live, truth.tickets.live(), "live tickets");
    assert!(
        deleted.is_subset(&truth.tickets.deleted),
        "tickets deleted before the import get no tombstone from the search"
    );
    let counts = env.sim.request_counts();
    assert!(counts["search_export"] >= 3, "{counts:?}");

    // The comments split at a point inside the window: earlier ones came
    // per ticket, later ones in bulk, each exactly once.
    let window = stored(&env, "acme", "first-import")["start_time"]
        .as_u64()
        .unwrap();
    let split = stored(&env, "acme", "comment-split")["start"]
        .as_u64()
        .unwrap();
    let first = truth
        .comments
        .versions
        .values()
        .map(|v| v.updated_at as u64)
        .min()
        .unwrap();
    assert!(split > window && split > first, "split {split}");
    assert!(counts["ticket_comments"] > 100, "{counts:?}");
    assert_each_comment_once(&env, &truth, split);
    // Tickets deleted before the import: the search never saw them, and
    // the events export's comments and changes of theirs are dropped.
    let deleted_before = truth.deleted_before(env.first_import);
    let late = comments_of(&truth, &deleted_before)
        .into_iter()
        .filter(|c| truth.comments.versions[c].updated_at >= split as i64)
        .count();
    assert!(
        late > 20,
        "{late} comments of deleted tickets after the split"
    );

    // Field changes, escalations among them.
    let escalations: i64 = env
        .sqlite()
        .lock()
        .query_row(
            "SELECT COUNT(*) FROM records WHERE connection = 'acme' AND kind = 'change'
             AND json_extract(data, '$.field') = 'priority' AND json_extract(data, '$.from') = 'normal'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(escalations > 0);
}
