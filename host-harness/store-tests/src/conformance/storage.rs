//! Connector key-value storage and the host's tokens: quotas, swaps,
//! the credentials table, rotations raced across handles.

use std::sync::{Arc, Barrier};

use connector_runtime::kv::{ConnectionStorage, StorageError, StorageQuota};
use connector_runtime::sealed::{SealedTokenStore, StoreKey};
use connector_runtime::storage::{Expected, KeyValueStore, TokenStore};

use crate::stores::StoreUnderTest;

/// Connector storage: values by key, namespaced by connection, sizes in
/// bytes, prefix listing sorted bytewise, and the runtime's quotas.
pub fn key_value_storage<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    store.set("a", "k2", b"two").unwrap();
    store.set("a", "k1", b"one").unwrap();
    store.set("a", "K0", b"upper").unwrap();
    store.set("a", "k1", b"uno!").unwrap();
    store.set("b", "k1", b"other").unwrap();
    store.set("a", "bin", &[0, 159, 255]).unwrap();
    assert_eq!(store.get("a", "k1").unwrap().as_deref(), Some(&b"uno!"[..]));
    assert_eq!(
        store.get("a", "bin").unwrap().as_deref(),
        Some(&[0, 159, 255][..])
    );
    assert_eq!(store.get("a", "nope").unwrap(), None);
    assert_eq!(store.list_keys("a", "k").unwrap(), vec!["k1", "k2"]);
    assert_eq!(
        store.list_keys("a", "").unwrap(),
        vec!["K0", "bin", "k1", "k2"]
    );
    assert_eq!(store.list_keys("a", "k%").unwrap(), Vec::<String>::new());
    assert_eq!(store.entry_size("a", "k1").unwrap(), 6);
    assert_eq!(store.entry_size("a", "nope").unwrap(), 0);
    assert_eq!(store.used_bytes("a").unwrap(), 6 + 5 + 7 + 6);
    store.delete("a", "k2").unwrap();
    store.delete("a", "never").unwrap();
    assert_eq!(store.list_keys("a", "k").unwrap(), vec!["k1"]);
    assert_eq!(KeyValueStore::clear(&store, "a").unwrap(), 3);
    assert_eq!(store.used_bytes("a").unwrap(), 0);
    assert_eq!(
        store.get("b", "k1").unwrap().as_deref(),
        Some(&b"other"[..])
    );

    let quota = StorageQuota {
        max_key_bytes: 8,
        max_value_bytes: 16,
        max_total_bytes: 40,
    };
    let mut storage = ConnectionStorage::open(Arc::new(store.clone()), "q", quota).unwrap();
    storage.set("k1", b"0123456789").unwrap();
    storage.set("k2", b"0123456789").unwrap();
    let refused = storage.set("k3", b"0123456789abcde");
    assert!(
        matches!(refused, Err(StorageError::QuotaExceeded(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.get("q", "k3").unwrap(),
        None,
        "a refused value is not stored"
    );
    // Usage is measured again from the store by a new session.
    let reopened = ConnectionStorage::open(Arc::new(store.clone()), "q", quota).unwrap();
    assert_eq!(reopened.used_bytes(), 24);
}

/// Tokens: saved together, loaded, cleared per connection, and swapped
/// only when the expected value is still there.
pub fn token_storage<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    store
        .save_all("a", &[("refresh", "r1"), ("access", "a1")])
        .unwrap();
    store.save_all("b", &[("refresh", "other")]).unwrap();
    store.save_all("a", &[("access", "a2")]).unwrap();
    assert_eq!(store.load("a", "refresh").unwrap().as_deref(), Some("r1"));
    assert_eq!(store.load("a", "access").unwrap().as_deref(), Some("a2"));

    let stale = Expected {
        name: "refresh",
        value: Some("r0"),
    };
    assert!(!store.save_if("a", stale, &[("refresh", "lost")]).unwrap());
    assert_eq!(store.load("a", "refresh").unwrap().as_deref(), Some("r1"));
    let current = Expected {
        name: "refresh",
        value: Some("r1"),
    };
    assert!(store
        .save_if("a", current, &[("refresh", "r2"), ("access", "a3")])
        .unwrap());
    assert_eq!(store.load("a", "access").unwrap().as_deref(), Some("a3"));
    let absent = Expected {
        name: "seed",
        value: None,
    };
    assert!(store.save_if("a", absent, &[("seed", "s")]).unwrap());
    assert!(!store.save_if("a", absent, &[("seed", "t")]).unwrap());
    assert_eq!(store.load("a", "seed").unwrap().as_deref(), Some("s"));

    assert_eq!(TokenStore::clear(&store, "a").unwrap(), 3);
    assert_eq!(store.load("a", "refresh").unwrap(), None);
    assert_eq!(
        store.load("b", "refresh").unwrap().as_deref(),
        Some("other")
    );
}

/// The credentials table as a whole (for `rotate-key`): sealed values
/// counted, every row listed by connection and name, rows rewritten
/// together.
pub fn credential_table<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    assert_eq!(store.sealed_credentials().unwrap(), 0);
    store
        .save_all("b", &[("refresh", "sealed:v1:k:b-refresh")])
        .unwrap();
    store
        .save_all(
            "a",
            &[("refresh", "sealed:v1:k:a-refresh"), ("access", "plain")],
        )
        .unwrap();
    assert_eq!(store.sealed_credentials().unwrap(), 2);
    let rows = store.all_credentials().unwrap();
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|(connection, name, _)| (connection.as_str(), name.as_str()))
        .collect();
    assert_eq!(names, [("a", "access"), ("a", "refresh"), ("b", "refresh")]);
    let resealed: Vec<_> = rows
        .iter()
        .map(|(connection, name, _)| {
            (
                connection.clone(),
                name.clone(),
                format!("sealed:v1:k2:{connection}-{name}"),
            )
        })
        .collect();
    store.rewrite_credentials(&resealed).unwrap();
    assert_eq!(store.sealed_credentials().unwrap(), 3);
    assert_eq!(
        store.load("a", "access").unwrap().as_deref(),
        Some("sealed:v1:k2:a-access")
    );
    assert_eq!(store.all_credentials().unwrap(), resealed);
}

