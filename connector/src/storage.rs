//! The connection's durable key-value storage: the SDK's [`Storage`] trait,
//! [`MemoryStorage`] for tests and benchmarks, and [`StorageError`]. In the
//! component the SDK's `HostStorage` reaches the host's `storage` interface.

pub use connector_sdk::storage::{MemoryStorage, Storage, StorageError};
