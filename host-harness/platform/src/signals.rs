//! Support signals per customer (`connector-host report`), over the tickets
//! the matching attributed to a customer:
//!
//! * **volume**: tickets created per week (UTC weeks starting on Monday);
//! * **first reply time**: from the ticket's creation to the first public
//!   message by an agent after it (chat lines of the transcript that opened
//!   the ticket were written before it existed and do not count), median
//!   over the tickets that have one;
//! * **resolution time**: from creation to the first change of status to
//!   `solved`, median over the tickets that have one (nothing is guessed
//!   for the others);
//! * **satisfaction**: tickets rated good, rated bad, and offered a survey
//!   not answered;
//! * **escalations**: tickets whose priority was raised to high or urgent
//!   after their creation, and tickets reopened (status from solved or
//!   closed back to new, open, pending or hold).
//!
//! Resolution and escalations read `change` records (`{"conversation_id",
//! "field", "from", "to", "at"}`, fields `status` and `priority`); without
//! any, they are reported as not available rather than as zero. A median of
//! an even count is the mean of the two middle values, rounded down.

use std::collections::{BTreeMap, HashMap, HashSet};

use connector_runtime::ConnectorError;

use crate::model::Link;
use crate::records::{self, Conversation, Message, Time};
use crate::store::{read, visit, PlatformStore, Tombstones};

/// Seconds in a week.
pub const WEEK: i64 = 7 * 86_400;

/// The Monday 00:00 UTC starting the week of `t` (Unix seconds).
pub fn week_start(t: i64) -> i64 {
    let day = t.div_euclid(86_400);
    // 1970-01-01 was a Thursday: three days after a Monday.
    (day - (day + 3).rem_euclid(7)) * 86_400
}

/// The median, or `None` without values.
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]).div_euclid(2)
    })
}

/// A duration for people: `45s`, `12m`, `3h 05m`, `2d 4h`.
pub fn format_duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// What the signals need of one ticket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketFacts {
    /// The customer it is attributed to.
    pub customer_id: String,
    /// Creation (Unix seconds).
    pub created_at: i64,
    /// The first public agent message after creation.
    pub first_reply_at: Option<i64>,
    /// The first change of status to `solved`.
    pub solved_at: Option<i64>,
    /// `good`, `bad` or `offered`.
    pub satisfaction: Option<String>,
    /// Priority raised to high or urgent after creation.
    pub escalated: bool,
    /// Status moved back from solved or closed.
    pub reopened: bool,
}

/// One change of a ticket's status or priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `status` or `priority`.
    pub field: String,
    /// The value before.
    pub from: Option<String>,
    /// The value after.
    pub to: Option<String>,
    /// When (Unix seconds).
    pub at: i64,
}

fn priority_rank(priority: Option<&str>) -> u8 {
    match priority {
        Some("low") => 1,
        Some("normal") => 2,
        Some("high") => 3,
        Some("urgent") => 4,
        _ => 0,
    }
}

impl TicketFacts {
    /// Take a change of the ticket into account (in any order).
    pub fn apply(&mut self, change: &Change) {
        let (from, to) = (change.from.as_deref(), change.to.as_deref());
        match change.field.as_str() {
            "status" => {
                if to == Some("solved") && self.solved_at.is_none_or(|t| change.at < t) {
                    self.solved_at = Some(change.at);
                }
                if matches!(from, Some("solved" | "closed"))
                    && matches!(to, Some("new" | "open" | "pending" | "hold"))
                {
                    self.reopened = true;
                }
            }
            "priority" => {
                let raised = priority_rank(to) >= 3 && priority_rank(to) > priority_rank(from);
                if raised && change.at > self.created_at {
                    self.escalated = true;
                }
            }
            _ => {}
        }
    }
}

/// The signals of one customer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerSignals {
    /// The customer's id.
    pub customer_id: String,
    /// The customer's name.
    pub name: String,
    /// Tickets attributed.
    pub tickets: usize,
    /// Tickets created per week, aligned with [`Signals::weeks`].
    pub weekly: Vec<usize>,
    /// Median first reply time (seconds).
    pub first_reply: Option<i64>,
    /// Tickets with a first reply.
    pub replied: usize,
    /// Median resolution time (seconds).
    pub resolution: Option<i64>,
    /// Tickets with a resolution time.
    pub resolved: usize,
    /// Tickets rated good.
    pub good: usize,
    /// Tickets rated bad.
    pub bad: usize,
    /// Tickets offered a survey not (yet) answered.
    pub offered: usize,
    /// Tickets whose priority was raised to high or urgent.
    pub escalated: usize,
    /// Tickets reopened.
    pub reopened: usize,
}

