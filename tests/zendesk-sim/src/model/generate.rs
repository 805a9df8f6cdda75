//! Generating an account: its directory (organizations, users) and each
//! ticket's stored numbers, drawn deterministically from the seed.

use super::*;

/// Zendesk archives a closed ticket 120 days after it was closed ("About archived tickets",
/// support.zendesk.com/hc/en-us/articles/4408887617050; sooner on very busy accounts).
const ARCHIVE_AFTER: i64 = 120 * 86_400;
/// Longest a generated ticket stays open (its last audit closes it).
const MAX_OPEN: i64 = 14 * 86_400;

impl Account {
    /// Generates the account `name` of the dataset described by `config`, as of `origin`.
    pub(crate) fn generate(name: &str, config: &SimConfig, origin: i64) -> Account {
        let seed = config.seed ^ hash_str(name);
        let history = i64::from(config.history_days.max(1)) * 86_400;
        let brands = catalog::brands(seed, name, origin, history);
        let groups = catalog::groups(origin, history);
        let fields = catalog::ticket_fields(origin, history);
        let orgs = generate_orgs(seed, config.organizations, origin, history, &groups);
        let (users, light_agent, end_users) =
            generate_users(seed, name, config.users, origin, history, &orgs, &groups);
        let mut account = Account {
            name: name.to_string(),
            seed,
            origin,
            brands,
            groups,
            fields,
            orgs,
            users,
            light_agent,
            end_users,
            comments_per_ticket: config.comments_per_ticket,
            initial_tickets: config.tickets,
            archived_initial: (config.archived_share.clamp(0.0, 1.0) * config.tickets as f64)
                .round() as u64,
            tickets: Vec::with_capacity(config.tickets),
            by_generated: BTreeSet::new(),
            users_by_updated: BTreeSet::new(),
            orgs_by_updated: BTreeSet::new(),
            extras: HashMap::new(),
            generated_events: OnceLock::new(),
            extra_events: BTreeSet::new(),
            tag_counts: Mutex::new(None),
        };
        for id in 1..=config.tickets as u64 {
            let state = account.generate_ticket(id, history);
            account.by_generated.insert((state.generated_ts, id));
            account.tickets.push(state);
        }
        account.users_by_updated = account.users.iter().map(|u| (u.updated_at, u.id)).collect();
        account.orgs_by_updated = account.orgs.iter().map(|o| (o.updated_at, o.id)).collect();
        account
    }

    /// Ticket `id`'s stored numbers. The archived tickets, the oldest ids, spread over a
    /// history of the same length that ends early enough for every one of them to have been
    /// closed more than [`ARCHIVE_AFTER`] before the start; the others over the history.
    fn generate_ticket(&self, id: u64, history: i64) -> TicketState {
        let mut d = Draw::new(self.seed, D_TICKET, id);
        let archived = id <= self.archived_initial;
        let latest = self.origin - QUIET_TAIL;
        let (start, end, index, count) = if archived {
            let end = (self.origin - ARCHIVE_AFTER - MAX_OPEN - 86_400).min(self.origin - history);
            (end - history, end, id - 1, self.archived_initial)
        } else {
            let count = self.initial_tickets as u64 - self.archived_initial;
            (
                self.origin - history,
                latest,
                id - 1 - self.archived_initial,
                count,
            )
        };
        let spacing = (end - start) as f64 / count.max(1) as f64;
        let created =
            (start + (index as f64 * spacing) as i64 + d.below(spacing.max(1.0) as u64) as i64)
                .min(end);
        let drawn = d.weighted(&[
            (Status::New, 5),
            (Status::Open, 18),
            (Status::Pending, 10),
            (Status::Hold, 4),
            (Status::Solved, 25),
            (Status::Closed, 35),
            (Status::Deleted, 3),
        ]);
        let base_status = if archived { Status::Closed } else { drawn };
        let mut audits = match self.comments_per_ticket {
            0 => 1,
            avg => 1 + d.below(2 * avg as u64 - 1),
        };
        if base_status == Status::Deleted {
            audits = audits.max(2);
        }
        let max_span = if base_status == Status::New {
            86_400
        } else {
            MAX_OPEN
        }
        .min(end - created)
        .max(0);
        let span = d.below(max_span as u64 + 1) as i64;
        let updated = created + span;
        let bulk = self.origin - 36 * 3_600;
        let mut generated = updated;
        if d.chance(0.1) {
            generated = (updated + d.below(2 * 86_400) as i64).min(latest);
        }
        // The bulk update goes through views and rules, which archived tickets are out of.
        if d.chance(0.04) && !archived && bulk > updated && bulk <= latest {
            generated = bulk;
        }
        TicketState {
            created_at: created,
            base_span: span as u32,
            updated_at: updated,
            generated_ts: generated,
            status: base_status,
            base_status,
            base_audits: audits.min(MAX_AUDITS) as u16,
            extra_audits: 0,
            archived,
        }
    }
}

impl Account {
    /// When a ticket's satisfaction rating was made: with its last generated audit.
    pub(crate) fn rating_time(&self, t: &TicketState) -> i64 {
        t.created_at + i64::from(t.base_span)
    }

    /// How the requester of ticket `id` feels about it, from -1 to 1: the
    /// customers of a souring organization ([`crate::souring_organization`])
    /// grow unhappier over the account's history, the others are mostly
    /// content; noise on top. It words their comments and decides a
    /// rating's score, so that sentiment tracks satisfaction.
    pub(super) fn mood(&self, id: u64, requester: usize) -> f64 {
        let mut d = Draw::new(self.seed, D_MOOD, id);
        let position = ((id - 1) as f64 / self.initial_tickets.max(1) as f64).min(1.0);
        let souring = self.users[requester]
            .org_id
            .is_some_and(|org| crate::souring_organization((org - catalog::ORG_BASE - 1) as usize));
        // Souring accelerates: content for the first half, angry at the end.
        let base = if souring {
            0.6 - 1.6 * position * position
        } else {
            0.25
        };
        (base + d.unit() - 0.5).clamp(-1.0, 1.0)
    }

