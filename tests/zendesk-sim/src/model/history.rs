//! A ticket's history — audits, their events and comments — derived on demand from the seed,
//! the ticket's stored state and the audits mutations added.

use serde_json::{json, Value};

use super::text::{self, Tone, Voice, UPSET_BELOW};
use super::{Account, Channel, Role, Status, TicketFacts, TicketState, D_AUDIT, D_TONE};
use crate::rng::Draw;
use crate::timefmt;

const COMMENT_BASE: u64 = 1_000_000_000_000;
const AUDIT_BASE: u64 = 2_000_000_000_000;
const EVENT_BASE: u64 = 3_000_000_000_000;

/// The id of audit `k` of a ticket.
pub(crate) fn audit_id(ticket: u64, k: u64) -> u64 {
    AUDIT_BASE + ticket * 1000 + k
}

/// The ticket and audit index an audit id stands for.
pub(crate) fn split_audit_id(id: u64) -> Option<(u64, u64)> {
    let rest = id.checked_sub(AUDIT_BASE)?;
    (rest < COMMENT_BASE).then_some((rest / 1000, rest % 1000))
}

/// A ticket audit: one change of the ticket, with its events.
#[derive(Clone, Debug)]
pub(crate) struct Audit {
    pub id: u64,
    pub ticket_id: u64,
    pub created_at: i64,
    /// Index of the author in the account's users.
    pub author: usize,
    pub channel: Channel,
    pub comment: Option<Comment>,
    pub events: Vec<Event>,
}

/// A comment (public reply or internal note).
#[derive(Clone, Debug)]
pub(crate) struct Comment {
    pub id: u64,
    pub audit_id: u64,
    pub author: usize,
    pub public: bool,
    pub body: String,
    pub channel: Channel,
    pub created_at: i64,
}

/// An event of an audit other than its comment.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// A field set at creation.
    Create {
        id: u64,
        field: &'static str,
        value: Value,
    },
    /// A field changed.
    Change {
        id: u64,
        field: &'static str,
        value: Value,
        previous: Value,
    },
    /// The chat that created the ticket, message by message.
    ChatStarted {
        id: u64,
        chat_id: String,
        visitor_id: String,
        history: Vec<ChatMessage>,
    },
}

/// One message of a chat.
#[derive(Clone, Debug)]
pub(crate) struct ChatMessage {
    pub customer: bool,
    pub actor: usize,
    pub actor_name: String,
    pub message: String,
    pub timestamp_ms: i64,
}

impl Account {
    /// Every audit of a ticket, oldest first (empty for an unknown ticket).
    pub(crate) fn audits(&self, ticket_id: u64, facts: &TicketFacts) -> Vec<Audit> {
        let Some(t) = self.ticket(ticket_id) else {
            return Vec::new();
        };
        let total = u64::from(t.base_audits) + u64::from(t.extra_audits);
        (0..total)
            .filter_map(|k| self.audit(ticket_id, k, facts))
            .collect()
    }

    /// Audit `k` of a ticket.
    pub(crate) fn audit(&self, ticket_id: u64, k: u64, facts: &TicketFacts) -> Option<Audit> {
        let t = self.ticket(ticket_id)?;
        let base = u64::from(t.base_audits);
        if k < base {
            Some(self.generated_audit(ticket_id, t, k, facts))
        } else {
            let extra = self.extras.get(&ticket_id)?.get((k - base) as usize)?;
            let id = audit_id(ticket_id, k);
            let mut d = Draw::new(self.seed, D_AUDIT, ticket_id * 1000 + k);
            let comment = extra.comment.map(|public| {
                let voice = match (public, self.users[extra.author].role) {
                    (false, _) => Voice::Note,
                    (true, Role::EndUser) => Voice::Customer(self.tone(ticket_id, k, facts)),
                    (true, _) => Voice::Agent,
                };
                Comment {
                    id: COMMENT_BASE + ticket_id * 1000 + k,
                    audit_id: id,
                    author: extra.author,
                    public,
                    body: text::body(&mut d, voice, facts.topic),
                    channel: Channel::Api,
                    created_at: extra.at,
                }
            });
            let events = extra
                .change
                .map(|(from, to)| Event::Change {
                    id: event_id(ticket_id, k, 1),
                    field: "status",
                    value: json!(to.as_str()),
                    previous: json!(from.as_str()),
                })
                .into_iter()
                .collect();
            Some(Audit {
                id,
                ticket_id,
                created_at: extra.at,
                author: extra.author,
                channel: Channel::Api,
                comment,
                events,
            })
        }
    }

