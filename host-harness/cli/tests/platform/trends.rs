//! Sentiment, trends and estimated satisfaction on a simulated account
//! whose customers' moods drive both what they write and how they rate
//! (the simulator's `souring_organization` customers grow unhappier over
//! the history).

use connector_platform::ecsat::{Model, MIN_RATINGS};
use connector_platform::signals::trend::Direction;
use connector_platform::window::Range;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn sentiment_tracks_satisfaction_and_souring_customers_fall() {
    let place = StoreKind::Sqlite.fresh();
    let db = Store::open(&place.db_argument()).unwrap();
    let _sim = sync_simulated_account(
        &db,
        SimConfig {
            tickets: 1500,
            users: 300,
            organizations: 10,
            history_days: 140,
            ..SimConfig::default()
        },
    )
    .await;
    let raw = RawAccount::read(&db);
    import_customers(db.platform(), &raw.customer_list());
    matching::run(db.platform(), CONNECTION).unwrap();
    let signals = signals::load(db.platform(), CONNECTION, Range::default()).unwrap();

    // The model learns the ratings from the signals and beats always
    // guessing the majority score on tickets it was not fitted on.
    let Model::Fitted(model) = &signals.model else {
        panic!("no model: {:?}", signals.model);
    };
    assert!(model.rated >= MIN_RATINGS, "{}", model.rated);
    assert!(
        model.accuracy > model.baseline,
        "accuracy {} vs baseline {}",
        model.accuracy,
        model.baseline
    );
    let estimated: usize = signals.customers.iter().map(|c| c.estimated.tickets).sum();
    assert!(estimated > 0, "solved tickets nobody rated are estimated");
    for c in &signals.customers {
        let (_, n) = c.combined_satisfaction().unwrap_or((0.0, 0));
        assert_eq!(n, c.good + c.bad + c.estimated.tickets, "{}", c.label());
    }

    // Every souring organization's customer shows a falling trend, with
    // conversations that turned sour; most of the others do not fall.
    let mut orgs: Vec<&Value> = raw.orgs.iter().collect();
    orgs.sort_by_key(|o| o["id"].as_u64());
    let souring: Vec<String> = orgs
        .iter()
        .enumerate()
        .filter(|(i, _)| zendesk_sim::souring_organization(*i))
        .map(|(_, o)| format!("c{}", o["id"]))
        .collect();
    assert!(!souring.is_empty());
    let mut steady_falling = 0;
    for c in &signals.customers {
        let trend = c.sentiment.trend.as_ref();
        if souring.contains(&c.customer_id) {
            let trend = trend.unwrap_or_else(|| panic!("{} has no trend", c.label()));
            assert_eq!(
                trend.direction,
                Direction::Falling,
                "{}: {trend:?}",
                c.label()
            );
            assert!(!c.sentiment.drops.is_empty(), "{}", c.label());
        } else if trend.is_some_and(|t| t.direction == Direction::Falling) {
            steady_falling += 1;
        }
    }
    assert!(
        steady_falling * 2 < signals.customers.len() - souring.len(),
        "{steady_falling} steady customers fall"
    );

    // German and French messages are counted, not scored.
    assert!(signals.sentiment.not_english > 0);
    assert!(signals.sentiment.scored > signals.sentiment.not_english);

    // A narrower window leaves older tickets out and says how many.
    let newest = signals.window.as_ref().unwrap().until;
    let recent = signals::load(db.platform(), CONNECTION, Range::last_weeks(newest, 8)).unwrap();
    assert!(recent.outside > 0);
    assert_eq!(recent.window.as_ref().unwrap().periods.len(), 9);
    assert_eq!(recent.sentiment.computed, 0, "scores are reused");
    let table = signals::table(
        &recent,
        &signals::Advice {
            no_customers: "",
            unattributed: "",
            whole_history: "ALL",
        },
    );
    assert!(
        table.contains(&format!(
            "{} tickets were created outside the window; ALL",
            recent.outside
        )),
        "{table}"
    );
}