    /// The language a requester writes ticket `id` in, when not English:
    /// German- and French-speaking customers (by locale) on every third
    /// ticket.
    pub(super) fn language(&self, id: u64, requester: usize) -> Option<text::Tone> {
        if !id.is_multiple_of(3) {
            return None;
        }
        match catalog::LOCALES[self.users[requester].locale].0 {
            "de" => Some(text::Tone::German),
            "fr" => Some(text::Tone::French),
            _ => None,
        }
    }
}

/// A satisfaction rating a solved ticket may have: a quarter are answered,
/// bad when the requester is upset (`mood`).
pub(super) fn rating(d: &mut Draw, mood: f64) -> Option<Rating> {
    let answered = d.weighted(&[
        (None, 35),
        (Some(Score::Offered), 40),
        (Some(Score::Good), 25),
    ])?;
    let score = match answered {
        Score::Good if mood < text::UPSET_BELOW => Score::Bad,
        other => other,
    };
    let (comment, reason) = match score {
        Score::Offered => (None, None),
        Score::Good => (
            Some(
                d.pick(&["Great support!", "Quick and friendly, thanks.", ""])
                    .to_string(),
            ),
            Some(SATISFACTION_REASONS[0]),
        ),
        Score::Bad => (
            Some(
                d.pick(&["Still broken.", "Took far too long.", ""])
                    .to_string(),
            ),
            Some(*d.pick(&SATISFACTION_REASONS[1..])),
        ),
    };
    Some(Rating {
        score,
        comment: comment.filter(|c| !c.is_empty()),
        reason,
    })
}

fn generate_orgs(
    seed: u64,
    count: usize,
    origin: i64,
    history: i64,
    groups: &[Group],
) -> Vec<Organization> {
    (0..count)
        .map(|i| {
            let mut d = Draw::new(seed, D_ORG, i as u64);
            let (name, domain) = text::organization(&mut d, i);
            let created = origin - history - 86_400 * 5 + d.below(history as u64) as i64;
            let updated = (created + d.below(20 * 86_400) as i64).min(origin - QUIET_TAIL);
            let mut domains = vec![domain.clone()];
            if d.chance(0.3) {
                domains.push(format!("mail.{domain}"));
            }
            Organization {
                id: ORG_BASE + 1 + i as u64,
                name,
                domains,
                group_id: d.chance(0.3).then(|| d.pick(groups).id),
                tags: if d.chance(0.4) {
                    vec!["customer".to_string()]
                } else {
                    Vec::new()
                },
                notes: String::new(),
                tier: d.pick::<&str>(&["gold", "silver", "bronze"]),
                created_at: created,
                updated_at: updated,
            }
        })
        .collect()
}

/// Users: the admin first, then agents, then the light agent, then end users.
fn generate_users(
    seed: u64,
    account: &str,
    count: usize,
    origin: i64,
    history: i64,
    orgs: &[Organization],
    groups: &[Group],
) -> (Vec<User>, usize, std::ops::Range<usize>) {
    let count = count.max(4);
    let agents = (count / 25).clamp(2, 50);
    let light_agent = 1 + agents;
    let users = (0..count)
        .map(|i| {
            let mut d = Draw::new(seed, D_USER, i as u64);
            let name = text::person(&mut d);
            let staff = i <= light_agent;
            let role = match i {
                0 => Role::Admin,
                _ if staff => Role::Agent,
                _ => Role::EndUser,
            };
            let org = (!staff && !orgs.is_empty() && d.chance(0.8)).then(|| d.pick(orgs));
            let local = name
                .to_ascii_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
                .collect::<String>()
                .replace(' ', ".");
            let email = match (i, org) {
                (0, _) => format!("admin@{account}.example"),
                (_, _) if i == light_agent => format!("light.agent@{account}.example"),
                (_, _) if staff => format!("agent{i}@{account}.example"),
                (_, Some(o)) => format!("{local}.{i}@{}", o.domains[0]),
                (_, None) => format!("{local}.{i}@customers.example"),
            };
            let created = if staff {
                origin - history - 86_400 * 15 + i as i64 * 600
            } else {
                origin - history + d.below(history as u64 / 2) as i64
            };
            let updated = (created + d.below(30 * 86_400) as i64).min(origin - QUIET_TAIL);
            User {
                id: USER_BASE + i as u64,
                name,
                email,
                role,
                light_agent: i == light_agent,
                org_id: org.map(|o| o.id),
                created_at: created,
                updated_at: updated,
                active: staff || d.chance(0.97),
                verified: staff || d.chance(0.8),
                zone: d.below(TIME_ZONES.len() as u64) as usize,
                locale: d.below(LOCALES.len() as u64) as usize,
                tags: if d.chance(0.2) {
                    vec!["newsletter".to_string()]
                } else {
                    Vec::new()
                },
                phone: d
                    .chance(0.3)
                    .then(|| format!("+1-555-{:04}", d.below(10_000))),
                last_login_at: staff.then_some(updated),
                default_group_id: (staff && i != light_agent).then(|| groups[i % groups.len()].id),
                notes: String::new(),
            }
        })
        .collect();
    (users, light_agent, light_agent + 1..count)
}
