//! One account's dataset: generated deterministically, stored compactly, changed by mutations.
//!
//! Tickets are stored as a few numbers each ([`TicketState`]); everything else about a ticket
//! (requester, tags, custom fields, comments, audits) is derived on demand from the seed and
//! the ticket id, so a million tickets fit in memory without their comments.

pub(crate) mod catalog;
mod generate;
mod history;
mod mutation;
pub(crate) mod text;
mod timeline;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::config::SimConfig;
use crate::rng::{hash_str, Draw};
use crate::truth::{GroundTruth, KindTruth, Version};
pub(crate) use catalog::*;
pub(crate) use history::{split_audit_id, Audit, Comment, Event};
pub use mutation::Mutation;
pub(crate) use timeline::AuditPosition;

/// Tickets soft-deleted longer ago than this are scrubbed (Zendesk: about 30 days).
const SCRUB_AFTER: i64 = 30 * 86_400;
/// Generated data ends this long before the start, clear of the export's excluded last minute.
const QUIET_TAIL: i64 = 120;
/// Most audits a ticket can have (ids of comments and audits are numbered per ticket).
pub(crate) const MAX_AUDITS: u64 = 999;

// Domains of the deterministic draws.
const D_TICKET: u64 = 1;
const D_FACTS: u64 = 2;
const D_USER: u64 = 3;
const D_ORG: u64 = 4;
pub(crate) const D_AUDIT: u64 = 5;
/// A ticket's mood, and each customer comment's tone and quoting.
const D_MOOD: u64 = 6;
pub(crate) const D_TONE: u64 = 7;

/// A ticket status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    New,
    Open,
    Pending,
    Hold,
    Solved,
    Closed,
    Deleted,
}

impl Status {
    /// Every status, in Zendesk's order (the order `status<solved` compares with).
    pub(crate) const ALL: [Status; 7] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::Hold,
        Status::Solved,
        Status::Closed,
        Status::Deleted,
    ];

    /// The API spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Hold => "hold",
            Status::Solved => "solved",
            Status::Closed => "closed",
            Status::Deleted => "deleted",
        }
    }

    /// Parses the API spelling.
    pub(crate) fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// The channel a ticket or comment came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Web,
    Email,
    Api,
    Chat,
}

impl Channel {
    /// `via.channel`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Email => "email",
            Channel::Api => "api",
            Channel::Chat => "chat",
        }
    }

    /// The `via` string of ticket events.
    pub(crate) fn event_via(self) -> &'static str {
        match self {
            Channel::Web => "Web form",
            Channel::Email => "Mail",
            Channel::Api => "Web service",
            Channel::Chat => "Chat",
        }
    }
}

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    EndUser,
    Agent,
    Admin,
}

impl Role {
    /// The API spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::EndUser => "end-user",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
}

/// An organization.
#[derive(Clone, Debug)]
pub(crate) struct Organization {
    pub id: u64,
    pub name: String,
    pub domains: Vec<String>,
    pub group_id: Option<u64>,
    pub tags: Vec<String>,
    pub notes: String,
    pub tier: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub light_agent: bool,
    pub org_id: Option<u64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub active: bool,
    pub verified: bool,
    pub zone: usize,
    pub locale: usize,
    pub tags: Vec<String>,
    pub phone: Option<String>,
    pub last_login_at: Option<i64>,
    pub default_group_id: Option<u64>,
    pub notes: String,
}

/// The stored, changing part of a ticket; the rest is [`TicketFacts`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct TicketState {
    pub created_at: i64,
    /// Seconds from creation to the last generated audit.
    pub base_span: u32,
    pub updated_at: i64,
    pub generated_ts: i64,
    pub status: Status,
    /// The status the generator gave the ticket (its derived facts follow it).
    pub base_status: Status,
    pub base_audits: u16,
    pub extra_audits: u16,
    /// Archived: closed long ago, left out of the ticket list and the account's audit list.
    pub archived: bool,
}

