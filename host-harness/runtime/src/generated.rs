//! Bindings of every contract version the host serves (`wit/v0.1.0` to
//! `wit/v0.4.0`), kept private, and their conversions to the
//! version-neutral types in `contract`. [`Core`] is an instance of any of
//! them; the rest of the host calls it without knowing the version.

use wasmtime::component::{HasSelf, InstancePre, Linker};
use wasmtime::Store;

use crate::contract::{
    AuthKind, AuthScheme, Budget, ConnectorSpec, NormalizedRecord, OAuth2, Page, PageRequest,
    Progress, StreamInfo, SyncMode,
};
use crate::errors::ConnectorError;
use crate::state::HostState;

/// `connector:source@0.1.x`.
pub(crate) mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "connector-core",
        exports: { default: async },
    });
}

/// `connector:source@0.2.x`: pages say how far their stream has come.
pub(crate) mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.2.0",
        world: "connector-core",
        exports: { default: async },
        // The same logging interface as 0.1: one implementation serves both.
        with: { "wasi:logging/logging": super::v0_1::wasi::logging::logging },
    });
}

/// `connector:source@0.3.x`: streams carry their default refresh interval
/// and the spec its disconnect advice.
pub(crate) mod v0_3 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.3.0",
        world: "connector-core",
        exports: { default: async },
        with: { "wasi:logging/logging": super::v0_1::wasi::logging::logging },
    });
}

/// `connector:source@0.4.x`: an OAuth client may name its authorization
/// endpoint, for the host's sign-in.
pub(crate) mod v0_4 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.4.0",
        world: "connector-core",
        exports: { default: async },
        with: { "wasi:logging/logging": super::v0_1::wasi::logging::logging },
    });
}

/// The contract versions this host serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractVersion {
    /// `connector:source@0.1.x`.
    V0_1,
    /// `connector:source@0.2.x`.
    V0_2,
    /// `connector:source@0.3.x`.
    V0_3,
    /// `connector:source@0.4.x`.
    V0_4,
}

impl ContractVersion {
    /// Every version, oldest first.
    pub const ALL: [ContractVersion; 4] = [
        ContractVersion::V0_1,
        ContractVersion::V0_2,
        ContractVersion::V0_3,
        ContractVersion::V0_4,
    ];

    /// The prefix of the exported interface that implements this version.
    pub fn export_prefix(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "connector:source/source@0.1.",
            ContractVersion::V0_2 => "connector:source/source@0.2.",
            ContractVersion::V0_3 => "connector:source/source@0.3.",
            ContractVersion::V0_4 => "connector:source/source@0.4.",
        }
    }
}

/// Link the contract's own imports (logging and storage) of every version.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    type D = HasSelf<HostState>;
    v0_1::wasi::logging::logging::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_1::connector::source::types::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_1::connector::source::storage::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_2::connector::source::types::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_2::connector::source::storage::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_3::connector::source::types::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_3::connector::source::storage::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_4::connector::source::types::add_to_linker::<HostState, D>(linker, |t| t)?;
    v0_4::connector::source::storage::add_to_linker::<HostState, D>(linker, |t| t)?;
    Ok(())
}

/// A linked component of a known version, ready to instantiate.
#[derive(Clone)]
pub(crate) enum CorePre {
    /// A 0.1 component.
    V0_1(v0_1::ConnectorCorePre<HostState>),
    /// A 0.2 component.
    V0_2(v0_2::ConnectorCorePre<HostState>),
    /// A 0.3 component.
    V0_3(v0_3::ConnectorCorePre<HostState>),
    /// A 0.4 component.
    V0_4(v0_4::ConnectorCorePre<HostState>),
}

/// One instance of a connector.
pub(crate) enum Core {
    /// An instance of a 0.1 component.
    V0_1(v0_1::ConnectorCore),
    /// An instance of a 0.2 component.
    V0_2(v0_2::ConnectorCore),
    /// An instance of a 0.3 component.
    V0_3(v0_3::ConnectorCore),
    /// An instance of a 0.4 component.
    V0_4(v0_4::ConnectorCore),
}

/// A call's outcome: a trap (outer) or the connector's own error (inner).
pub(crate) type CallResult<T> = wasmtime::Result<Result<T, ConnectorError>>;

