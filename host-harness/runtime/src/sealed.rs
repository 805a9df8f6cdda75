//! Secrets at rest: what a [`TokenStore`] keeps (OAuth access and refresh
//! tokens) sealed with ChaCha20-Poly1305 under a key the operator holds,
//! whatever store keeps them. [`SealedTokenStore`] wraps any token store.
//! A stored value is `sealed:v1:<key id>:<base64 of nonce and ciphertext>`,
//! bound to its connection and name (the associated data), so a copy of the
//! database (a backup, a support bundle) holds no usable token, and a value
//! moved to another row does not open.

use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::errors::StoreError;
use crate::storage::{Expected, TokenStore};

/// The prefix of a sealed value.
const SEALED: &str = "sealed:v1:";

/// A 256-bit key; its `Debug` shows only its id.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreKey({})", self.id())
    }
}

impl StoreKey {
    /// A new random key (from the operating system's generator).
    pub fn generate() -> StoreKey {
        StoreKey(ChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// A key written as 64 hexadecimal digits (surrounding whitespace
    /// ignored); `source` names where it came from, for the error.
    pub fn parse(text: &str, source: &str) -> Result<StoreKey, StoreError> {
        let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
        match bytes {
            Some(bytes) => Ok(StoreKey(bytes.try_into().expect("32 bytes"))),
            None => Err(StoreError::refused(
                format!("{source} does not hold a key (64 hexadecimal digits)"),
                "give the key file the host created, or a key made with `openssl rand -hex 32`",
            )),
        }
    }

    /// The key as 64 hexadecimal digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A short public name of the key: the first 8 hex digits of its
    /// SHA-256, stored beside each value it seals.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.0)[..4])
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.0))
    }

    /// Seal `value` stored as `name` of `connection`.
    pub fn seal(&self, connection: &str, name: &str, value: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(connection, name);
        let ciphertext = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("sealing in memory does not fail");
        let mut sealed = nonce.to_vec();
        sealed.extend(ciphertext);
        format!(
            "{SEALED}{}:{}",
            self.id(),
            base64::engine::general_purpose::STANDARD.encode(sealed)
        )
    }

    /// Open a stored value of `name` of `connection`. A value stored before
    /// sealing (plain text) is returned as it is; it is sealed when next
    /// saved.
    pub fn open(&self, connection: &str, name: &str, stored: &str) -> Result<String, StoreError> {
        let Some(rest) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_string());
        };
        let (id, data) = rest.split_once(':').unwrap_or((rest, ""));
        if id != self.id() {
            return Err(StoreError::refused(
                format!(
                    "the stored credentials of connection {connection} were sealed with key {id}, \
                     not with this one ({})",
                    self.id()
                ),
                "give the key they were sealed with (restore the key file from its backup), or \
                 forget the connection's credentials and authorize again",
            ));
        }
        let opened = base64::engine::general_purpose::STANDARD
            .decode(data)
            .ok()
            .filter(|bytes| bytes.len() > 12)
            .and_then(|bytes| {
                let (nonce, ciphertext) = bytes.split_at(12);
                let aad = associated_data(connection, name);
                self.cipher()
                    .decrypt(
                        Nonce::from_slice(nonce),
                        Payload {
                            msg: ciphertext,
                            aad: &aad,
                        },
                    )
                    .ok()
            })
            .and_then(|plain| String::from_utf8(plain).ok());
        opened.ok_or_else(|| {
            StoreError::refused(
                format!(
                    "the stored credential {name} of connection {connection} does not open with \
                     key {id}: it was altered or copied from another connection"
                ),
                "forget the connection's credentials and authorize again",
            )
        })
    }
}

fn associated_data(connection: &str, name: &str) -> Vec<u8> {
    [connection.as_bytes(), b"\0", name.as_bytes()].concat()
}

/// A token store whose values are sealed with a key before they reach the
/// store underneath, and opened when read.
pub struct SealedTokenStore {
    inner: Arc<dyn TokenStore>,
    key: StoreKey,
}

impl SealedTokenStore {
    /// Seal what `inner` keeps with `key`.
    pub fn new(inner: Arc<dyn TokenStore>, key: StoreKey) -> Self {
        SealedTokenStore { inner, key }
    }

