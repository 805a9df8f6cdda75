//! Which tickets (and comments) a config imports: the `brands` filter and
//! `only_tickets_with_customer_comments`.

use std::collections::HashSet;

use serde::Deserialize;

use crate::config::{BrandRef, Config};
use crate::state::catalog::{Catalogs, Role};
use crate::state::deleted::{SearchSweep, DELETED};
use crate::state::marks::{Marks, CUSTOMER_COMMENTED, OTHER_BRAND};
use crate::state::split::TicketLog;
use crate::storage::Storage;
use crate::text::Text;
use crate::types::ConnectorError;

/// What a fetch needs to know of a ticket.
#[derive(Debug, Deserialize)]
pub struct TicketPeek<'a> {
    /// Ticket id.
    pub id: u64,
    /// Changes on every update, system ones included.
    #[serde(default)]
    pub generated_timestamp: Option<u64>,
    /// Last update by a person or rule.
    #[serde(default, borrow)]
    pub updated_at: Option<Text<'a>>,
    /// Creation time.
    #[serde(default, borrow)]
    pub created_at: Option<Text<'a>>,
    /// The ticket's brand.
    #[serde(default)]
    pub brand_id: Option<u64>,
    /// Who opened the ticket (its first comment's author).
    #[serde(default)]
    pub submitter_id: Option<i64>,
    /// `deleted` for tombstones.
    #[serde(default, borrow)]
    pub status: Option<Text<'a>>,
}

/// The brand ids a config imports; none for every brand. Names resolve
/// against the brand catalog, so `tickets` depends on `brands`.
pub fn brand_ids(
    config: &Config,
    catalogs: &Catalogs,
) -> Result<Option<HashSet<u64>>, ConnectorError> {
    if config.brands.is_empty() {
        return Ok(None);
    }
    let mut ids = HashSet::new();
    for brand in &config.brands {
        match brand {
            BrandRef::Id(id) => {
                ids.insert(*id);
            }
            BrandRef::Name(name) => {
                let found = catalogs
                    .brands
                    .entries()
                    .iter()
                    .find(|(_, b)| b.name.eq_ignore_ascii_case(name));
                let Some((id, _)) = found else {
                    let mut known: Vec<&str> = catalogs
                        .brands
                        .entries()
                        .values()
                        .map(|b| b.name.as_str())
                        .collect();
                    known.sort_unstable();
                    let known = if known.is_empty() {
                        "none read yet: the brands stream must run before tickets".to_owned()
                    } else {
                        known.join(", ")
                    };
                    return Err(ConnectorError::config(
                        "brands",
                        format!("no brand is named \"{name}\" on this account (brands: {known}); use a brand's name or id"),
                    ));
                };
                ids.insert(*id);
            }
        }
    }
    Ok(Some(ids))
}

/// Decides which tickets a page keeps, and records what later streams need.
pub struct TicketFilter {
    brands: Option<HashSet<u64>>,
    customer_only: bool,
    customer_commented: Marks,
    other_brand: Marks,
}

impl TicketFilter {
    /// The filter of a config; the brand and staff catalogs must be current.
    pub fn new(config: &Config, catalogs: &Catalogs) -> Result<Self, ConnectorError> {
        Ok(TicketFilter {
            brands: brand_ids(config, catalogs)?,
            customer_only: config.only_tickets_with_customer_comments,
            customer_commented: Marks::new(CUSTOMER_COMMENTED),
            other_brand: Marks::new(OTHER_BRAND),
        })
    }

    /// Whether the ticket is imported. Tombstones always are. With a brand
    /// filter, tickets of other brands are remembered (`other-brand/`) so
    /// that their comments are dropped. With the customer filter, a ticket
    /// is imported when its submitter is a customer, or when
    /// `ticket_comments` saw a customer's comment on it.
    pub fn keep(
        &mut self,
        storage: &dyn Storage,
        catalogs: &Catalogs,
        ticket: &TicketPeek<'_>,
    ) -> Result<bool, ConnectorError> {
        if ticket.status.as_deref() == Some("deleted") {
            return Ok(true);
        }
        if let Some(brands) = &self.brands {
            let other = !ticket.brand_id.is_some_and(|b| brands.contains(&b));
            self.other_brand.set(storage, ticket.id, other)?;
            if other {
                return Ok(false);
            }
        }
        if self.customer_only && catalogs.role_of(ticket.submitter_id) != Role::Customer {
            return Ok(self.customer_commented.is_marked(storage, ticket.id)?);
        }
        Ok(true)
    }

    /// Writes the remembered tickets.
    pub fn flush(&mut self, storage: &dyn Storage) -> Result<(), ConnectorError> {
        self.other_brand.flush(storage)?;
        Ok(())
    }
}

/// Whose comments and changes the comment paths drop: tickets of brands
/// outside the `brands` filter, and tickets deleted before their first
/// import (the rule of `state::deleted`). Every comment path asks
/// [`CommentGate::drops`] before it delivers a comment or a change.
pub struct CommentGate {
    brand_filter: bool,
    other_brand: Marks,
    deleted: Marks,
    log: TicketLog,
    sweep: Option<SearchSweep>,
}

impl CommentGate {
    /// The gate of a config, over what the storage knows.
    pub fn new(config: &Config, storage: &dyn Storage) -> Result<Self, ConnectorError> {
        Ok(CommentGate {
            brand_filter: !config.brands.is_empty(),
            other_brand: Marks::new(OTHER_BRAND),
            deleted: Marks::new(DELETED),
            log: TicketLog::default(),
            sweep: SearchSweep::stored(storage)?,
        })
    }

    /// Whether the comments and changes of `ticket` made at `at` (Unix
    /// seconds) are dropped.
    pub fn drops(
        &mut self,
        storage: &dyn Storage,
        ticket: u64,
        at: u64,
    ) -> Result<bool, ConnectorError> {
        if self.brand_filter && self.other_brand.is_marked(storage, ticket)? {
            return Ok(true);
        }
        self.deleted_before_import(storage, ticket, at)
    }

    /// Whether the ticket was deleted before its first import: marked so,
    /// or active at `at`, a time the first import's search sweep covers,
    /// and unknown to the ticket log (the sweep delivered every ticket live
    /// then). A ticket found so is marked, for the other comment paths.
    fn deleted_before_import(
        &mut self,
        storage: &dyn Storage,
        ticket: u64,
        at: u64,
    ) -> Result<bool, ConnectorError> {
        if self.deleted.is_marked(storage, ticket)? {
            return Ok(true);
        }
        let unseen =
            self.sweep.is_some_and(|sweep| sweep.covers(at)) && !self.log.knows(storage, ticket)?;
        if unseen {
            self.deleted.set(storage, ticket, true)?;
        }
        Ok(unseen)
    }

    /// Writes the tickets found deleted.
    pub fn flush(&mut self, storage: &dyn Storage) -> Result<(), ConnectorError> {
        self.deleted.flush(storage)?;
        Ok(())
    }
}
