//! The conformance suite ([`connector_store_tests::conformance`]) against
//! each store: one test per check and store.

macro_rules! conformance {
    ($store:ident, $type:ty, [$($check:ident),* $(,)?]) => {
        mod $store {
            $(
                #[test]
                fn $check() {
                    connector_store_tests::conformance::$check::<$type>();
                }
            )*
        }
    };
}

macro_rules! both_stores {
    ($($check:ident),* $(,)?) => {
        conformance!(sqlite, connector_store_sqlite::Database, [$($check),*]);
        conformance!(postgres, connector_store_postgres::Database, [$($check),*]);
    };
}

both_stores!(
    key_value_storage,
    token_storage,
    credential_table,
    concurrent_rotation,
    page_commits,
    nul_characters_do_not_fail_a_page,
    failed_commits_leave_nothing,
    large_streams_are_read_whole,
    platform_round_trips,
    newer_schemas_are_refused,
    blocking_calls_work_anywhere,
);