/// Runs `$body` with `$core` bound to the instance's bindings and `$v` to
/// its version's module.
macro_rules! each_version {
    ($self:expr, |$core:ident, $v:ident| $body:expr) => {
        each_version!(@arms $self, $core, $v, $body, V0_1 => v0_1, V0_2 => v0_2, V0_3 => v0_3, V0_4 => v0_4)
    };
    (@arms $self:expr, $core:ident, $v:ident, $body:expr, $($variant:ident => $module:ident),*) => {
        match $self {
            $(Core::$variant($core) => {
                #[allow(unused_imports)]
                use $module as $v;
                $body
            })*
        }
    };
}

impl CorePre {
    /// Type-check a pre-linked component against `version`'s world.
    pub fn new(version: ContractVersion, pre: InstancePre<HostState>) -> wasmtime::Result<CorePre> {
        Ok(match version {
            ContractVersion::V0_1 => CorePre::V0_1(v0_1::ConnectorCorePre::new(pre)?),
            ContractVersion::V0_2 => CorePre::V0_2(v0_2::ConnectorCorePre::new(pre)?),
            ContractVersion::V0_3 => CorePre::V0_3(v0_3::ConnectorCorePre::new(pre)?),
            ContractVersion::V0_4 => CorePre::V0_4(v0_4::ConnectorCorePre::new(pre)?),
        })
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &wasmtime::Engine {
        match self {
            CorePre::V0_1(pre) => pre.engine(),
            CorePre::V0_2(pre) => pre.engine(),
            CorePre::V0_3(pre) => pre.engine(),
            CorePre::V0_4(pre) => pre.engine(),
        }
    }

    /// A new instance in `store`.
    pub async fn instantiate_async(&self, store: &mut Store<HostState>) -> wasmtime::Result<Core> {
        Ok(match self {
            CorePre::V0_1(pre) => Core::V0_1(pre.instantiate_async(store).await?),
            CorePre::V0_2(pre) => Core::V0_2(pre.instantiate_async(store).await?),
            CorePre::V0_3(pre) => Core::V0_3(pre.instantiate_async(store).await?),
            CorePre::V0_4(pre) => Core::V0_4(pre.instantiate_async(store).await?),
        })
    }
}

impl Core {
    /// `spec`.
    pub async fn spec(&self, store: &mut Store<HostState>) -> CallResult<ConnectorSpec> {
        each_version!(self, |core, _v| Ok(Ok(core
            .connector_source_source()
            .call_spec(store)
            .await?
            .into())))
    }

    /// `configure`: the normalized config.
    pub async fn configure(
        &self,
        store: &mut Store<HostState>,
        config: &str,
        scheme: &str,
    ) -> CallResult<String> {
        each_version!(self, |core, _v| Ok(core
            .connector_source_source()
            .call_configure(store, config, scheme)
            .await?
            .map_err(Into::into)))
    }

    /// `check`: the warnings.
    pub async fn check(&self, store: &mut Store<HostState>) -> CallResult<Vec<String>> {
        each_version!(self, |core, _v| Ok(core
            .connector_source_source()
            .call_check(store)
            .await?
            .map(|warnings| warnings.into_iter().map(|w| w.message).collect())
            .map_err(Into::into)))
    }

    /// `discover`.
    pub async fn discover(&self, store: &mut Store<HostState>) -> CallResult<Vec<StreamInfo>> {
        each_version!(self, |core, _v| Ok(core
            .connector_source_source()
            .call_discover(store)
            .await?
            .map(|streams| streams.into_iter().map(Into::into).collect())
            .map_err(Into::into)))
    }

    /// `fetch-page`.
    pub async fn fetch_page(
        &self,
        store: &mut Store<HostState>,
        request: &PageRequest,
    ) -> CallResult<Page> {
        each_version!(self, |core, v| {
            let request = v::connector::source::types::PageRequest {
                stream: request.stream.clone(),
                cursor: request.cursor.clone(),
                sync_started_at: request.sync_started_at,
                page_size: request.page_size,
            };
            Ok(core
                .connector_source_source()
                .call_fetch_page(store, &request)
                .await?
                .map(Into::into)
                .map_err(Into::into))
        })
    }