/// A satisfaction score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Score {
    Offered,
    Good,
    Bad,
}

impl Score {
    /// The API spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Score::Offered => "offered",
            Score::Good => "good",
            Score::Bad => "bad",
        }
    }
}

/// A satisfaction rating of a ticket.
#[derive(Clone, Debug)]
pub(crate) struct Rating {
    pub score: Score,
    pub comment: Option<String>,
    /// `(code, text)` of the reason, for rated tickets.
    pub reason: Option<(u32, &'static str)>,
}

/// What is derived about a ticket from the seed, its id and its generated status.
#[derive(Clone, Debug)]
pub(crate) struct TicketFacts {
    pub topic: &'static str,
    pub subject: String,
    pub channel: Channel,
    pub priority: Option<&'static str>,
    pub kind: Option<&'static str>,
    pub brand: usize,
    pub group: usize,
    pub requester: usize,
    pub submitter: usize,
    pub assignee: Option<usize>,
    pub collaborators: Vec<usize>,
    pub tags: Vec<String>,
    pub custom: Vec<(u64, Value)>,
    pub rating: Option<Rating>,
    /// How the requester feels, from -1 (angry) to 1 (pleased); see
    /// [`Account::mood`].
    pub mood: f64,
    /// The language the requester writes in when it is not English.
    pub language: Option<text::Tone>,
    pub external_id: Option<String>,
    /// Seconds from creation to the due date (tasks only).
    pub due_in: Option<i64>,
}

/// An audit added after generation (by a mutation).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExtraAudit {
    pub at: i64,
    pub author: usize,
    /// `Some(public)` when the audit carries a comment.
    pub comment: Option<bool>,
    pub change: Option<(Status, Status)>,
}

/// Tags with the number of live tickets carrying them, most used first.
pub(crate) type TagCounts = Arc<Vec<(String, u64)>>;

/// One account: its catalogs, people and tickets, and the indexes the exports walk.
#[derive(Debug)]
pub(crate) struct Account {
    pub name: String,
    pub seed: u64,
    pub origin: i64,
    pub brands: Vec<Brand>,
    pub groups: Vec<Group>,
    pub fields: Vec<TicketField>,
    pub orgs: Vec<Organization>,
    pub users: Vec<User>,
    /// Index of the light agent; agents (and the admin, index 0) come before it.
    pub light_agent: usize,
    /// End users that generated tickets may be requested by.
    end_users: std::ops::Range<usize>,
    comments_per_ticket: usize,
    initial_tickets: usize,
    /// The generated tickets `1..=archived_initial` are archived.
    archived_initial: u64,
    tickets: Vec<TicketState>,
    by_generated: BTreeSet<(i64, u64)>,
    users_by_updated: BTreeSet<(i64, u64)>,
    orgs_by_updated: BTreeSet<(i64, u64)>,
    extras: HashMap<u64, Vec<ExtraAudit>>,
    generated_events: OnceLock<Vec<(i64, u64)>>,
    extra_events: BTreeSet<(i64, u64)>,
    /// Tag counts, computed on first use and forgotten by every mutation.
    tag_counts: Mutex<Option<TagCounts>>,
}

impl Account {
    /// Number of tickets (ids are `1..=ticket_count()`).
    pub(crate) fn ticket_count(&self) -> u64 {
        self.tickets.len() as u64
    }

    /// The stored state of a ticket.
    pub(crate) fn ticket(&self, id: u64) -> Option<&TicketState> {
        id.checked_sub(1).and_then(|i| self.tickets.get(i as usize))
    }

    /// A user by id.
    pub(crate) fn user(&self, id: u64) -> Option<&User> {
        id.checked_sub(USER_BASE)
            .and_then(|i| self.users.get(i as usize))
    }

