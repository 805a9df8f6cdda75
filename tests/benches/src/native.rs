//! The Zendesk connector linked natively, as a sync [`Source`]: the same
//! sans-IO core as the component, with HTTP through the host's client and
//! storage in the host's database. Used to measure what the WebAssembly
//! boundary costs on a whole import.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use connector_runtime::contract::{NormalizedRecord, Page, PageRequest};
use connector_runtime::errors::ConnectorError;
use connector_runtime::findings::Findings;
use connector_runtime::http_policy::Origin;
use connector_runtime::kv::{ConnectionStorage, StorageQuota};
use connector_runtime::outbound::HttpsClient;
use connector_store_sqlite::Database;
use connector_sync::Source;
use zendesk_connector::api::{HttpRequestSpec, HttpResponse, TransportError};
use zendesk_connector::{HttpClient, NativeConnector, Storage};

/// The host's storage namespace behind the connector's `Storage` trait.
pub struct HostStorage(RefCell<ConnectionStorage>);

impl Storage for HostStorage {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, zendesk_connector::storage::StorageError> {
        self.0.borrow().get(key).map_err(storage_error)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), zendesk_connector::storage::StorageError> {
        self.0.borrow_mut().set(key, value).map_err(storage_error)
    }

    fn delete(&self, key: &str) -> Result<(), zendesk_connector::storage::StorageError> {
        self.0.borrow_mut().delete(key).map_err(storage_error)
    }

    fn list_keys(
        &self,
        prefix: &str,
    ) -> Result<Vec<String>, zendesk_connector::storage::StorageError> {
        self.0.borrow().list_keys(prefix).map_err(storage_error)
    }
}

fn storage_error(
    e: connector_runtime::kv::StorageError,
) -> zendesk_connector::storage::StorageError {
    zendesk_connector::storage::StorageError::Unavailable(e.to_string())
}

/// HTTP for the native connector: the host's HTTPS client, with the
/// `Authorization` header the host would inject.
pub struct NativeHttp {
    client: Arc<HttpsClient>,
    authorization: String,
}

impl HttpClient for NativeHttp {
    fn send(&mut self, spec: &HttpRequestSpec) -> Result<HttpResponse, TransportError> {
        let uri: http::Uri = spec
            .url
            .parse()
            .map_err(|e| TransportError::Other(format!("bad URL: {e}")))?;
        let origin = Origin::parse(&format!(
            "https://{}",
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        ))
        .map_err(|e| TransportError::Other(e.to_string()))?;
        let mut builder = http::Request::get(uri.clone())
            .header("host", origin.host.as_str())
            .header("authorization", self.authorization.as_str());
        for (name, value) in &spec.headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(wasmtime_wasi_http::WasiBody::default())
            .map_err(|e| TransportError::Other(e.to_string()))?;
        let client = self.client.clone();
        let timeouts = client.options().timeouts;
        tokio::runtime::Handle::current().block_on(async move {
            use http_body_util::BodyExt;
            let response = client
                .send(&origin, request, timeouts, &Findings::default())
                .await
                .map_err(|e| TransportError::Other(format!("{:?}", e.code)))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| TransportError::Other(format!("{e:?}")))?
                .to_bytes()
                .to_vec();
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}

/// The native connector as a sync source.
pub struct NativeSource {
    connector: NativeConnector<HostStorage>,
    http: NativeHttp,
}

impl NativeSource {
    /// A configured native connector for `connection`, with `config` (secrets
    /// included; the connector sees placeholders, as in the component).
    pub fn open(
        db: &Database,
        connection: &str,
        config: &serde_json::Value,
        client: Arc<HttpsClient>,
    ) -> Result<Self, ConnectorError> {
        let storage =
            ConnectionStorage::open(Arc::new(db.clone()), connection, StorageQuota::default())?;
        let mut connector = NativeConnector::new(HostStorage(RefCell::new(storage)));
        let mut guest_config = config.clone();
        guest_config["api_token"] = "<secret>".into();
        connector
            .configure(&guest_config.to_string(), "api_token")
            .map_err(convert)?;
        let credentials = format!(
            "{}/token:{}",
            config["email"].as_str().unwrap_or_default(),
            config["api_token"].as_str().unwrap_or_default()
        );
        use base64::Engine as _;
        let authorization = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        Ok(NativeSource {
            connector,
            http: NativeHttp {
                client,
                authorization,
            },
        })
    }
}

/// The connector's error as the host's, by the runtime's one conversion.
fn convert(err: zendesk_connector::types::ConnectorError) -> ConnectorError {
    err.into()
}

impl Source for NativeSource {
    fn fetch_page(
        &mut self,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page, ConnectorError>> + Send {
        let result =
            tokio::task::block_in_place(|| self.connector.fetch_page(&mut self.http, request));
        async move { result.map_err(convert) }
    }

    fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> impl Future<Output = Result<Vec<NormalizedRecord>, ConnectorError>> + Send {
        let result = self.connector.map_record(stream, raw);
        async move { result.map_err(convert) }
    }
}