/// Workers rotating one connection's refresh token at once, each from its
/// own handle (as separate hosts would): exactly one rotation is stored,
/// whole, and the others learn that they lost. Through the sealed store
/// too, as the host uses it.
pub fn concurrent_rotation<S: StoreUnderTest>() {
    const WORKERS: usize = 6;
    let (store, place) = S::fresh();
    let key = StoreKey::generate();
    let stores: Vec<(&str, Arc<dyn TokenStore>)> = vec![
        ("plain", Arc::new(store.clone())),
        (
            "sealed",
            Arc::new(SealedTokenStore::new(Arc::new(store.clone()), key.clone())),
        ),
    ];
    for (label, tokens) in stores {
        let connection = format!("rotating-{label}");
        tokens
            .save_all(&connection, &[("oauth.refresh_token", "r1")])
            .unwrap();
        let barrier = Arc::new(Barrier::new(WORKERS));
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                // Each worker opens the store anew: its own connections.
                let own: Arc<dyn TokenStore> = match label {
                    "plain" => Arc::new(S::reopen(&place).unwrap()),
                    _ => Arc::new(SealedTokenStore::new(
                        Arc::new(S::reopen(&place).unwrap()),
                        key.clone(),
                    )),
                };
                let (barrier, connection) = (barrier.clone(), connection.clone());
                std::thread::spawn(move || {
                    let (refresh, access) = (format!("r2-{worker}"), format!("a2-{worker}"));
                    barrier.wait();
                    let expected = Expected {
                        name: "oauth.refresh_token",
                        value: Some("r1"),
                    };
                    let stored = own
                        .save_if(
                            &connection,
                            expected,
                            &[
                                ("oauth.refresh_token", &refresh),
                                ("oauth.access_token", &access),
                            ],
                        )
                        .unwrap();
                    (worker, stored)
                })
            })
            .collect();
        let results: Vec<(usize, bool)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, won)| *won)
            .map(|(w, _)| *w)
            .collect();
        assert_eq!(winners.len(), 1, "{label}: {results:?}");
        let winner = winners[0];
        assert_eq!(
            tokens.load(&connection, "oauth.refresh_token").unwrap(),
            Some(format!("r2-{winner}")),
            "{label}"
        );
        assert_eq!(
            tokens.load(&connection, "oauth.access_token").unwrap(),
            Some(format!("a2-{winner}")),
            "{label}: the winner's pair is stored whole"
        );
    }
}
