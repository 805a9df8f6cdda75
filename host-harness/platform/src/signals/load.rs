//! Loading a connection's signals from the store: tickets, messages,
//! changes and ratings into [`TicketFacts`], customer messages scored
//! ([`crate::sentiment::stored::refresh`]), the satisfaction model fitted,
//! then each matched customer computed over the window.

use std::collections::{HashMap, HashSet};

use connector_runtime::ConnectorError;

use super::{customer, Change, MessageScore, SentimentTotals, Signals, TicketFacts};
use crate::ecsat::{self, Model};
use crate::model::Link;
use crate::records::{self, Conversation, Time};
use crate::sentiment::stored::{is_customer_message, refresh_visiting};
use crate::sentiment::{Scorer, Sentiment};
use crate::store::{read, visit, PlatformStore, Tombstones};
use crate::window::{Range, Window};

/// Load a connection's tickets, messages and changes and compute the
/// signals of every matched customer over `range` (run the matching
/// first). Customer messages new since the last run are scored and their
/// scores stored.
pub fn load(
    store: &dyn PlatformStore,
    connection: &str,
    range: Range,
) -> Result<Signals, ConnectorError> {
    let results = store.matching_results(connection)?;
    let linked: HashSet<&str> = results
        .organizations
        .iter()
        .filter_map(|o| o.decision.outcome.customer_id())
        .chain(results.people.iter().map(|l| l.customer_id.as_str()))
        .chain(results.conversations.iter().map(|l| l.customer_id.as_str()))
        .collect();
    let customers: Vec<(String, String)> = store
        .customers()?
        .into_iter()
        .filter(|c| linked.contains(c.id.as_str()))
        .map(|c| (c.id, c.name))
        .collect();
    let ticket_customer = Link::customers_by_key(&results.conversations);
    let conversations = read::<Conversation>(store, connection, Tombstones::Skip)?;
    let satisfaction = crate::satisfaction::by_ticket(store, connection, &conversations)?;
    let mut tickets: HashMap<&str, TicketFacts> = conversations
        .iter()
        .filter_map(|(key, ticket)| {
            let facts = TicketFacts {
                key: key.clone(),
                customer_id: ticket_customer.get(key.as_str()).map(|c| c.to_string()),
                created_at: ticket.created_at.as_ref().and_then(Time::unix)?,
                solved: matches!(ticket.status.as_deref(), Some("solved" | "closed")),
                satisfaction: satisfaction.get(key).and_then(|r| r.score.clone()),
                ..TicketFacts::default()
            };
            Some((key.as_str(), facts))
        })
        .collect();
    let mut history = false;
    visit::<records::Change>(store, connection, Tombstones::Skip, |_, c| {
        history = true;
        let ticket = c
            .conversation_id
            .as_deref()
            .and_then(|k| tickets.get_mut(k));
        let at = c.at.as_ref().and_then(Time::unix);
        if let (Some(t), Some(field), Some(at)) = (ticket, c.field, at) {
            t.apply(&Change {
                field,
                from: c.from,
                to: c.to,
                at,
            });
        }
        Ok(())
    })?;

    let scores = refresh_visiting(store, connection, &Scorer::default(), |m| {
        let public_reply =
            m.author_role.as_deref() == Some("agent") && m.visibility.as_deref() == Some("public");
        let customer = is_customer_message(m);
        let ticket = m
            .conversation_id
            .as_deref()
            .and_then(|k| tickets.get_mut(k));
        let at = m.created_at.as_ref().and_then(Time::unix);
        if let (Some(t), true) = (ticket, public_reply || customer) {
            t.customer_messages += usize::from(customer);
            if let (true, Some(at)) = (public_reply, at) {
                if at > t.created_at && t.first_reply_at.is_none_or(|first| at < first) {
                    t.first_reply_at = Some(at);
                }
            }
        }
    })?;
    let totals = SentimentTotals {
        scored: scores
            .messages
            .iter()
            .filter(|m| m.sentiment.score().is_some())
            .count(),
        not_english: scores.not_english(),
        computed: scores.computed,
    };
    for (key, sentiment) in scores.conversations() {
        if let Some(t) = tickets.get_mut(key) {
            t.sentiment = Some(sentiment);
        }
    }
    let model = fit_and_estimate(&mut tickets);

    let mut by_customer: HashMap<&str, (Vec<&TicketFacts>, Vec<MessageScore>)> = HashMap::new();
    for t in tickets.values() {
        if let Some(c) = &t.customer_id {
            by_customer.entry(c).or_default().0.push(t);
        }
    }
    for m in &scores.messages {
        let (Some(customer), Some(at)) = (ticket_customer.get(m.conversation_id.as_str()), m.at)
        else {
            continue;
        };
        let score = match m.sentiment {
            Sentiment::Scored(score) => Some(score),
            Sentiment::NotEnglish => None,
            Sentiment::NoText => continue,
        };
        by_customer
            .entry(customer)
            .or_default()
            .1
            .push(MessageScore {
                customer_id: customer.to_string(),
                at,
                score,
            });
    }
    let attributed = || tickets.values().filter(|t| t.customer_id.is_some());
    // An open end is the first ticket, and the last ticket or customer
    // message.
    let last_message = by_customer
        .values()
        .flat_map(|(_, messages)| messages.iter().map(|m| m.at))
        .max();
    let window = Window::resolve(
        range,
        attributed().map(|t| t.created_at).min(),
        attributed().map(|t| t.created_at).max().max(last_message),
    );
    let in_window = |t: &TicketFacts| window.as_ref().is_some_and(|w| w.contains(t.created_at));
    let unattributed = tickets
        .values()
        .filter(|t| t.customer_id.is_none() && in_window(t))
        .count();
    let outside = attributed().filter(|t| !in_window(t)).count();
    let mut out: Vec<super::CustomerSignals> = match &window {
        Some(window) => customers
            .iter()
            .map(|(id, name)| {
                let (own, messages) = by_customer.remove(id.as_str()).unwrap_or_default();
                let messages: Vec<&MessageScore> = messages.iter().collect();
                customer((id, name), &own, &messages, window)
            })
            .collect(),
        // No ticket has a time: the customers, with nothing measured.
        None => customers
            .iter()
            .map(|(id, name)| super::CustomerSignals {
                customer_id: id.clone(),
                name: name.clone(),
                ..Default::default()
            })
            .collect(),
    };
    out.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.name.cmp(&b.name)));
    Ok(Signals {
        connection: connection.to_string(),
        window,
        customers: out,
        history,
        unattributed,
        outside,
        sentiment: totals,
        model,
    })
}

/// Fit the satisfaction model on every rated ticket of the connection (in
/// key order, for stable folds) and estimate the solved tickets nobody
/// rated.
fn fit_and_estimate(tickets: &mut HashMap<&str, TicketFacts>) -> Model {
    let mut rated: Vec<(&str, ecsat::TicketFeatures, bool)> = tickets
        .iter()
        .filter_map(|(key, t)| Some((*key, t.features(), t.rated_good()?)))
        .collect();
    rated.sort_by(|a, b| (a.0.len(), a.0).cmp(&(b.0.len(), b.0)));
    let model = ecsat::fit(
        &rated
            .into_iter()
            .map(|(_, f, good)| (f, good))
            .collect::<Vec<_>>(),
    );
    if let Model::Fitted(fitted) = &model {
        for t in tickets.values_mut() {
            if t.solved && t.rated_good().is_none() {
                t.estimate = Some(fitted.probability_good(&t.features()));
            }
        }
    }
    model
}
