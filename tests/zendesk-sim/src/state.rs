//! State shared by the listeners and the handle: accounts, clock, limits, faults, counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::auth::{AuthError, Caller, Secrets};
use crate::clock::SimClock;
use crate::config::{RateLimits, SimConfig};
use crate::faults::{FaultKind, FaultTable};
use crate::limits::{LimitState, Verdict};
use crate::model::{Account, Role};

/// Locks a mutex, ignoring poisoning (a panicked request must not take the simulator down).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One account with its secrets and rate-limit budgets.
#[derive(Debug)]
pub(crate) struct AccountState {
    data: RwLock<Account>,
    pub secrets: Mutex<Secrets>,
    limits: Mutex<LimitState>,
}

impl AccountState {
    /// Wraps a generated account; its secrets are issued at `now_ms`.
    pub(crate) fn new(account: Account, now_ms: i64, refresh_ttl_ms: i64) -> Self {
        let secrets = Secrets::new(&account, now_ms, refresh_ttl_ms);
        AccountState {
            data: RwLock::new(account),
            secrets: Mutex::new(secrets),
            limits: Mutex::new(LimitState::default()),
        }
    }

    /// Reads the dataset.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Account> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the dataset.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Account> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Authenticates an `Authorization` header.
    pub(crate) fn authenticate(
        &self,
        shared: &Shared,
        header: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let data = self.read();
        lock(&self.secrets).authenticate(
            &data,
            header,
            shared.token_access.load(Ordering::Relaxed),
            shared.clock.now_ms(),
        )
    }

    /// The role of a user, and whether it is a light agent.
    pub(crate) fn role_of(&self, index: usize) -> (Role, bool) {
        let data = self.read();
        let u = &data.users[index];
        (u.role, u.light_agent)
    }
}

/// Everything the listeners and the handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub clock: SimClock,
    pub accounts: BTreeMap<String, AccountState>,
    pub token_access: AtomicBool,
    pub rate_limits: Mutex<Option<RateLimits>>,
    pub faults: Mutex<FaultTable>,
    pub counts: Mutex<BTreeMap<String, u64>>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
}

impl Shared {
    /// Generates every account of `config`.
    pub(crate) fn new(config: &SimConfig) -> Shared {
        let origin = config.epoch.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
        let clock = SimClock::new(origin, config.time_scale);
        let refresh_ttl_ms = config.refresh_token_ttl_secs as i64 * 1000;
        let accounts = config
            .accounts
            .iter()
            .map(|name| {
                let account = Account::generate(name, config, origin);
                (
                    name.clone(),
                    AccountState::new(account, origin * 1000, refresh_ttl_ms),
                )
            })
            .collect();
        Shared {
            clock,
            accounts,
            token_access: AtomicBool::new(config.token_access_enabled),
            rate_limits: Mutex::new(config.rate_limits),
            faults: Mutex::new(FaultTable::new(config.seed)),
            counts: Mutex::new(BTreeMap::new()),
            access_ttl_secs: config.access_token_ttl_secs,
            refresh_ttl_secs: config.refresh_token_ttl_secs,
        }
    }

    /// The account a `Host` (without port) names: `acme.zendesk.com` → `acme`. A host outside
    /// `zendesk.com` (such as `127.0.0.1`) reaches the only account when there is just one.
    pub(crate) fn account_for_host(&self, host: &str) -> Option<&AccountState> {
        let host = host.to_ascii_lowercase();
        match host.strip_suffix(".zendesk.com") {
            Some(sub) => self.accounts.get(sub),
            None if host == "zendesk.com" => None,
            None if self.accounts.len() == 1 => self.accounts.values().next(),
            None => None,
        }
    }

    /// Counts a request to `endpoint`.
    pub(crate) fn count(&self, endpoint: &str) {
        *lock(&self.counts).entry(endpoint.to_string()).or_default() += 1;
    }

    /// The fault that fires for this request, if any.
    pub(crate) fn fire_fault(&self, endpoint: &str, page_size: u32) -> Option<FaultKind> {
        lock(&self.faults).fire(endpoint, page_size)
    }

    /// Checks and counts a request against the account's budgets; `None` when limits are off.
    pub(crate) fn check_limits(
        &self,
        account: &AccountState,
        incremental: bool,
    ) -> Option<Verdict> {
        let limits = (*lock(&self.rate_limits))?;
        Some(lock(&account.limits).check(&limits, incremental, &self.clock))
    }
}
