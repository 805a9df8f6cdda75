//! The guest SDK of the connector contract (`connector:source@0.4.0`,
//! `wit/v0.4.0`): the glue every connector component written in Rust needs,
//! so that a connector is only its sans-IO logic.
//!
//! A connector implements [`Connector`], the native shape of the contract's
//! `source` export, over the SDK's [`Storage`] and [`HttpClient`] traits and
//! the contract's plain Rust [`types`]; [`export_connector!`] makes it a
//! component. The SDK binds the exports, converts between the WIT types and
//! the native ones, sends HTTP through `wasi:http`, reaches the host's
//! `storage` as `HostStorage` (a [`Storage`]) and logs through
//! `wasi:logging` ([`log`]). Natively (in tests) the connector runs over
//! [`MemoryStorage`] and a scripted [`HttpClient`], and the macro expands to
//! nothing.
//!
//! A new connector (a `cdylib` built for `wasm32-wasip2`, depending on this
//! crate) needs these lines:
//!
//! ```
//! use connector_sdk::types::{
//!     ConnectorError, ConnectorSpec, NormalizedRecord, Page, PageRequest, StreamInfo, Warning,
//! };
//! use connector_sdk::{Connector, HttpClient, Storage};
//!
//! #[derive(Default)]
//! struct Hello<S> {
//!     storage: S,
//! }
//!
//! impl<S: Storage> Connector for Hello<S> {
//!     const LOG_CONTEXT: &'static str = "hello";
//! #   fn spec(&self) -> ConnectorSpec { todo!() }
//! #   fn configure(&mut self, config: &str, auth_scheme: &str) -> Result<String, ConnectorError> { todo!() }
//! #   fn check(&mut self, http: &mut impl HttpClient) -> Result<Vec<Warning>, ConnectorError> { todo!() }
//! #   fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> { todo!() }
//! #   fn map_record(&mut self, stream: &str, raw: &str) -> Result<Vec<NormalizedRecord>, ConnectorError> { todo!() }
//!     // spec, configure, check, discover and map_record likewise.
//!     fn fetch_page(
//!         &mut self,
//!         http: &mut impl HttpClient,
//!         request: &PageRequest,
//!     ) -> Result<Page, ConnectorError> {
//!         self.storage.set("last-stream", request.stream.as_bytes())?;
//!         todo!("send requests with `http`, return the records")
//!     }
//! }
//!
//! connector_sdk::export_connector!(Hello<connector_sdk::HostStorage>);
//! ```

#![warn(missing_docs)]

pub mod http;
pub mod log;
pub mod storage;

/// The contract's records and error in plain Rust (the `connector-types`
/// crate, shared with the host).
pub use connector_types as types;

pub use http::{HttpClient, HttpRequestSpec, HttpResponse, TransportError};
pub use storage::{MemoryStorage, Storage, StorageError};

use types::{
    ConnectorError, ConnectorSpec, NormalizedRecord, Page, PageRequest, StreamInfo, Warning,
};

/// The wit-bindgen bindings of the contract's world `connector-core`; their
/// `export!` macro is public so that [`export_connector!`] works from the
/// connector's crate.
#[cfg(target_arch = "wasm32")]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v0.4.0",
        world: "connector-core",
        generate_all,
        pub_export_macro: true,
    });
}

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(target_arch = "wasm32")]
pub use wasm::{HostStorage, Instance};

/// A connector: the contract's `source` export on native types. Errors say
/// what to do next; only `check` and `fetch_page` do I/O, through `http`.
pub trait Connector {
    /// The context of the SDK's log messages about this connector (its
    /// requests and errors), e.g. its name.
    const LOG_CONTEXT: &'static str;

    /// `spec`: config schema, auth schemes, outbound hosts. No config needed.
    fn spec(&self) -> ConnectorSpec;

    /// `configure`: validates and adopts a config (secrets replaced by
    /// `"<secret>"`); returns it normalised.
    fn configure(&mut self, config: &str, auth_scheme: &str) -> Result<String, ConnectorError>;

    /// `check`: credentials, role and reach, with warnings.
    fn check(&mut self, http: &mut impl HttpClient) -> Result<Vec<Warning>, ConnectorError>;

    /// `discover`: the streams this config reads.
    fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError>;

    /// `fetch-page`: one page of a stream.
    fn fetch_page(
        &mut self,
        http: &mut impl HttpClient,
        request: &PageRequest,
    ) -> Result<Page, ConnectorError>;

    /// `map-record`: one raw record of a stream to normalized records.
    fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> Result<Vec<NormalizedRecord>, ConnectorError>;
}

/// Exports a [`Connector`] as the component's `source`:
/// `export_connector!(MyConnector<connector_sdk::HostStorage>);` at the top
/// level of the connector's crate. The type must implement
/// [`Default`]; the component's one instance is created on the first call.
/// Natively the macro expands to nothing.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Component;

            ::std::thread_local! {
                static CONNECTOR: ::std::cell::RefCell<$connector> =
                    ::std::cell::RefCell::new(<$connector as ::std::default::Default>::default());
            }

            impl $crate::Instance for Component {
                type Connector = $connector;

                fn with<T>(f: impl FnOnce(&mut $connector) -> T) -> T {
                    CONNECTOR.with(|c| f(&mut c.borrow_mut()))
                }
            }

            $crate::bindings::export! { Component with_types_in $crate::bindings }
        };
    };
}