    /// `values`, each sealed for its row.
    fn sealed<'a>(&self, connection: &str, values: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
        values
            .iter()
            .map(|(name, value)| (*name, self.key.seal(connection, name, value)))
            .collect()
    }
}

impl TokenStore for SealedTokenStore {
    fn load(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.inner
            .load(connection, name)?
            .map(|stored| self.key.open(connection, name, &stored))
            .transpose()
    }

    fn save_all(&self, connection: &str, values: &[(&str, &str)]) -> Result<(), StoreError> {
        let sealed = self.sealed(connection, values);
        let pairs: Vec<(&str, &str)> = sealed.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.inner.save_all(connection, &pairs)
    }

    /// Sealing is not deterministic, so the expected value is compared
    /// opened; the swap then expects the sealed text it was read as, which
    /// the store underneath compares atomically.
    fn save_if(
        &self,
        connection: &str,
        expected: Expected<'_>,
        values: &[(&str, &str)],
    ) -> Result<bool, StoreError> {
        let stored = self.inner.load(connection, expected.name)?;
        let opened = stored
            .as_deref()
            .map(|sealed| self.key.open(connection, expected.name, sealed))
            .transpose()?;
        if opened.as_deref() != expected.value {
            return Ok(false);
        }
        let sealed = self.sealed(connection, values);
        let pairs: Vec<(&str, &str)> = sealed.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let expected = Expected {
            name: expected.name,
            value: stored.as_deref(),
        };
        self.inner.save_if(connection, expected, &pairs)
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        self.inner.clear(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    #[test]
    fn values_are_sealed_at_rest_and_open_only_with_their_key_and_row() {
        let memory = MemoryStore::default();
        let key = StoreKey::generate();
        let sealed = SealedTokenStore::new(Arc::new(memory.clone()), key.clone());
        sealed
            .save_all("acme", &[("oauth.refresh_token", "rt-secret-1")])
            .unwrap();
        let at_rest = memory.load("acme", "oauth.refresh_token").unwrap().unwrap();
        assert!(
            at_rest.starts_with(&format!("sealed:v1:{}:", key.id())),
            "{at_rest}"
        );
        assert!(!at_rest.contains("rt-secret-1"));
        assert_eq!(
            sealed
                .load("acme", "oauth.refresh_token")
                .unwrap()
                .as_deref(),
            Some("rt-secret-1")
        );
        assert_ne!(
            key.seal("acme", "n", "same"),
            key.seal("acme", "n", "same"),
            "a fresh nonce each time"
        );

        // Another key: refused with both ids, no value in the message.
        let other = SealedTokenStore::new(Arc::new(memory.clone()), StoreKey::generate());
        let err = other.load("acme", "oauth.refresh_token").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&key.id()) && text.contains("restore the key file"),
            "{text}"
        );
        assert!(!text.contains("rt-secret"));

        // Moved to another connection's row, or altered: refused.
        memory
            .save_all("globex", &[("oauth.refresh_token", &at_rest)])
            .unwrap();
        let err = sealed.load("globex", "oauth.refresh_token").unwrap_err();
        assert!(err.to_string().contains("altered or copied"), "{err}");
        let altered = at_rest.replace(&at_rest[at_rest.len() - 6..], "AAAAAA");
        memory
            .save_all("acme", &[("oauth.access_token", &altered)])
            .unwrap();
        assert!(sealed.load("acme", "oauth.access_token").is_err());

        // Written before sealing: read as it is.
        memory
            .save_all("old", &[("oauth.refresh_token", "plain")])
            .unwrap();
        assert_eq!(
            sealed
                .load("old", "oauth.refresh_token")
                .unwrap()
                .as_deref(),
            Some("plain")
        );
    }

    #[test]
    fn keys_parse_from_hex_and_never_print() {
        let key = StoreKey::generate();
        let parsed = StoreKey::parse(&format!(" {}\n", key.to_hex()), "the key file").unwrap();
        assert_eq!(parsed, key);
        assert_eq!(format!("{key:?}"), format!("StoreKey({})", key.id()));
        let err = StoreKey::parse("abc", "CONNECTOR_HOST_KEY").unwrap_err();
        assert!(
            err.to_string()
                .contains("CONNECTOR_HOST_KEY does not hold a key"),
            "{err}"
        );
    }
}
