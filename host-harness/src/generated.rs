//! Bindings of contract version 0.1 (`wit/v0.1.0`), kept private, and their
//! conversions to the version-neutral types in `contract`.

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "connector-core",
    exports: { default: async },
});

use connector::source::types as wit;

use crate::contract::{
    AuthKind, AuthScheme, Budget, ConnectorSpec, NormalizedRecord, OAuth2, Page, PageRequest,
    StreamInfo, SyncMode,
};
use crate::errors::{ConnectorError, FieldError};

/// The export interface name this version serves, for version detection.
pub const SOURCE_EXPORT_PREFIX: &str = "connector:source/source@0.1.";

impl From<wit::ConnectorError> for ConnectorError {
    fn from(err: wit::ConnectorError) -> Self {
        match err {
            wit::ConnectorError::Config(fields) => ConnectorError::Config(
                fields
                    .into_iter()
                    .map(|f| FieldError {
                        field: f.field,
                        message: f.message,
                    })
                    .collect(),
            ),
            wit::ConnectorError::Auth(m) => ConnectorError::Auth(m),
            wit::ConnectorError::Permission(m) => ConnectorError::Permission(m),
            wit::ConnectorError::RateLimited(r) => ConnectorError::RateLimited {
                retry_after: std::time::Duration::from_millis(r.retry_after_ms),
                message: r.message,
            },
            wit::ConnectorError::Transient(m) => ConnectorError::Transient(m),
            wit::ConnectorError::Protocol(m) => ConnectorError::Protocol(m),
            wit::ConnectorError::Internal(m) => ConnectorError::Internal(m),
        }
    }
}

fn oauth2(o: wit::Oauth2) -> OAuth2 {
    OAuth2 {
        token_url: o.token_url,
        client_id_field: o.client_id_field,
        client_secret_field: o.client_secret_field,
        refresh_token_field: o.refresh_token_field,
        access_token_field: o.access_token_field,
        scopes: o.scopes,
    }
}

impl From<wit::ConnectorSpec> for ConnectorSpec {
    fn from(spec: wit::ConnectorSpec) -> Self {
        ConnectorSpec {
            name: spec.name,
            version: spec.version,
            description: spec.description,
            config_schema: spec.config_schema,
            auth_schemes: spec
                .auth_schemes
                .into_iter()
                .map(|s| AuthScheme {
                    id: s.id,
                    description: s.description,
                    required_fields: s.required_fields,
                    kind: match s.kind {
                        wit::AuthKind::Basic(t) => AuthKind::Basic(t),
                        wit::AuthKind::Bearer(t) => AuthKind::Bearer(t),
                        wit::AuthKind::Oauth2RefreshToken(o) => {
                            AuthKind::OAuth2RefreshToken(oauth2(o))
                        }
                        wit::AuthKind::Oauth2ClientCredentials(o) => {
                            AuthKind::OAuth2ClientCredentials(oauth2(o))
                        }
                    },
                })
                .collect(),
            allowed_hosts: spec.allowed_hosts,
        }
    }
}

impl From<wit::StreamInfo> for StreamInfo {
    fn from(s: wit::StreamInfo) -> Self {
        StreamInfo {
            name: s.name,
            description: s.description,
            record_kinds: s.record_kinds,
            json_schema: s.json_schema,
            primary_key: s.primary_key,
            cursor_field: s.cursor_field,
            sync_modes: s
                .sync_modes
                .into_iter()
                .map(|m| match m {
                    wit::SyncMode::FullRefresh => SyncMode::FullRefresh,
                    wit::SyncMode::Incremental => SyncMode::Incremental,
                })
                .collect(),
            depends_on: s.depends_on,
            optional: s.optional,
        }
    }
}

impl From<&PageRequest> for wit::PageRequest {
    fn from(r: &PageRequest) -> Self {
        wit::PageRequest {
            stream: r.stream.clone(),
            cursor: r.cursor.clone(),
            sync_started_at: r.sync_started_at,
            page_size: r.page_size,
        }
    }
}

impl From<wit::Page> for Page {
    fn from(p: wit::Page) -> Self {
        Page {
            records: p.records,
            next_cursor: p.next_cursor,
            done: p.done,
            budgets: p
                .budgets
                .into_iter()
                .map(|b| Budget {
                    name: b.name,
                    limit: b.limit,
                    remaining: b.remaining,
                    reset_seconds: b.reset_seconds,
                })
                .collect(),
            requests: p.requests,
        }
    }
}

impl From<wit::NormalizedRecord> for NormalizedRecord {
    fn from(r: wit::NormalizedRecord) -> Self {
        NormalizedRecord {
            kind: r.kind,
            key: r.key,
            version: r.version,
            data: r.data,
            deleted: r.deleted,
        }
    }
}
