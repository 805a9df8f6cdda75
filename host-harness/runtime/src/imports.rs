//! The contract's own imports, logging and storage, served by
//! [`HostState`] for every contract version.

use crate::generated::v0_1::wasi::logging::logging as wit_logging;
use crate::kv::StorageError;
use crate::logs::Level;
use crate::state::HostState;

impl wit_logging::Host for HostState {
    fn log(&mut self, level: wit_logging::Level, context: String, message: String) {
        let level = match level {
            wit_logging::Level::Trace => Level::Trace,
            wit_logging::Level::Debug => Level::Debug,
            wit_logging::Level::Info => Level::Info,
            wit_logging::Level::Warn => Level::Warn,
            wit_logging::Level::Error | wit_logging::Level::Critical => Level::Error,
        };
        self.log.log(level, &context, &message);
    }
}

/// The storage interface of one contract version: the same store,
/// with quota errors remembered for the caller's classification.
macro_rules! storage_host {
    ($v:ident) => {
        const _: () = {
            use crate::generated::$v::connector::source::{storage as wit_storage, types};

            impl HostState {
                fn $v<T>(
                    &mut self,
                    result: Result<T, StorageError>,
                ) -> Result<T, wit_storage::StorageError> {
                    result.map_err(|e| match e {
                        StorageError::QuotaExceeded(m) => {
                            self.storage_quota_hit = Some(m.clone());
                            wit_storage::StorageError::QuotaExceeded(m)
                        }
                        StorageError::Unavailable(m) => wit_storage::StorageError::Unavailable(m),
                    })
                }
            }

            impl wit_storage::Host for HostState {
                fn get(
                    &mut self,
                    key: String,
                ) -> Result<Option<Vec<u8>>, wit_storage::StorageError> {
                    let result = self.storage.get(&key);
                    self.$v(result)
                }

                fn set(
                    &mut self,
                    key: String,
                    value: Vec<u8>,
                ) -> Result<(), wit_storage::StorageError> {
                    let result = self.storage.set(&key, &value);
                    self.$v(result)
                }

                fn delete(&mut self, key: String) -> Result<(), wit_storage::StorageError> {
                    let result = self.storage.delete(&key);
                    self.$v(result)
                }

                fn list_keys(
                    &mut self,
                    prefix: String,
                ) -> Result<Vec<String>, wit_storage::StorageError> {
                    let result = self.storage.list_keys(&prefix);
                    self.$v(result)
                }
            }

            impl types::Host for HostState {}
        };
    };
}

storage_host!(v0_1);
storage_host!(v0_2);
storage_host!(v0_3);
storage_host!(v0_4);
