//! Test support for the stores, used by their tests and by the host's
//! end-to-end tests: [`postgres`] gives each test a fresh PostgreSQL
//! database (from `CONNECTOR_HOST_TEST_POSTGRES`, or a throw-away cluster
//! of its own), [`stores`] opens either store the same way, and
//! [`conformance`] holds the checks both stores must pass, written once;
//! [`contents`] reads what a store holds the same way from either.

pub mod conformance;
pub mod contents;
pub mod postgres;
pub mod stores;
