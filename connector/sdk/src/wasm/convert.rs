//! Conversions between the contract's bindings and the native types of
//! [`connector_types`], one to one.

use crate::bindings::connector::source::types as wit;
use crate::types as native;

impl From<native::ConnectorError> for wit::ConnectorError {
    fn from(error: native::ConnectorError) -> Self {
        use native::ConnectorError as E;
        match error {
            E::Config(fields) => wit::ConnectorError::Config(
                fields
                    .into_iter()
                    .map(|f| wit::FieldError {
                        field: f.field,
                        message: f.message,
                    })
                    .collect(),
            ),
            E::Auth(m) => wit::ConnectorError::Auth(m),
            E::Permission(m) => wit::ConnectorError::Permission(m),
            E::RateLimited(r) => wit::ConnectorError::RateLimited(wit::RateLimit {
                retry_after_ms: r.retry_after_ms,
                message: r.message,
            }),
            E::Transient(m) => wit::ConnectorError::Transient(m),
            E::Protocol(m) => wit::ConnectorError::Protocol(m),
            E::Internal(m) => wit::ConnectorError::Internal(m),
        }
    }
}

impl From<native::OAuth2> for wit::Oauth2 {
    fn from(o: native::OAuth2) -> Self {
        wit::Oauth2 {
            token_url: o.token_url,
            authorize_url: o.authorize_url,
            client_id_field: o.client_id_field,
            client_secret_field: o.client_secret_field,
            refresh_token_field: o.refresh_token_field,
            access_token_field: o.access_token_field,
            scopes: o.scopes,
        }
    }
}

impl From<native::AuthKind> for wit::AuthKind {
    fn from(kind: native::AuthKind) -> Self {
        match kind {
            native::AuthKind::Basic(t) => wit::AuthKind::Basic(t),
            native::AuthKind::Bearer(t) => wit::AuthKind::Bearer(t),
            native::AuthKind::OAuth2RefreshToken(o) => wit::AuthKind::Oauth2RefreshToken(o.into()),
            native::AuthKind::OAuth2ClientCredentials(o) => {
                wit::AuthKind::Oauth2ClientCredentials(o.into())
            }
        }
    }
}

impl From<native::ConnectorSpec> for wit::ConnectorSpec {
    fn from(s: native::ConnectorSpec) -> Self {
        wit::ConnectorSpec {
            name: s.name,
            version: s.version,
            description: s.description,
            config_schema: s.config_schema,
            auth_schemes: s
                .auth_schemes
                .into_iter()
                .map(|a| wit::AuthScheme {
                    id: a.id,
                    description: a.description,
                    required_fields: a.required_fields,
                    kind: a.kind.into(),
                })
                .collect(),
            allowed_hosts: s.allowed_hosts,
            disconnect_advice: s.disconnect_advice,
        }
    }
}

impl From<native::StreamInfo> for wit::StreamInfo {
    fn from(s: native::StreamInfo) -> Self {
        wit::StreamInfo {
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
                    native::SyncMode::FullRefresh => wit::SyncMode::FullRefresh,
                    native::SyncMode::Incremental => wit::SyncMode::Incremental,
                })
                .collect(),
            depends_on: s.depends_on,
            optional: s.optional,
            refresh_every_seconds: s.refresh_every_seconds,
        }
    }
}

impl From<wit::PageRequest> for native::PageRequest {
    fn from(r: wit::PageRequest) -> Self {
        native::PageRequest {
            stream: r.stream,
            cursor: r.cursor,
            sync_started_at: r.sync_started_at,
            page_size: r.page_size,
        }
    }
}

impl From<native::Page> for wit::Page {
    fn from(p: native::Page) -> Self {
        wit::Page {
            records: p.records,
            next_cursor: p.next_cursor,
            done: p.done,
            budgets: p
                .budgets
                .into_iter()
                .map(|b| wit::Budget {
                    name: b.name,
                    limit: b.limit,
                    remaining: b.remaining,
                    reset_seconds: b.reset_seconds,
                })
                .collect(),
            requests: p.requests,
            progress: p.progress.map(|p| wit::Progress {
                done: p.done,
                total: p.total,
            }),
        }
    }
}

impl From<native::NormalizedRecord> for wit::NormalizedRecord {
    fn from(r: native::NormalizedRecord) -> Self {
        wit::NormalizedRecord {
            kind: r.kind,
            key: r.key,
            version: r.version,
            data: r.data,
            deleted: r.deleted,
        }
    }
}

impl From<native::Warning> for wit::Warning {
    fn from(w: native::Warning) -> Self {
        wit::Warning { message: w.message }
    }
}
