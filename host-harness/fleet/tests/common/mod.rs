//! What the fleet's tests share: a database per test, connection names.

use connector_store_postgres::Database;
use connector_store_tests::postgres::TestDatabase;

/// A connection string's database, opened as the store opens it.
pub fn open(test: &TestDatabase) -> Database {
    Database::connect(&test.url()).unwrap()
}

/// `count` connection names, `account-00` onwards.
pub fn names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("account-{i:02}")).collect()
}
