//! What a matching run found and changed, and the report people read.

use std::collections::BTreeMap;

use crate::matcher::Organization;
use crate::model::{Decision, Method, Outcome, Status};

/// One organization's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgResult {
    /// The organization.
    pub org: Organization,
    /// What was decided.
    pub decision: Decision,
}

/// What a matching run found and changed.
#[derive(Clone, Debug, Default)]
pub struct MatchReport {
    /// Every organization, ambiguous first, then unmatched, then matched.
    pub organizations: Vec<OrgResult>,
    /// People matched through their organization.
    pub people_by_organization: usize,
    /// End users without an organization matched by email domain.
    pub people_by_email: usize,
    /// End users without an organization left unmatched.
    pub people_unmatched: usize,
    /// Ambiguous email domains: reason and number of people.
    pub ambiguous_email: BTreeMap<String, usize>,
    /// Tickets (not deleted).
    pub tickets: usize,
    /// Tickets with a customer.
    pub tickets_attributed: usize,
    /// Whether the connection had results before this run.
    pub rerun: bool,
    /// Organizations whose customer changed: key, name, before, after.
    pub changed_organizations: Vec<(String, String, Option<String>, Option<String>)>,
    /// Tickets whose customer changed (gained, lost or switched).
    pub tickets_moved: usize,
    /// `Name (id)` of every customer, for display.
    pub customer_labels: BTreeMap<String, String>,
}

impl MatchReport {
    /// Organizations with this status.
    pub fn count(&self, status: Status) -> usize {
        self.organizations
            .iter()
            .filter(|r| r.decision.outcome.status() == status)
            .count()
    }
}

/// The report people read: every organization with its outcome and
/// reason, then totals and what changed since the previous run.
pub fn report_text(report: &MatchReport) -> String {
    let label = |id: &Option<String>| match id {
        Some(id) => report
            .customer_labels
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.clone()),
        None => "-".into(),
    };
    let rows: Vec<Vec<String>> = report
        .organizations
        .iter()
        .map(|r| {
            let (customer, method) = match &r.decision.outcome {
                Outcome::Matched {
                    customer_id,
                    method,
                } => (label(&Some(customer_id.clone())), method.as_str()),
                _ => ("-".into(), "-"),
            };
            vec![
                r.org.key.clone(),
                r.org.name.clone().unwrap_or_default(),
                r.decision.outcome.status().as_str().into(),
                customer,
                method.into(),
                r.decision.reason.clone(),
            ]
        })
        .collect();
    let mut out = crate::text::table(
        &[
            "ORGANIZATION",
            "NAME",
            "STATUS",
            "CUSTOMER",
            "METHOD",
            "REASON",
        ],
        &rows,
    );
    let mut methods: BTreeMap<Method, usize> = BTreeMap::new();
    for r in &report.organizations {
        if let Outcome::Matched { method, .. } = r.decision.outcome {
            *methods.entry(method).or_default() += 1;
        }
    }
    let methods: Vec<String> = methods
        .iter()
        .map(|(m, n)| format!("{n} by {}", m.as_str()))
        .collect();
    out.push_str(&format!(
        "\norganizations: {} matched ({}), {} unmatched, {} ambiguous\n",
        report.count(Status::Matched),
        if methods.is_empty() {
            "-".into()
        } else {
            methods.join(", ")
        },
        report.count(Status::Unmatched),
        report.count(Status::Ambiguous),
    ));
    out.push_str(&format!(
        "people: {} through their organization; end users without one: {} matched by email domain, {} unmatched, {} ambiguous\n",
        report.people_by_organization,
        report.people_by_email,
        report.people_unmatched,
        report.ambiguous_email.values().sum::<usize>(),
    ));
    for (reason, n) in &report.ambiguous_email {
        out.push_str(&format!("  ambiguous: {n} people: {reason}\n"));
    }
    out.push_str(&format!(
        "tickets: {} of {} attributed to a customer\n",
        report.tickets_attributed, report.tickets
    ));
    if report.rerun {
        out.push_str(&format!(
            "since the last run: {} organizations changed customer, {} tickets moved\n",
            report.changed_organizations.len(),
            report.tickets_moved
        ));
        for (key, name, before, after) in &report.changed_organizations {
            out.push_str(&format!(
                "  {key} {name}: {} -> {}\n",
                label(before),
                label(after)
            ));
        }
    }
    out
}
