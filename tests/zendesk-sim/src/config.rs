//! Configuration of a simulator run.

use std::path::PathBuf;

/// What to simulate: dataset size and shape, accounts, limits and clock.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the deterministic generator: the same seed gives the same dataset.
    pub seed: u64,
    /// Tickets generated per account (ids `1..=tickets`).
    pub tickets: usize,
    /// Average number of comments per ticket (the first one is the description).
    pub comments_per_ticket: usize,
    /// Users per account (one admin, several agents, one light agent, the rest end users).
    pub users: usize,
    /// Organizations per account.
    pub organizations: usize,
    /// Account subdomains served, e.g. `["acme"]` for `acme.zendesk.com`.
    pub accounts: Vec<String>,
    /// Rate limits; `None` turns them off (no limit and no rate-limit headers).
    pub rate_limits: Option<RateLimits>,
    /// Speed of the simulated clock: 1.0 is real time, 60.0 makes a minute last one second.
    pub time_scale: f64,
    /// Whether API token access is enabled (Admin Center > Apps and integrations > APIs).
    pub token_access_enabled: bool,
    /// Generated history spans this many days before the simulator's start.
    pub history_days: u32,
    /// Unix time (seconds) the simulated clock starts at; `None` means the real current time.
    /// Fixing it makes timestamps, and so the ground truth, reproducible.
    pub epoch: Option<i64>,
    /// Port of the HTTPS listener on 127.0.0.1 (0 picks a free one).
    pub https_port: u16,
    /// Port of the plain HTTP listener on 127.0.0.1 (0 picks a free one).
    pub http_port: u16,
    /// Where to write the CA certificate (PEM); `None` writes it to a fresh temporary directory.
    pub ca_cert_path: Option<PathBuf>,
    /// Lifetime of OAuth access tokens in simulated seconds (Zendesk's default: 30 minutes).
    pub access_token_ttl_secs: u64,
    /// Lifetime of OAuth refresh tokens in simulated seconds (Zendesk's default: 30 days).
    pub refresh_token_ttl_secs: u64,
    /// Share (0.0 to 1.0) of the generated tickets that are archived: the oldest ones, made
    /// closed more than 120 days before the start (Zendesk archives closed tickets 120 days
    /// after they were closed). Archived tickets leave `/api/v2/tickets` and
    /// `/api/v2/ticket_audits` but stay in the exports, search and the per-ticket endpoints.
    /// 0.0 (the default) archives nothing and leaves the dataset as it was.
    pub archived_share: f64,
}

impl SimConfig {
    /// This config with the simulated clock starting ten minutes behind this machine's,
    /// unless `epoch` is already set. See [`crate::Simulator::start_settled`].
    pub fn behind_real_time(self) -> SimConfig {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        SimConfig {
            epoch: self.epoch.or(Some(now - 600)),
            ..self
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            tickets: 200,
            comments_per_ticket: 4,
            users: 60,
            organizations: 12,
            accounts: vec!["acme".to_string()],
            rate_limits: None,
            time_scale: 1.0,
            token_access_enabled: true,
            history_days: 90,
            epoch: None,
            https_port: 0,
            http_port: 0,
            ca_cert_path: None,
            access_token_ttl_secs: 30 * 60,
            refresh_token_ttl_secs: 30 * 86_400,
            archived_share: 0.0,
        }
    }
}

/// Zendesk's per-minute request budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Account-wide requests per minute: Team 200, Growth/Professional 400, Enterprise 700,
    /// Enterprise Plus or the High Volume add-on 2500.
    pub account_per_minute: u32,
    /// Requests per minute to the incremental export endpoints (10).
    pub incremental_per_minute: u32,
    /// Whether a 429 carries `Retry-After` (Zendesk sometimes leaves it out).
    pub send_retry_after: bool,
}

impl RateLimits {
    /// The limits of a plan by name: `team`, `growth`, `professional`, `enterprise`,
    /// `enterprise-plus` or `high-volume`; a bare number is taken as the account budget.
    pub fn plan(name: &str) -> Option<RateLimits> {
        let account_per_minute = match name.to_ascii_lowercase().as_str() {
            "team" => 200,
            "growth" | "professional" => 400,
            "enterprise" => 700,
            "enterprise-plus" | "enterprise_plus" | "high-volume" | "high_volume" => 2500,
            other => other.parse().ok()?,
        };
        Some(RateLimits {
            account_per_minute,
            incremental_per_minute: 10,
            send_retry_after: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_map_to_documented_budgets() {
        assert_eq!(RateLimits::plan("Team").unwrap().account_per_minute, 200);
        assert_eq!(RateLimits::plan("growth").unwrap().account_per_minute, 400);
        assert_eq!(
            RateLimits::plan("enterprise").unwrap().account_per_minute,
            700
        );
        assert_eq!(
            RateLimits::plan("high-volume").unwrap().account_per_minute,
            2500
        );
        assert_eq!(RateLimits::plan("123").unwrap().account_per_minute, 123);
        assert_eq!(RateLimits::plan("team").unwrap().incremental_per_minute, 10);
        assert!(RateLimits::plan("gold").is_none());
    }
}