impl CustomerSignals {
    /// `Name (id)`, as tables and charts show a customer.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.customer_id)
    }
}

/// The signals of every matched customer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// The connection.
    pub connection: String,
    /// Monday 00:00 UTC of each week, oldest first, from the first ticket's
    /// week to the last one's.
    pub weeks: Vec<i64>,
    /// Customers, most tickets first.
    pub customers: Vec<CustomerSignals>,
    /// Whether any `change` record was synced (else resolution and
    /// escalations are not available).
    pub history: bool,
    /// Tickets not attributed to any customer.
    pub unattributed: usize,
}

/// Compute the signals of `customers` (id, name) from their tickets.
pub fn compute(
    connection: &str,
    tickets: &[TicketFacts],
    customers: &[(String, String)],
    history: bool,
    unattributed: usize,
) -> Signals {
    let weeks: Vec<i64> = match (
        tickets.iter().map(|t| t.created_at).min(),
        tickets.iter().map(|t| t.created_at).max(),
    ) {
        (Some(first), Some(last)) => (week_start(first)..=week_start(last))
            .step_by(WEEK as usize)
            .collect(),
        _ => Vec::new(),
    };
    let mut by_customer: BTreeMap<&str, Vec<&TicketFacts>> = BTreeMap::new();
    for t in tickets {
        by_customer.entry(&t.customer_id).or_default().push(t);
    }
    let mut out: Vec<CustomerSignals> = customers
        .iter()
        .map(|(id, name)| {
            let own = by_customer.remove(id.as_str()).unwrap_or_default();
            let mut weekly = vec![0; weeks.len()];
            for t in &own {
                let index = ((week_start(t.created_at) - weeks[0]) / WEEK) as usize;
                weekly[index] += 1;
            }
            let mut replies: Vec<i64> = own
                .iter()
                .filter_map(|t| Some(t.first_reply_at? - t.created_at))
                .collect();
            let mut resolutions: Vec<i64> = own
                .iter()
                .filter_map(|t| Some(t.solved_at? - t.created_at))
                .filter(|d| *d >= 0)
                .collect();
            let score = |s: &str| {
                own.iter()
                    .filter(|t| t.satisfaction.as_deref() == Some(s))
                    .count()
            };
            CustomerSignals {
                customer_id: id.clone(),
                name: name.clone(),
                tickets: own.len(),
                weekly,
                replied: replies.len(),
                first_reply: median(&mut replies),
                resolved: resolutions.len(),
                resolution: median(&mut resolutions),
                good: score("good"),
                bad: score("bad"),
                offered: score("offered"),
                escalated: own.iter().filter(|t| t.escalated).count(),
                reopened: own.iter().filter(|t| t.reopened).count(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.name.cmp(&b.name)));
    Signals {
        connection: connection.to_string(),
        weeks,
        customers: out,
        history,
        unattributed,
    }
}

/// Load a connection's tickets, messages and changes and compute the
/// signals of every matched customer (run the matching first).
pub fn load(store: &dyn PlatformStore, connection: &str) -> Result<Signals, ConnectorError> {
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
    let unattributed = conversations
        .iter()
        .filter(|(key, _)| !ticket_customer.contains_key(key.as_str()))
        .count();
    let mut tickets: HashMap<&str, TicketFacts> = conversations
        .iter()
        .filter_map(|(key, ticket)| {
            let facts = TicketFacts {
                customer_id: ticket_customer.get(key.as_str())?.to_string(),
                created_at: ticket.created_at.as_ref().and_then(Time::unix)?,
                satisfaction: satisfaction.get(key).and_then(|r| r.score.clone()),
                ..TicketFacts::default()
            };
            Some((key.as_str(), facts))
        })
        .collect();
    visit::<Message>(store, connection, Tombstones::Skip, |_, m| {
        let public_reply =
            m.author_role.as_deref() == Some("agent") && m.visibility.as_deref() == Some("public");
        let ticket = m
            .conversation_id
            .as_deref()
            .and_then(|k| tickets.get_mut(k));
        let at = m.created_at.as_ref().and_then(Time::unix);
        if let (true, Some(t), Some(at)) = (public_reply, ticket, at) {
            if at > t.created_at && t.first_reply_at.is_none_or(|first| at < first) {
                t.first_reply_at = Some(at);
            }
        }
        Ok(())
    })?;
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
    let facts: Vec<TicketFacts> = tickets.into_values().collect();
    Ok(compute(
        connection,
        &facts,
        &customers,
        history,
        unattributed,
    ))
}

/// What stands for a value that cannot be computed without change history.
const NO_HISTORY: &str = "n/a";

/// The signals as cells: a header and a row per customer (`n/a` where
/// change history is missing, `-` where there is nothing to measure).
pub fn cells(signals: &Signals) -> (Vec<String>, Vec<Vec<String>>) {
    let recent = signals.weeks.len().min(8);
    let history = |n: usize| {
        if signals.history {
            n.to_string()
        } else {
            NO_HISTORY.into()
        }
    };
    let rows = signals
        .customers
        .iter()
        .map(|c| {
            vec![
                c.label(),
                c.tickets.to_string(),
                format!(
                    "{:.1}",
                    c.tickets as f64 / signals.weeks.len().max(1) as f64
                ),
                c.weekly[c.weekly.len() - recent..]
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                c.first_reply.map_or("-".into(), format_duration),
                match (signals.history, c.resolution) {
                    (false, _) => NO_HISTORY.into(),
                    (true, None) => "-".into(),
                    (true, Some(d)) => format_duration(d),
                },
                c.good.to_string(),
                c.bad.to_string(),
                c.offered.to_string(),
                history(c.escalated),
                history(c.reopened),
            ]
        })
        .collect();
    let header = [
        "CUSTOMER",
        "TICKETS",
        "PER WEEK",
        &format!("LAST {recent} WEEKS"),
        "FIRST REPLY",
        "RESOLUTION",
        "GOOD",
        "BAD",
        "OFFERED",
        "ESCALATED",
        "REOPENED",
    ]
    .map(str::to_string)
    .to_vec();
    (header, rows)
}

/// What the signals table advises people to do, in the words of the
/// program that shows it.
#[derive(Clone, Copy, Debug)]
pub struct Advice<'a> {
    /// What to do when no customer is matched: follows `no matched
    /// customers: `.
    pub no_customers: &'a str,
    /// Where to see why tickets have no customer: follows `N tickets are
    /// not attributed to a customer; `.
    pub unattributed: &'a str,
}

/// The signals as a table, with notes on what they cover.
pub fn table(signals: &Signals, advice: &Advice<'_>) -> String {
    if signals.customers.is_empty() {
        return format!("no matched customers: {}\n", advice.no_customers);
    }
    let (header, rows) = cells(signals);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = crate::text::table(&header, &rows);
    if let (Some(first), Some(last)) = (signals.weeks.first(), signals.weeks.last()) {
        out.push_str(&format!(
            "\nweeks of ticket creation (UTC, from Monday): {} to {} ({} weeks); FIRST REPLY and RESOLUTION are medians\n",
            &crate::text::format_time(*first)[..10],
            &crate::text::format_time(*last)[..10],
            signals.weeks.len()
        ));
    }
    if !signals.history {
        out.push_str(
            "n/a: no change history synced (records of kind `change`): resolution time, \
             escalations and reopened tickets are not available\n",
        );
    }
    if signals.unattributed > 0 {
        out.push_str(&format!(
            "{} tickets are not attributed to a customer; {}\n",
            signals.unattributed, advice.unattributed
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        // 2024-01-01 was a Monday.
        let monday = 1_704_067_200;
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday + 6 * 86_400 + 86_399), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK);
        assert_eq!(week_start(0), -3 * 86_400);
    }

    #[test]
    fn medians_and_durations() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 10]), Some(3));
        assert_eq!(format_duration(59), "59s");
        assert_eq!(format_duration(600), "10m");
        assert_eq!(format_duration(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(format_duration(2 * 86_400 + 4 * 3600 + 59), "2d 4h");
    }

    fn change(field: &str, from: Option<&str>, to: &str, at: i64) -> Change {
        Change {
            field: field.into(),
            from: from.map(str::to_string),
            to: Some(to.into()),
            at,
        }
    }

    #[test]
    fn changes_give_resolution_escalation_and_reopening() {
        let mut t = TicketFacts {
            created_at: 100,
            ..TicketFacts::default()
        };
        t.apply(&change("priority", Some("normal"), "urgent", 100));
        assert!(
            !t.escalated,
            "the priority a ticket is created with is no escalation"
        );
        t.apply(&change("priority", Some("urgent"), "high", 150));
        assert!(!t.escalated, "lowered");
        t.apply(&change("status", Some("open"), "solved", 900));
        t.apply(&change("status", Some("solved"), "open", 950));
        t.apply(&change("status", Some("new"), "solved", 500));
        assert_eq!(t.solved_at, Some(500), "the first solve counts");
        assert!(t.reopened);
        t.apply(&change("priority", None, "high", 200));
        assert!(t.escalated);
    }
}