    /// `map-record`.
    pub async fn map_record(
        &self,
        store: &mut Store<HostState>,
        stream: &str,
        raw: &str,
    ) -> CallResult<Vec<NormalizedRecord>> {
        each_version!(self, |core, _v| Ok(core
            .connector_source_source()
            .call_map_record(store, stream, raw)
            .await?
            .map(|records| records.into_iter().map(Into::into).collect())
            .map_err(Into::into)))
    }
}

/// Conversions of the types every version shares; the closures read what
/// later versions added: a page's progress (none before 0.2), the spec's
/// disconnect advice and a stream's refresh interval (none before 0.3), an
/// OAuth client's authorization endpoint (none before 0.4).
macro_rules! shared_conversions {
    (
        $v:ident,
        progress: |$page:ident| $progress:expr,
        advice: |$spec:ident| $advice:expr,
        refresh: |$stream:ident| $refresh:expr,
        authorize: |$oauth:ident| $authorize:expr $(,)?
    ) => {
        const _: () = {
            use $v::connector::source::types as wit;
            impl From<wit::ConnectorError> for ConnectorError {
                fn from(err: wit::ConnectorError) -> Self {
                    use connector_types::{ConnectorError as Reported, FieldError, RateLimit};
                    ConnectorError::from(match err {
                        wit::ConnectorError::Config(fields) => Reported::Config(
                            fields
                                .into_iter()
                                .map(|f| FieldError {
                                    field: f.field,
                                    message: f.message,
                                })
                                .collect(),
                        ),
                        wit::ConnectorError::Auth(m) => Reported::Auth(m),
                        wit::ConnectorError::Permission(m) => Reported::Permission(m),
                        wit::ConnectorError::RateLimited(r) => Reported::RateLimited(RateLimit {
                            retry_after_ms: r.retry_after_ms,
                            message: r.message,
                        }),
                        wit::ConnectorError::Transient(m) => Reported::Transient(m),
                        wit::ConnectorError::Protocol(m) => Reported::Protocol(m),
                        wit::ConnectorError::Internal(m) => Reported::Internal(m),
                    })
                }
            }

            impl From<wit::Oauth2> for OAuth2 {
                fn from($oauth: wit::Oauth2) -> Self {
                    let authorize_url = $authorize;
                    let o = $oauth;
                    OAuth2 {
                        token_url: o.token_url,
                        authorize_url,
                        client_id_field: o.client_id_field,
                        client_secret_field: o.client_secret_field,
                        refresh_token_field: o.refresh_token_field,
                        access_token_field: o.access_token_field,
                        scopes: o.scopes,
                    }
                }
            }

            impl From<wit::ConnectorSpec> for ConnectorSpec {
                fn from($spec: wit::ConnectorSpec) -> Self {
                    let disconnect_advice = $advice;
                    let spec = $spec;
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
                                        AuthKind::OAuth2RefreshToken(o.into())
                                    }
                                    wit::AuthKind::Oauth2ClientCredentials(o) => {
                                        AuthKind::OAuth2ClientCredentials(o.into())
                                    }
                                },
                            })
                            .collect(),
                        allowed_hosts: spec.allowed_hosts,
                        disconnect_advice,
                    }
                }
            }

            impl From<wit::StreamInfo> for StreamInfo {
                fn from($stream: wit::StreamInfo) -> Self {
                    let refresh_every_seconds = $refresh;
                    let s = $stream;
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
                        refresh_every_seconds,
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

            impl From<wit::Page> for Page {
                fn from($page: wit::Page) -> Self {
                    let progress = $progress;
                    Page {
                        records: $page.records,
                        next_cursor: $page.next_cursor,
                        done: $page.done,
                        budgets: $page.budgets.into_iter().map(Into::into).collect(),
                        requests: $page.requests,
                        progress,
                    }
                }
            }

            impl From<wit::Budget> for Budget {
                fn from(b: wit::Budget) -> Self {
                    Budget {
                        name: b.name,
                        limit: b.limit,
                        remaining: b.remaining,
                        reset_seconds: b.reset_seconds,
                    }
                }
            }
        };
    };
}

shared_conversions!(
    v0_1,
    progress: |_page| None,
    advice: |_spec| String::new(),
    refresh: |_stream| None,
    authorize: |_oauth| None,
);
shared_conversions!(
    v0_2,
    progress: |page| page.progress.map(|p| Progress {
        done: p.done,
        total: p.total,
    }),
    advice: |_spec| String::new(),
    refresh: |_stream| None,
    authorize: |_oauth| None,
);
shared_conversions!(
    v0_3,
    progress: |page| page.progress.map(|p| Progress {
        done: p.done,
        total: p.total,
    }),
    advice: |spec| spec.disconnect_advice.clone(),
    refresh: |stream| stream.refresh_every_seconds,
    authorize: |_oauth| None,
);
shared_conversions!(
    v0_4,
    progress: |page| page.progress.map(|p| Progress {
        done: p.done,
        total: p.total,
    }),
    advice: |spec| spec.disconnect_advice.clone(),
    refresh: |stream| stream.refresh_every_seconds,
    authorize: |oauth| oauth.authorize_url.clone(),
);