    fn generated_audit(&self, ticket_id: u64, t: &TicketState, k: u64, f: &TicketFacts) -> Audit {
        let n = u64::from(t.base_audits);
        let at = self.generated_audit_time(t, k);
        let id = audit_id(ticket_id, k);
        let mut d = Draw::new(self.seed, D_AUDIT, ticket_id * 1000 + k);
        let initial = match (t.base_status, n) {
            (Status::New, _) => Status::New,
            (s, 1) => s,
            _ => Status::Open,
        };
        let event = |j: u64| event_id(ticket_id, k, j);
        let mut events = Vec::new();
        let customer = Voice::Customer(self.tone(ticket_id, k, f));
        let (author, public, voice, channel) = if k == 0 {
            (f.requester, true, customer, f.channel)
        } else if t.base_status == Status::New || k.is_multiple_of(2) {
            let via = if f.channel == Channel::Email {
                Channel::Email
            } else {
                Channel::Web
            };
            (f.requester, true, customer, via)
        } else if d.chance(0.2) {
            let author = if d.chance(0.3) {
                self.light_agent
            } else {
                f.assignee.unwrap_or(0)
            };
            (author, false, Voice::Note, Channel::Web)
        } else {
            (f.assignee.unwrap_or(0), true, Voice::Agent, Channel::Web)
        };
        let body = if k == 0 && f.channel == Channel::Chat {
            let history = self.chat_history(&mut d, t, f);
            let transcript = history
                .iter()
                .map(|m| {
                    format!(
                        "({}) {}: {}",
                        timefmt::clock_12h(m.timestamp_ms / 1000),
                        m.actor_name,
                        m.message
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            events.push(Event::ChatStarted {
                id: event(1),
                chat_id: format!(
                    "{:04}.{}.{:X}",
                    ticket_id % 10_000,
                    ticket_id,
                    d.next() >> 40
                ),
                visitor_id: format!("{}-{:X}", ticket_id, d.next() >> 44),
                history,
            });
            transcript
        } else if voice == customer && channel == Channel::Email && k > 0 {
            let reply = text::body(&mut d, voice, f.topic);
            match self.quoted(ticket_id, k, f, at) {
                Some(quote) => format!("{reply}\n\n{quote}"),
                None => reply,
            }
        } else {
            text::body(&mut d, voice, f.topic)
        };
        // Half the high and urgent tickets with a reply were escalated: opened
        // as normal, raised by the agent's first update.
        let escalated =
            n > 1 && matches!(f.priority, Some("high" | "urgent")) && ticket_id.is_multiple_of(2);
        if k == 0 {
            let priority = if escalated {
                Some("normal")
            } else {
                f.priority
            };
            let mut created = vec![
                ("subject", json!(f.subject)),
                ("status", json!(initial.as_str())),
                ("priority", json!(priority)),
                ("type", json!(f.kind)),
                ("group_id", json!(self.groups[f.group].id.to_string())),
                (
                    "assignee_id",
                    json!(f.assignee.map(|a| self.users[a].id.to_string())),
                ),
                (
                    "requester_id",
                    json!(self.users[f.requester].id.to_string()),
                ),
                ("tags", json!(initial_tags(f, n))),
            ];
            created.retain(|(_, v)| !v.is_null());
            for (j, (field, value)) in created.into_iter().enumerate() {
                events.push(Event::Create {
                    id: event(2 + j as u64),
                    field,
                    value,
                });
            }
        }
        if k == 1 && escalated {
            events.push(Event::Change {
                id: event(13),
                field: "priority",
                value: json!(f.priority),
                previous: json!("normal"),
            });
        }
        if k == 1 && initial_tags(f, n).len() < f.tags.len() {
            events.push(Event::Change {
                id: event(14),
                field: "tags",
                value: json!(f.tags),
                previous: json!(initial_tags(f, n)),
            });
        }
        if k == n - 1 && n > 1 && t.base_status != initial {
            events.push(Event::Change {
                id: event(15),
                field: "status",
                value: json!(t.base_status.as_str()),
                previous: json!(initial.as_str()),
            });
        }
        Audit {
            id,
            ticket_id,
            created_at: at,
            author,
            channel,
            comment: Some(Comment {
                id: COMMENT_BASE + ticket_id * 1000 + k,
                audit_id: id,
                author,
                public,
                body,
                channel,
                created_at: at,
            }),
            events,
        }
    }

    /// The tone of customer comment `k` of a ticket: its language when the
    /// requester does not write English, else the requester's mood with a
    /// little noise of the comment's own.
    fn tone(&self, ticket_id: u64, k: u64, f: &TicketFacts) -> Tone {
        if let Some(language) = f.language {
            return language;
        }
        let mut d = Draw::new(self.seed, D_TONE, ticket_id * 1000 + k);
        let felt = f.mood + 0.3 * (d.unit() - 0.5);
        if felt < UPSET_BELOW {
            Tone::Upset
        } else if felt > UPSET_BELOW + 0.45 {
            Tone::Pleased
        } else {
            Tone::Neutral
        }
    }

    /// The agent's line that some customers' mail clients quote under an
    /// email reply (comment `k`, written at `at`).
    fn quoted(&self, ticket_id: u64, k: u64, f: &TicketFacts, at: i64) -> Option<String> {
        let mut d = Draw::new(self.seed, D_TONE, ticket_id * 1000 + k);
        d.next(); // the tone's draw
        d.chance(0.4)
            .then(|| text::quoted_agent_line(&mut d, f.topic, &timefmt::date(at)))
    }

    /// The chat that opened a chat ticket; it ends when the ticket is created.
    fn chat_history(&self, d: &mut Draw, t: &TicketState, f: &TicketFacts) -> Vec<ChatMessage> {
        let lines = text::chat_lines(d, f.topic, f.mood);
        let agent = f.assignee.unwrap_or(0);
        let start_ms = (t.created_at - 40 * lines.len() as i64) * 1000;
        lines
            .into_iter()
            .enumerate()
            .map(|(i, (customer, message))| {
                let actor = if customer { f.requester } else { agent };
                ChatMessage {
                    customer,
                    actor,
                    actor_name: self.users[actor].name.clone(),
                    message,
                    timestamp_ms: start_ms + i as i64 * 40_000 + d.below(20_000) as i64,
                }
            })
            .collect()
    }
}

/// The tags a ticket was created with: an agent adds the last one in the second audit.
fn initial_tags(f: &TicketFacts, audits: u64) -> &[String] {
    if audits > 1 && f.tags.len() > 1 {
        &f.tags[..f.tags.len() - 1]
    } else {
        &f.tags
    }
}

fn event_id(ticket: u64, k: u64, j: u64) -> u64 {
    EVENT_BASE + (ticket * 1000 + k) * 16 + j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_ids_round_trip() {
        assert_eq!(split_audit_id(audit_id(123_456, 7)), Some((123_456, 7)));
        assert_eq!(split_audit_id(5), None);
    }
}
