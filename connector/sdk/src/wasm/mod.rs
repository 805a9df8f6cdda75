//! The component side: the `source` export onto a [`Connector`], the host's
//! `storage` import behind [`Storage`], and HTTP through `wasi:http`.

mod convert;
mod http;

use crate::bindings::connector::source::storage as host;
use crate::bindings::connector::source::types as wit;
use crate::bindings::exports::connector::source::source::Guest;
use crate::log::{log, Level};
use crate::storage::{Storage, StorageError};
use crate::types::{ConnectorError, PageRequest};
use crate::Connector;
use http::WasiHttp;

/// The host's `storage` interface: the connection's durable key-value store.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostStorage;

impl From<host::StorageError> for StorageError {
    fn from(error: host::StorageError) -> Self {
        match error {
            host::StorageError::QuotaExceeded(m) => StorageError::QuotaExceeded(m),
            host::StorageError::Unavailable(m) => StorageError::Unavailable(m),
        }
    }
}

impl Storage for HostStorage {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(host::get(key)?)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        Ok(host::set(key, value)?)
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        Ok(host::delete(key)?)
    }

    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        Ok(host::list_keys(prefix)?)
    }
}

/// The component's one connector instance, which
/// [`export_connector!`](crate::export_connector) declares; every export
/// runs on it.
#[doc(hidden)]
pub trait Instance: 'static {
    /// The exported connector.
    type Connector: Connector;

    /// Runs `f` on the instance.
    fn with<T>(f: impl FnOnce(&mut Self::Connector) -> T) -> T;
}

/// Logs `error` as a warning under the connector's context and converts it
/// for the host.
fn reported<C: Connector>(error: ConnectorError) -> wit::ConnectorError {
    log(Level::Warn, C::LOG_CONTEXT, &error.to_string());
    error.into()
}

/// The HTTP client handed to the connector's `check` and `fetch-page`.
fn http<C: Connector>() -> WasiHttp {
    WasiHttp {
        context: C::LOG_CONTEXT,
    }
}

impl<I: Instance> Guest for I {
    fn spec() -> wit::ConnectorSpec {
        I::with(|c| c.spec()).into()
    }

    fn configure(config: String, auth_scheme: String) -> Result<String, wit::ConnectorError> {
        I::with(|c| c.configure(&config, &auth_scheme)).map_err(reported::<I::Connector>)
    }

    fn check() -> Result<Vec<wit::Warning>, wit::ConnectorError> {
        let warnings =
            I::with(|c| c.check(&mut http::<I::Connector>())).map_err(reported::<I::Connector>)?;
        Ok(warnings.into_iter().map(Into::into).collect())
    }

    fn discover() -> Result<Vec<wit::StreamInfo>, wit::ConnectorError> {
        let streams = I::with(|c| c.discover()).map_err(reported::<I::Connector>)?;
        Ok(streams.into_iter().map(Into::into).collect())
    }

    fn fetch_page(request: wit::PageRequest) -> Result<wit::Page, wit::ConnectorError> {
        let request = PageRequest::from(request);
        I::with(|c| c.fetch_page(&mut http::<I::Connector>(), &request))
            .map(Into::into)
            .map_err(reported::<I::Connector>)
    }

    fn map_record(
        stream: String,
        raw: String,
    ) -> Result<Vec<wit::NormalizedRecord>, wit::ConnectorError> {
        let records = I::with(|c| c.map_record(&stream, &raw)).map_err(reported::<I::Connector>)?;
        Ok(records.into_iter().map(Into::into).collect())
    }
}