    /// An organization by id.
    pub(crate) fn org(&self, id: u64) -> Option<&Organization> {
        id.checked_sub(ORG_BASE + 1)
            .and_then(|i| self.orgs.get(i as usize))
    }

    /// Whether a deleted ticket has been scrubbed (deleted more than 30 days ago).
    pub(crate) fn is_scrubbed(&self, t: &TicketState, now: i64) -> bool {
        t.status == Status::Deleted && t.updated_at < now - SCRUB_AFTER
    }

    /// Derives the facts of ticket `id` whose generated status is `base`.
    pub(crate) fn facts(&self, id: u64, base: Status) -> TicketFacts {
        let mut d = Draw::new(self.seed, D_FACTS, id);
        let topic = text::topic(&mut d);
        let subject = text::subject(&mut d, topic);
        let channel = d.weighted(&[
            (Channel::Web, 30),
            (Channel::Email, 40),
            (Channel::Api, 10),
            (Channel::Chat, 20),
        ]);
        let priority = d.weighted(&[
            (None, 30),
            (Some("low"), 15),
            (Some("normal"), 35),
            (Some("high"), 15),
            (Some("urgent"), 5),
        ]);
        let kind = d.weighted(&[
            (None, 30),
            (Some("question"), 35),
            (Some("incident"), 20),
            (Some("problem"), 5),
            (Some("task"), 10),
        ]);
        let brand = if d.chance(0.7) {
            0
        } else {
            d.below(self.brands.len() as u64) as usize
        };
        let requester = if self.end_users.is_empty() {
            0
        } else {
            self.end_users.start + d.below(self.end_users.len() as u64) as usize
        };
        let assignee = if base == Status::New && d.chance(0.6) {
            None
        } else {
            Some(d.below(self.light_agent as u64) as usize)
        };
        let group = match assignee.and_then(|a| self.users[a].default_group_id) {
            Some(g) => (g - GROUP_BASE - 1) as usize,
            None => d.below(self.groups.len() as u64) as usize,
        };
        let submitter = match (channel, assignee) {
            (Channel::Api, Some(a)) if d.chance(0.5) => a,
            _ => requester,
        };
        let collaborators = if d.chance(0.15) && !self.end_users.is_empty() {
            vec![self.end_users.start + d.below(self.end_users.len() as u64) as usize]
        } else {
            Vec::new()
        };
        let mut tags = vec![topic.replace([' ', '-'], "_").to_ascii_lowercase()];
        if d.chance(0.3) {
            tags.push(
                d.pick(&["vip", "renewal", "bug", "feature_request", "churn_risk"])
                    .to_string(),
            );
        }
        let custom = self.custom_values(&mut d, &mut tags);
        tags.sort();
        tags.dedup();
        let mood = self.mood(id, requester);
        let rating = if matches!(base, Status::Solved | Status::Closed) {
            generate::rating(&mut d, mood)
        } else {
            None
        };
        let external_id = (channel == Channel::Api).then(|| format!("ext-{id}"));
        let due_in = (kind == Some("task")).then_some(3 * 86_400);
        TicketFacts {
            topic,
            subject,
            channel,
            priority,
            kind,
            brand,
            group,
            requester,
            submitter,
            assignee,
            collaborators,
            tags,
            custom,
            rating,
            mood,
            language: self.language(id, requester),
            external_id,
            due_in,
        }
    }

