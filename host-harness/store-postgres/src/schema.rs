//! The schema, as numbered migrations, and its version, kept in the table
//! `connector_host_schema`. Hosts on several machines may open one
//! database at once: the migration runs in one transaction under an
//! advisory lock, so one of them migrates and the others see the result.
//! A database written by a newer host is refused, untouched.

use connector_runtime::{ConnectorError, StoreError};

use crate::errors::host_error;

/// The migrations, in order: the database at version `n` has had the
/// first `n` applied. Append one whenever a table changes shape; never
/// edit one that has shipped.
const MIGRATIONS: &[&str] = &[VERSION_1, VERSION_2];

/// The schema version this host writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The advisory lock the migration holds (any constant the host alone uses).
const MIGRATION_LOCK: i64 = 0x636f_6e6e_6563_746f;

/// Text columns that are sorted or compared as SQLite does (byte order)
/// are `COLLATE "C"`, whatever the database's default collation.
const VERSION_1: &str = r#"
-- Connector key-value storage, one namespace per connection.
CREATE TABLE kv (
    connection text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    value      bytea NOT NULL,
    PRIMARY KEY (connection, key)
);

-- Credentials the host manages (rotated OAuth tokens); never given to connectors.
CREATE TABLE credentials (
    connection text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    value      text NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (connection, name)
);

-- Per-stream sync state; the cursor is committed with its page's records.
CREATE TABLE streams (
    connection     text COLLATE "C" NOT NULL,
    stream         text COLLATE "C" NOT NULL,
    cursor         text,
    done           boolean NOT NULL DEFAULT false,
    pages          bigint NOT NULL DEFAULT 0,
    records        bigint NOT NULL DEFAULT 0,
    requests       bigint NOT NULL DEFAULT 0,
    last_synced_at bigint,
    last_error     text,
    PRIMARY KEY (connection, stream)
);

-- Normalized records, upserted by (connection, stream, kind, key); `id`
-- keeps the order they were first stored in.
CREATE TABLE records (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection text COLLATE "C" NOT NULL,
    stream     text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    version    text,
    deleted    boolean NOT NULL DEFAULT false,
    data       jsonb NOT NULL,
    synced_at  bigint NOT NULL,
    UNIQUE (connection, stream, kind, key)
) WITH (toast_tuple_target = 256);
-- The platform reads a connection's records by kind, in stored order.
CREATE INDEX records_by_kind ON records (connection, kind, id);
-- A record by kind and key across streams (the README's joins).
CREATE INDEX records_by_key ON records (kind, key);
-- Messages by ticket (the `customer_messages` view, the README's queries).
CREATE INDEX records_messages_by_conversation
    ON records (connection, (data ->> 'conversation_id')) WHERE kind = 'message';

-- Raw records as the API sent them, for `remap` after a connector upgrade.
CREATE TABLE raw_records (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection text COLLATE "C" NOT NULL,
    stream     text COLLATE "C" NOT NULL,
    raw_id     text COLLATE "C" NOT NULL,
    raw        text NOT NULL,
    UNIQUE (connection, stream, raw_id)
) WITH (toast_tuple_target = 256);

-- Records and raw records are compressed from 256 bytes on (the default is
-- about 2 kB), with lz4 where the server has it: a first import writes
-- less WAL, so checkpoints come less often (BENCHMARKS.md).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE records ALTER COLUMN data SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE raw_records ALTER COLUMN raw SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    -- A server built without lz4 (or older than 14) compresses with pglz.
    NULL;
END $$;

-- The integration platform; as in SQLite (see ARCHITECTURE.md).
CREATE TABLE customers (
    id              text COLLATE "C" PRIMARY KEY,
    name            text NOT NULL,
    normalized_name text NOT NULL,
    imported_at     bigint NOT NULL
);
CREATE TABLE customer_domains (
    customer_id text COLLATE "C" NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    domain      text COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, domain)
);
CREATE INDEX customer_domains_by_domain ON customer_domains (domain);
CREATE TABLE customer_overrides (
    connection  text COLLATE "C" NOT NULL,
    org_key     text COLLATE "C" NOT NULL,
    action      text NOT NULL CHECK (action IN ('pin', 'forbid')),
    customer_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (connection, org_key, action, customer_id)
);
CREATE TABLE customer_matches (
    connection  text COLLATE "C" NOT NULL,
    org_key     text COLLATE "C" NOT NULL,
    org_name    text,
    status      text NOT NULL CHECK (status IN ('matched', 'unmatched', 'ambiguous')),
    customer_id text,
    method      text CHECK (method IN ('override', 'domain', 'domain+name', 'name')),
    reason      text NOT NULL,
    matched_at  bigint NOT NULL,
    PRIMARY KEY (connection, org_key)
);
CREATE TABLE customer_people (
    connection  text COLLATE "C" NOT NULL,
    person_key  text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    via         text NOT NULL CHECK (via IN ('organization', 'email_domain')),
    PRIMARY KEY (connection, person_key)
);
CREATE INDEX customer_people_by_customer ON customer_people (connection, customer_id);
CREATE TABLE customer_conversations (
    connection       text COLLATE "C" NOT NULL,
    conversation_key text COLLATE "C" NOT NULL,
    customer_id      text COLLATE "C" NOT NULL,
    via              text NOT NULL CHECK (via IN ('organization', 'requester')),
    PRIMARY KEY (connection, conversation_key)
);
CREATE INDEX customer_conversations_by_customer
    ON customer_conversations (connection, customer_id);
CREATE TABLE message_sentiment (
    connection  text COLLATE "C" NOT NULL,
    message_key text COLLATE "C" NOT NULL,
    fingerprint bigint NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('scored', 'not_english', 'no_text')),
    compound    double precision CHECK ((outcome = 'scored') = (compound IS NOT NULL)),
    PRIMARY KEY (connection, message_key)
);
-- Messages follow their ticket.
CREATE VIEW customer_messages AS
SELECT m.connection, m.key AS message_key, cc.conversation_key, cc.customer_id, m.data
FROM records m
JOIN customer_conversations cc
  ON cc.connection = m.connection
 AND cc.conversation_key = m.data ->> 'conversation_id'
