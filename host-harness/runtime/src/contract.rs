//! The connector contract in version-neutral host types. Each supported WIT
//! version converts its generated types into these, so the rest of the host
//! serves every version the same way. They are the contract's shared Rust
//! types ([`connector_types`]), which connectors written in Rust build too.

pub use connector_types::{
    AuthKind, AuthScheme, Budget, ConnectorSpec, NormalizedRecord, OAuth2, Page, PageRequest,
    Progress, StreamInfo, SyncMode,
};
