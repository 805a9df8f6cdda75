//! `GET /api/v2/search/export`: ticket search with Zendesk's query syntax (a subset).

use serde_json::{json, Value};

use super::paging::{self, Ids};
use super::{Reply, Req};
use crate::model::{Account, Status, TicketFacts, TicketState};
use crate::render::Renderer;

/// A comparison in a query term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ord == Equal,
            Op::Lt => ord == Less,
            Op::Le => ord != Greater,
            Op::Gt => ord == Greater,
            Op::Ge => ord != Less,
        }
    }
}

/// One term of a query: `key<op>value`, or free text when `key` is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    negated: bool,
    key: String,
    op: Op,
    value: String,
}

/// Splits a query into terms, keeping quoted phrases together.
fn parse(query: &str) -> Vec<Term> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .map(|word| {
            let (negated, word) = match word.strip_prefix('-') {
                Some(rest) => (true, rest.to_string()),
                None => (false, word),
            };
            let Some(at) = word.find([':', '<', '>']) else {
                return Term {
                    negated,
                    key: String::new(),
                    op: Op::Eq,
                    value: word.to_lowercase(),
                };
            };
            let (key, rest) = word.split_at(at);
            let (op, value) = [
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
                (":", Op::Eq),
            ]
            .iter()
            .find_map(|(p, op)| rest.strip_prefix(p).map(|v| (*op, v)))
            .unwrap_or((Op::Eq, rest));
            Term {
                negated,
                key: key.to_lowercase(),
                op,
                value: value.to_lowercase(),
            }
        })
        .collect()
}

/// What a ticket is matched against.
struct Candidate<'a> {
    acct: &'a Account,
    state: &'a TicketState,
    facts: TicketFacts,
}

impl Candidate<'_> {
    /// Whether the ticket satisfies one term (before negation); `None` for an unknown key,
    /// which Zendesk treats as text.
    fn term(&self, t: &Term) -> Option<bool> {
        let f = &self.facts;
        let cmp_rank = |ranks: &[&str], have: Option<&str>| -> bool {
            let pos = |v: &str| ranks.iter().position(|r| *r == v);
            match (have.and_then(pos), pos(&t.value)) {
                (Some(a), Some(b)) => t.op.holds(a.cmp(&b)),
                _ => false,
            }
        };
        let ids = |user: Option<usize>| user.map(|u| self.acct.users[u].id.to_string());
        Some(match t.key.as_str() {
            "type" => t.value == "ticket",
            "status" => {
                let ranks: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                cmp_rank(&ranks, Some(self.state.status.as_str()))
            }
            "priority" => cmp_rank(&["low", "normal", "high", "urgent"], f.priority),
            "ticket_type" => f.kind == Some(t.value.as_str()),
            "tags" | "tag" => f.tags.contains(&t.value),
            "group" | "group_id" => self.acct.groups[f.group].id.to_string() == t.value,
            "brand" | "brand_id" => self.acct.brands[f.brand].id.to_string() == t.value,
            "assignee" => match t.value.as_str() {
                "none" => f.assignee.is_none(),
                v => ids(f.assignee).as_deref() == Some(v),
            },
            "requester" => {
                let u = &self.acct.users[f.requester];
                u.id.to_string() == t.value || u.email == t.value
            }
            "organization" => {
                self.acct.users[f.requester]
                    .org_id
                    .map(|o| o.to_string())
                    .as_deref()
                    == Some(&t.value)
            }
            "created" | "updated" => {
                let at = if t.key == "created" {
                    self.state.created_at
                } else {
                    self.state.updated_at
                };
                let day = crate::timefmt::date(at);
                t.op.holds(day.as_str().cmp(t.value.as_str()))
            }
            _ => return None,
        })
    }

    fn text(&self, words: &str) -> bool {
        self.facts.subject.to_lowercase().contains(words)
            || self.facts.tags.iter().any(|t| t == words)
    }
}

/// Whether a ticket matches every term (equal-keyed `key:value` terms are alternatives).
fn matches(acct: &Account, id: u64, terms: &[Term]) -> bool {
    let Some(state) = acct.ticket(id) else {
        return false;
    };
    if state.status == Status::Deleted {
        return false;
    }
    let c = Candidate {
        acct,
        state,
        facts: acct.facts(id, state.base_status),
    };
    let eval = |t: &Term| {
        let hit = if t.key.is_empty() {
            c.text(&t.value)
        } else {
            c.term(t).unwrap_or_else(|| c.text(&t.value))
        };
        hit != t.negated
    };
    let mut keys: Vec<&str> = terms.iter().map(|t| t.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.iter().all(|key| {
        let group: Vec<&Term> = terms.iter().filter(|t| t.key == *key).collect();
        let alternatives = group.iter().all(|t| t.op == Op::Eq && !t.negated) && !key.is_empty();
        if alternatives {
            group.iter().any(|t| eval(t))
        } else {
            group.iter().all(|t| eval(t))
        }
    })
}

/// Answers `search/export`: cursor-paginated tickets matching `query` (`filter[type]=ticket`).
pub(super) fn export(r: &Renderer<'_>, req: &Req) -> Result<Reply, Reply> {
    let query = req
        .param("query")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| {
            Reply::error(
                400,
                json!({"error": "InvalidValue", "description": "query is required"}),
            )
        })?;
    match req.param("filter[type]") {
        Some("ticket") => {}
        Some(other) => {
            return Err(Reply::error(
                422,
                json!({"error": "InvalidValue", "description": format!("filter[type] {other} is not supported by this simulator")}),
            ))
        }
        None => {
            return Err(Reply::error(
                400,
                json!({"error": "InvalidValue", "description": "filter[type] is required"}),
            ))
        }
    }
    let terms = parse(query);
    let acct = r.acct;
    let ids = Ids::Range {
        max: acct.ticket_count(),
        keep: Box::new(|id| matches(acct, id, &terms)),
    };
    let paging = paging::parse(req, 1000, true)?;
    let page = paging::select(&ids, &paging);
    let items: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| r.ticket_value(*id))
        .map(|mut t| {
            t["result_type"] = json!("ticket");
            t
        })
        .collect();
    let mut body = paging::envelope(req, "results", items, &paging, &page);
    body["facets"] = Value::Null;
    Ok(Reply::json(200, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operators_negation_and_phrases() {
        let terms = parse("type:ticket status<solved -tags:vip \"mobile app\" created>=2024-01-31");
        let summary: Vec<(bool, &str, Op, &str)> = terms
            .iter()
            .map(|t| (t.negated, t.key.as_str(), t.op, t.value.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (false, "type", Op::Eq, "ticket"),
                (false, "status", Op::Lt, "solved"),
                (true, "tags", Op::Eq, "vip"),
                (false, "", Op::Eq, "mobile app"),
                (false, "created", Op::Ge, "2024-01-31"),
            ]
        );
    }
}