    fn custom_values(&self, d: &mut Draw, tags: &mut Vec<String>) -> Vec<(u64, Value)> {
        let mut values = Vec::new();
        for field in self.fields.iter().filter(|f| f.is_custom()) {
            let set = d.chance(0.7);
            let value = match &field.kind {
                FieldKind::Options("multiselect", options) if set => {
                    let picked: Vec<String> = options
                        .iter()
                        .filter(|_| d.chance(0.5))
                        .map(|(_, v)| v.clone())
                        .collect();
                    tags.extend(picked.iter().cloned());
                    json!(picked)
                }
                FieldKind::Options(_, options) if set => {
                    let value = d.pick(options).1.clone();
                    tags.push(value.clone());
                    json!(value)
                }
                FieldKind::Options("multiselect", _) => json!([]),
                FieldKind::Checkbox(tag) => {
                    let checked = set && d.chance(0.4);
                    if checked {
                        tags.push(tag.to_string());
                    }
                    json!(checked)
                }
                FieldKind::Plain(kind) if set => match *kind {
                    "text" => json!(format!("ORD-{:06}", d.below(1_000_000))),
                    "textarea" => json!("1. Open the app\n2. Click Export\n3. See the error"),
                    "date" => json!(crate::timefmt::date(
                        self.origin - d.below(120) as i64 * 86_400
                    )),
                    "integer" => json!((1 + d.below(500)).to_string()),
                    "decimal" => json!(format!("{}.{:02}", d.below(1000), d.below(100))),
                    _ => json!(format!(
                        "{}-{}-{}",
                        d.below(1000),
                        d.below(1000),
                        d.below(1000)
                    )),
                },
                _ => Value::Null,
            };
            values.push((field.id, value));
        }
        values
    }

    /// Tickets in export order (`generated_timestamp`, id) strictly after `after`.
    pub(crate) fn tickets_after(&self, after: (i64, u64)) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.by_generated
            .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .copied()
    }

    /// Users in export order (`updated_at`, id) strictly after `after`.
    pub(crate) fn users_after(&self, after: (i64, u64)) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.users_by_updated
            .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .copied()
    }

    /// Organizations in export order (`updated_at`, id) strictly after `after`.
    pub(crate) fn orgs_after(&self, after: (i64, u64)) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.orgs_by_updated
            .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .copied()
    }

    /// The dataset a complete export should yield.
    pub(crate) fn ground_truth(&self) -> GroundTruth {
        let mut truth = GroundTruth::default();
        for id in 1..=self.ticket_count() {
            let t = &self.tickets[id as usize - 1];
            let deleted = t.status == Status::Deleted;
            truth
                .tickets
                .record(id, t.updated_at, t.generated_ts, deleted);
            if t.archived && !deleted {
                truth.archived.insert(id);
            }
            let facts = self.facts(id, t.base_status);
            if facts.rating.is_some() {
                let at = self.rating_time(t);
                truth
                    .satisfaction_ratings
                    .record(RATING_BASE + id, at, at, deleted);
            }
            for audit in self.audits(id, &facts) {
                if let Some(c) = audit.comment {
                    truth
                        .comments
                        .record(c.id, c.created_at, c.created_at, deleted);
                    truth.comment_tickets.insert(c.id, id);
                }
            }
        }
        for u in &self.users {
            truth
                .users
                .record(u.id, u.updated_at, u.updated_at, !u.active);
        }
        for o in &self.orgs {
            truth
                .organizations
                .record(o.id, o.updated_at, o.updated_at, false);
        }
        truth
    }

    /// Tag counts over live tickets, most used first.
    pub(crate) fn tag_counts(&self) -> TagCounts {
        let mut cache = self.tag_counts.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get_or_insert_with(|| {
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for id in 1..=self.ticket_count() {
                    let t = &self.tickets[id as usize - 1];
                    if t.status != Status::Deleted {
                        for tag in self.facts(id, t.base_status).tags {
                            *counts.entry(tag).or_default() += 1;
                        }
                    }
                }
                let mut list: Vec<(String, u64)> = counts.into_iter().collect();
                list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Arc::new(list)
            })
            .clone()
    }
}

impl KindTruth {
    fn record(&mut self, id: u64, updated_at: i64, generated_timestamp: i64, deleted: bool) {
        self.versions.insert(
            id,
            Version {
                updated_at,
                generated_timestamp,
            },
        );
        if deleted {
            self.deleted.insert(id);
        }
    }
}
