//! Changing an account while the simulator runs: the mutations tests
//! apply and what each does to the stored tickets, users and indexes.

use super::*;

/// A change to the dataset made while the simulator runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Creates `count` new tickets (status `new`, one comment each).
    CreateTickets {
        /// How many tickets to create.
        count: usize,
    },
    /// Adds a comment to a ticket: a public reply, or an internal note when `public` is false.
    /// Fails for a deleted or archived ticket.
    AddComment {
        /// The ticket.
        ticket_id: u64,
        /// Public reply (true) or internal note (false).
        public: bool,
    },
    /// Changes a ticket's status (`open`, `pending`, `hold`, `solved`, `closed`). Fails for a
    /// deleted or archived ticket.
    SetStatus {
        /// The ticket.
        ticket_id: u64,
        /// The new status, spelled as in the API.
        status: String,
    },
    /// Soft-deletes tickets: they stay in the ticket export with status `deleted`.
    DeleteTickets {
        /// The tickets.
        ticket_ids: Vec<u64>,
    },
    /// A system update: bumps `generated_timestamp` but not `updated_at`, and adds no event.
    TouchTickets {
        /// The tickets.
        ticket_ids: Vec<u64>,
    },
    /// Creates `count` end users.
    CreateUsers {
        /// How many users.
        count: usize,
    },
    /// Edits a user (its notes), which bumps `updated_at`.
    UpdateUser {
        /// The user.
        user_id: u64,
    },
    /// Deletes a user: it stays in the user export with `active: false`.
    DeleteUser {
        /// The user.
        user_id: u64,
    },
    /// Edits an organization (its notes), which bumps `updated_at`.
    UpdateOrganization {
        /// The organization.
        organization_id: u64,
    },
}

impl Account {
    /// Applies a mutation at simulated time `now`; returns the ids it created or changed.
    pub(crate) fn apply(&mut self, m: Mutation, now: i64) -> anyhow::Result<Vec<u64>> {
        *self.tag_counts.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
        match m {
            Mutation::CreateTickets { count } => {
                Ok((0..count).map(|_| self.create_ticket(now)).collect())
            }
            Mutation::AddComment { ticket_id, public } => {
                let author = {
                    let t = self.updatable_ticket(ticket_id)?;
                    let facts = self.facts(ticket_id, t.base_status);
                    if public {
                        facts.requester
                    } else {
                        facts.assignee.unwrap_or(0)
                    }
                };
                self.add_audit(ticket_id, now, author, Some(public), None)?;
                Ok(vec![ticket_id])
            }
            Mutation::SetStatus { ticket_id, status } => {
                let to = Status::parse(&status)
                    .filter(|s| !matches!(s, Status::New | Status::Deleted))
                    .with_context(|| format!("cannot set status {status:?}"))?;
                let from = self.updatable_ticket(ticket_id)?.status;
                self.add_audit(ticket_id, now, 0, None, Some((from, to)))?;
                Ok(vec![ticket_id])
            }
            Mutation::DeleteTickets { ticket_ids } => {
                for &id in &ticket_ids {
                    let from = self.live_ticket(id)?.status;
                    self.add_audit(id, now, 0, None, Some((from, Status::Deleted)))?;
                }
                Ok(ticket_ids)
            }
            Mutation::TouchTickets { ticket_ids } => {
                for &id in &ticket_ids {
                    self.ticket(id).with_context(|| format!("no ticket {id}"))?;
                    self.set_generated(id, now);
                }
                Ok(ticket_ids)
            }
            Mutation::CreateUsers { count } => {
                Ok((0..count).map(|_| self.create_user(now)).collect())
            }
            Mutation::UpdateUser { user_id } => {
                self.edit_user(user_id, now, |u| u.notes = format!("Edited at {now}"))?;
                Ok(vec![user_id])
            }
            Mutation::DeleteUser { user_id } => {
                self.edit_user(user_id, now, |u| u.active = false)?;
                Ok(vec![user_id])
            }
            Mutation::UpdateOrganization { organization_id } => {
                let org = organization_id
                    .checked_sub(ORG_BASE + 1)
                    .and_then(|i| self.orgs.get_mut(i as usize))
                    .with_context(|| format!("no organization {organization_id}"))?;
                self.orgs_by_updated.remove(&(org.updated_at, org.id));
                org.updated_at = now;
                org.notes = format!("Edited at {now}");
                self.orgs_by_updated.insert((now, organization_id));
                Ok(vec![organization_id])
            }
        }
    }

