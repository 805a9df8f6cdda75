//! Native forms of the WIT contract's types (`connector:source/types`), so
//! that the core compiles and is tested without WebAssembly: the records
//! and the classified error are the contract's shared Rust types
//! ([`connector_sdk::types`], the `connector-types` crate), which the SDK
//! converts to and from the WIT bindings one to one.

pub use connector_sdk::types::{
    AuthKind, AuthScheme, Budget, ConnectorError, ConnectorSpec, FieldError, NormalizedRecord,
    OAuth2, Page, PageRequest, Progress, RateLimit, StreamInfo, SyncMode, Warning,
};
