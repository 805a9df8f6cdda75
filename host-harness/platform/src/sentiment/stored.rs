//! The sentiment of a connection's customer messages, kept in the store
//! beside the records: a message is scored when it is new or its text
//! changed (its [`fingerprint`](super::fingerprint) differs), and the
//! scores of messages gone from the source are dropped.

use std::collections::{HashMap, HashSet};

use connector_runtime::ConnectorError;

use super::{fingerprint, Scorer, Sentiment, NEGATIVE_AT_MOST};
use crate::records::{Message, Time};
use crate::store::{visit, PlatformStore, Tombstones};

/// A message's stored score and what it was computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoredSentiment {
    /// The fingerprint of the text scored.
    pub fingerprint: i64,
    /// The outcome.
    pub sentiment: Sentiment,
}

/// One customer message with its sentiment.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerMessage {
    /// The message's record key.
    pub key: String,
    /// Its ticket.
    pub conversation_id: String,
    /// When it was written (Unix seconds).
    pub at: Option<i64>,
    /// Its sentiment.
    pub sentiment: Sentiment,
}

/// Every customer message of a connection, scored.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// In the store's order.
    pub messages: Vec<CustomerMessage>,
    /// Scored by this run (new or changed).
    pub computed: usize,
    /// Taken from the store unchanged.
    pub reused: usize,
}

/// A conversation's customer sentiment, over its scored customer messages
/// in time order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConversationSentiment {
    /// Scored customer messages.
    pub scored: usize,
    /// Customer messages in another language.
    pub not_english: usize,
    /// Mean score.
    pub mean: f64,
    /// The first message's score.
    pub first: f64,
    /// The last message's score.
    pub last: f64,
    /// The lowest score.
    pub min: f64,
}

impl ConversationSentiment {
    /// Whether the conversation reads negative (its mean).
    pub fn negative(&self) -> bool {
        self.mean <= NEGATIVE_AT_MOST
    }

    /// How far it fell from the first customer message to the last.
    pub fn drop(&self) -> f64 {
        self.first - self.last
    }
}

impl Scores {
    /// Customer messages in another language.
    pub fn not_english(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.sentiment == Sentiment::NotEnglish)
            .count()
    }

    /// Each conversation's customer messages, in time order (store order
    /// when equal).
    pub fn by_conversation(&self) -> HashMap<&str, Vec<&CustomerMessage>> {
        let mut out: HashMap<&str, Vec<&CustomerMessage>> = HashMap::new();
        for m in &self.messages {
            out.entry(m.conversation_id.as_str()).or_default().push(m);
        }
        for own in out.values_mut() {
            own.sort_by_key(|m| m.at);
        }
        out
    }

    /// Each conversation's summary (conversations without a scored
    /// customer message are left out).
    pub fn conversations(&self) -> HashMap<&str, ConversationSentiment> {
        self.by_conversation()
            .into_iter()
            .filter_map(|(key, own)| Some((key, summarize(&own)?)))
            .collect()
    }
}

/// The summary of one conversation's customer messages (in time order).
pub fn summarize(messages: &[&CustomerMessage]) -> Option<ConversationSentiment> {
    let scores: Vec<f64> = messages
        .iter()
        .filter_map(|m| m.sentiment.score())
        .collect();
    let (first, last) = (*scores.first()?, *scores.last()?);
    Some(ConversationSentiment {
        scored: scores.len(),
        not_english: messages
            .iter()
            .filter(|m| m.sentiment == Sentiment::NotEnglish)
            .count(),
        mean: scores.iter().sum::<f64>() / scores.len() as f64,
        first,
        last,
        min: scores.iter().copied().fold(f64::INFINITY, f64::min),
    })
}

/// Whether a message is a customer's, for sentiment: public, written by a
/// customer (requesters and other end users; comments and chat lines).
pub fn is_customer_message(m: &Message) -> bool {
    m.author_role.as_deref() == Some("customer") && m.visibility.as_deref() != Some("internal")
}

/// Score the connection's customer messages, reusing the stored scores of
/// unchanged ones, and store what changed. New and changed messages are
/// scored on every core.
pub fn refresh(
    store: &dyn PlatformStore,
    connection: &str,
    scorer: &Scorer,
) -> Result<Scores, ConnectorError> {
    refresh_visiting(store, connection, scorer, |_| {})
}

/// [`refresh`], giving every message of the connection (the customers'
/// and the others) to `each` on the way, so that a caller who needs them
/// too reads them once.
pub fn refresh_visiting(
    store: &dyn PlatformStore,
    connection: &str,
    scorer: &Scorer,
    mut each: impl FnMut(&Message),
) -> Result<Scores, ConnectorError> {
    let stored = store.sentiment_scores(connection)?;
    let mut scores = Scores::default();
    // (index into `scores.messages`, fingerprint, body) of what to score.
    let mut to_score: Vec<(usize, i64, String)> = Vec::new();
    let mut seen = HashSet::new();
    visit::<Message>(store, connection, Tombstones::Skip, |key, m| {
        each(&m);
        let Some(conversation_id) = m
            .conversation_id
            .clone()
            .filter(|_| is_customer_message(&m))
        else {
            return Ok(());
        };
        let body = m.body.unwrap_or_default();
        let print = fingerprint(&body);
        let sentiment = match stored.get(key) {
            Some(s) if s.fingerprint == print => {
                scores.reused += 1;
                s.sentiment
            }
            _ => {
                to_score.push((scores.messages.len(), print, body));
                Sentiment::NoText
            }
        };
        seen.insert(key.to_string());
        scores.messages.push(CustomerMessage {
            key: key.to_string(),
            conversation_id,
            at: m.created_at.as_ref().and_then(Time::unix),
            sentiment,
        });
        Ok(())
    })?;
    let scored = score_all(scorer, &to_score);
    let mut changed = Vec::with_capacity(scored.len());
    for ((index, print, _), sentiment) in to_score.iter().zip(scored) {
        let message = &mut scores.messages[*index];
        message.sentiment = sentiment;
        changed.push((
            message.key.clone(),
            StoredSentiment {
                fingerprint: *print,
                sentiment,
            },
        ));
    }
    scores.computed = changed.len();
    let removed: Vec<String> = stored
        .into_keys()
        .filter(|key| !seen.contains(key))
        .collect();
    if !changed.is_empty() || !removed.is_empty() {
        store.update_sentiment_scores(connection, &changed, &removed)?;
    }
    Ok(scores)
}

/// Score the bodies in order, split across the machine's cores (the
/// lexicons are shared; each thread borrows the scorer).
fn score_all(scorer: &Scorer, bodies: &[(usize, i64, String)]) -> Vec<Sentiment> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = bodies.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = bodies
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(_, _, body)| scorer.score(body))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("scoring does not panic"))
            .collect()
    })
}