    fn live_ticket(&self, id: u64) -> anyhow::Result<&TicketState> {
        let t = self.ticket(id).with_context(|| format!("no ticket {id}"))?;
        if t.status == Status::Deleted {
            bail!("ticket {id} is deleted");
        }
        Ok(t)
    }

    /// A live ticket that is not archived (archived tickets are closed, and Zendesk does not
    /// let closed tickets be updated).
    fn updatable_ticket(&self, id: u64) -> anyhow::Result<&TicketState> {
        let t = self.live_ticket(id)?;
        if t.archived {
            bail!("ticket {id} is archived");
        }
        Ok(t)
    }

    fn create_ticket(&mut self, now: i64) -> u64 {
        let id = self.ticket_count() + 1;
        self.tickets.push(TicketState {
            created_at: now,
            base_span: 0,
            updated_at: now,
            generated_ts: now,
            status: Status::New,
            base_status: Status::New,
            base_audits: 1,
            extra_audits: 0,
            archived: false,
        });
        self.by_generated.insert((now, id));
        self.extra_events.insert((now, history::audit_id(id, 0)));
        id
    }

    fn add_audit(
        &mut self,
        id: u64,
        now: i64,
        author: usize,
        comment: Option<bool>,
        change: Option<(Status, Status)>,
    ) -> anyhow::Result<()> {
        let t = self.ticket(id).with_context(|| format!("no ticket {id}"))?;
        let k = u64::from(t.base_audits) + u64::from(t.extra_audits);
        if k >= MAX_AUDITS {
            bail!("ticket {id} has too many audits");
        }
        self.extras.entry(id).or_default().push(ExtraAudit {
            at: now,
            author,
            comment,
            change,
        });
        self.extra_events.insert((now, history::audit_id(id, k)));
        let t = &mut self.tickets[id as usize - 1];
        t.extra_audits += 1;
        t.updated_at = now;
        if let Some((_, to)) = change {
            t.status = to;
        }
        self.set_generated(id, now);
        Ok(())
    }

    fn set_generated(&mut self, id: u64, now: i64) {
        let t = &mut self.tickets[id as usize - 1];
        self.by_generated.remove(&(t.generated_ts, id));
        t.generated_ts = now;
        self.by_generated.insert((now, id));
    }

    fn create_user(&mut self, now: i64) -> u64 {
        let index = self.users.len();
        let mut d = Draw::new(self.seed, D_USER, index as u64);
        let name = text::person(&mut d);
        let user = User {
            id: USER_BASE + index as u64,
            email: format!("user{index}@customers.example"),
            name,
            role: Role::EndUser,
            light_agent: false,
            org_id: None,
            created_at: now,
            updated_at: now,
            active: true,
            verified: true,
            zone: 0,
            locale: 0,
            tags: Vec::new(),
            phone: None,
            last_login_at: None,
            default_group_id: None,
            notes: String::new(),
        };
        self.users_by_updated.insert((now, user.id));
        let id = user.id;
        self.users.push(user);
        id
    }

    fn edit_user(&mut self, id: u64, now: i64, edit: impl FnOnce(&mut User)) -> anyhow::Result<()> {
        let user = id
            .checked_sub(USER_BASE)
            .and_then(|i| self.users.get_mut(i as usize))
            .with_context(|| format!("no user {id}"))?;
        self.users_by_updated.remove(&(user.updated_at, id));
        edit(user);
        user.updated_at = now;
        self.users_by_updated.insert((now, id));
        Ok(())
    }
}
