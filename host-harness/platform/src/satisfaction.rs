//! Each ticket's satisfaction, for documents and signals.

use std::collections::HashMap;

use connector_runtime::ConnectorError;

use crate::records::{Conversation, Rating, Satisfaction, Time};
use crate::store::{read, PlatformStore, Tombstones};

/// Each ticket's satisfaction rating: from the newest `satisfaction`
/// record of the ticket when one was synced (ratings are answered after
/// the ticket changes), else from the ticket itself (`tickets`, the
/// connection's tickets). Unoffered ratings, and ratings without a score,
/// are left out.
pub fn by_ticket(
    store: &dyn PlatformStore,
    connection: &str,
    tickets: &[(String, Conversation)],
) -> Result<HashMap<String, Rating>, ConnectorError> {
    let mut ratings = read::<Satisfaction>(store, connection, Tombstones::Skip)?;
    // Oldest first (stable: in the store's order when equal), so that the
    // newest is applied last.
    ratings.sort_by_key(|(_, s)| s.updated_at.as_ref().and_then(Time::unix));
    let own = tickets
        .iter()
        .filter_map(|(key, t)| Some((key.as_str(), t.satisfaction.as_ref()?)));
    let rated = ratings
        .iter()
        .filter_map(|(_, s)| Some((s.conversation_id.as_deref()?, &s.rating)));
    let mut by_ticket = HashMap::new();
    for (ticket, rating) in own.chain(rated) {
        if matches!(rating.score.as_deref(), None | Some("unoffered")) {
            by_ticket.remove(ticket);
        } else {
            by_ticket.insert(ticket.to_string(), rating.clone());
        }
    }
    Ok(by_ticket)
}