WHERE m.kind = 'message' AND NOT m.deleted;
"#;

/// `connector-host serve` and any platform embedding `connector-fleet`:
/// each connection's schedule and lease, and the record of every sync.
/// Times are Unix milliseconds on the database's clock (`fleet_now_ms()`),
/// so that processes on machines whose clocks differ agree on leases.
const VERSION_2: &str = r#"
CREATE FUNCTION fleet_now_ms() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;

-- One row per connection a fleet process was given; due when
-- `next_run_at` has passed, leased by `lease_owner` until `lease_expires_at`.
CREATE TABLE fleet_connections (
    connection       text COLLATE "C" PRIMARY KEY,
    state            text NOT NULL DEFAULT 'scheduled'
                     CHECK (state IN ('scheduled', 'retrying', 'attention')),
    next_run_at      bigint NOT NULL,
    failures         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at bigint,
    last_success_at  bigint,
    last_error       text,
    last_error_class text,
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
CREATE INDEX fleet_connections_due ON fleet_connections (next_run_at);

-- Every sync a fleet process started: `ended_at` and `outcome` are NULL
-- while it runs; a run whose process died is closed at its lease's expiry
-- by the process that takes the connection over.
CREATE TABLE fleet_runs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection text COLLATE "C" NOT NULL,
    owner      text NOT NULL,
    started_at bigint NOT NULL,
    ended_at   bigint,
    outcome    text
);
CREATE INDEX fleet_runs_by_connection ON fleet_runs (connection, started_at);
"#;

/// Bring the database's schema up to date, or refuse a database written
/// by a newer host (`target` names it in messages).
pub(crate) async fn migrate(
    mut client: deadpool_postgres::Client,
    target: &str,
) -> Result<(), ConnectorError> {
    let tx = client.transaction().await.map_err(host_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(host_error)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS connector_host_schema (version integer NOT NULL)")
        .await
        .map_err(host_error)?;
    let version: i32 = tx
        .query_opt("SELECT version FROM connector_host_schema", &[])
        .await
        .map_err(host_error)?
        .map(|row| row.get(0))
        .unwrap_or(0);
    if version > SCHEMA_VERSION {
        return Err(StoreError::refused(
            format!(
                "the PostgreSQL database {target} was written by a newer connector-host \
                 (schema version {version}; this one knows up to {SCHEMA_VERSION})"
            ),
            "upgrade connector-host, or use another database",
        )
        .into());
    }
    for migration in &MIGRATIONS[version as usize..] {
        tx.batch_execute(migration).await.map_err(host_error)?;
    }
    tx.execute("DELETE FROM connector_host_schema", &[])
        .await
        .map_err(host_error)?;
    tx.execute(
        "INSERT INTO connector_host_schema (version) VALUES ($1)",
        &[&SCHEMA_VERSION],
    )
    .await
    .map_err(host_error)?;
    tx.commit().await.map_err(host_error)
}
