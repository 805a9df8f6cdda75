//! Reference catalogs kept in storage, one key per entry
//! (`{name}/{id}`), plus a revision key (`rev/{name}`) bumped on every
//! change. Each instance caches a catalog in memory and re-reads the
//! revision at most every [`REVALIDATE_MS`], so mapping a record costs no
//! storage call in the common case, and writes made by another instance of
//! the component are seen within that delay.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

/// How long a cached catalog is trusted before its revision is re-read.
pub const REVALIDATE_MS: u64 = 1_000;

/// An entry of a catalog, and the index derived from all entries.
pub trait Entry: Serialize + DeserializeOwned + PartialEq + Clone {
    /// Lookups derived from the whole catalog.
    type Index: Default;
    /// Builds the index after the catalog changed.
    fn index(entries: &HashMap<u64, Self>) -> Self::Index;
}

/// A ticket field definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The field's title.
    pub title: String,
    /// The field's type (`tagger`, `multiselect`, `text`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Dropdown options: value (a tag) to label.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl Entry for FieldDef {
    /// The key of each field in a conversation's `custom_fields`: its title,
    /// or `title (id)` when several fields share the title.
    type Index = HashMap<u64, String>;

    fn index(entries: &HashMap<u64, Self>) -> Self::Index {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for field in entries.values() {
            *counts.entry(field.title.as_str()).or_default() += 1;
        }
        entries
            .iter()
            .map(|(id, field)| {
                let key = if counts[field.title.as_str()] > 1 {
                    format!("{} ({id})", field.title)
                } else {
                    field.title.clone()
                };
                (*id, key)
            })
            .collect()
    }
}

/// A brand or a group: just its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// The display name.
    pub name: String,
}

impl Entry for Named {
    type Index = ();

    fn index(_: &HashMap<u64, Self>) -> Self::Index {}
}

/// An agent or admin; users not in the staff catalog are customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    /// `agent` or `admin`.
    pub role: String,
    /// The display name, to recognise speakers in chat transcripts.
    pub name: String,
}

impl Entry for StaffMember {
    /// Lower-cased staff names.
    type Index = std::collections::HashSet<String>;

    fn index(entries: &HashMap<u64, Self>) -> Self::Index {
        entries.values().map(|m| m.name.to_lowercase()).collect()
    }
}

/// A catalog cached from storage.
#[derive(Debug)]
pub struct Catalog<T: Entry> {
    name: &'static str,
    entries: HashMap<u64, T>,
    index: T::Index,
    revision: Option<u64>,
    loaded: bool,
    checked_at_ms: u64,
}

impl<T: Entry> Catalog<T> {
    /// An empty, unloaded catalog stored under `{name}/`.
    pub fn new(name: &'static str) -> Self {
        Catalog {
            name,
            entries: HashMap::new(),
            index: T::Index::default(),
            revision: None,
            loaded: false,
            checked_at_ms: 0,
        }
    }

    fn revision_key(&self) -> String {
        format!("rev/{}", self.name)
    }

    fn entry_key(&self, id: u64) -> String {
        format!("{}/{id}", self.name)
    }

    fn stored_revision(&self, storage: &dyn Storage) -> Result<Option<u64>, StorageError> {
        Ok(storage
            .get(&self.revision_key())?
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
    }

    /// Reads every entry again.
    fn reload(&mut self, storage: &dyn Storage, revision: Option<u64>) -> Result<(), StorageError> {
        let prefix = format!("{}/", self.name);
        self.entries.clear();
        for key in storage.list_keys(&prefix)? {
            let Some(id) = key[prefix.len()..].parse::<u64>().ok() else {
                continue;
            };
            // An entry that no longer reads (an older format) is skipped: the
            // next sweep of its stream writes it again.
            if let Some(entry) = storage
                .get(&key)?
                .and_then(|v| serde_json::from_slice(&v).ok())
            {
                self.entries.insert(id, entry);
            }
        }
        self.index = T::index(&self.entries);
        self.revision = revision;
        self.loaded = true;
        Ok(())
    }

    /// Makes the cache current: always when `now_ms` is `None`, otherwise
    /// when it was last checked [`REVALIDATE_MS`] or more before `now_ms`.
    pub fn refresh(
        &mut self,
        storage: &dyn Storage,
        now_ms: Option<u64>,
    ) -> Result<(), StorageError> {
        if let (true, Some(now)) = (self.loaded, now_ms) {
            if now.saturating_sub(self.checked_at_ms) < REVALIDATE_MS {
                return Ok(());
            }
        }
        let revision = self.stored_revision(storage)?;
        if !self.loaded || revision != self.revision {
            self.reload(storage, revision)?;
        }
        if let Some(now) = now_ms {
            self.checked_at_ms = now;
        }
        Ok(())
    }

    /// The entry with this id.
    pub fn get(&self, id: u64) -> Option<&T> {
        self.entries.get(&id)
    }

    /// All entries.
    pub fn entries(&self) -> &HashMap<u64, T> {
        &self.entries
    }

    /// The derived index.
    pub fn index(&self) -> &T::Index {
        &self.index
    }

    /// Stores changed entries and removes others, then bumps the revision
    /// if anything changed. The cache is made current first.
    pub fn apply(
        &mut self,
        storage: &dyn Storage,
        upserts: Vec<(u64, T)>,
        removals: &[u64],
    ) -> Result<bool, StorageError> {
        self.refresh(storage, None)?;
        let mut changed = false;
        for (id, entry) in upserts {
            if self.entries.get(&id) != Some(&entry) {
                let value = serde_json::to_vec(&entry).expect("catalog entries serialise");
                storage.set(&self.entry_key(id), &value)?;
                self.entries.insert(id, entry);
                changed = true;
            }
        }
        for id in removals {
            if self.entries.remove(id).is_some() {
                storage.delete(&self.entry_key(*id))?;
                changed = true;
            }
        }
        if changed {
            let revision = self.revision.unwrap_or(0) + 1;
            storage.set(&self.revision_key(), revision.to_string().as_bytes())?;
            self.revision = Some(revision);
            self.index = T::index(&self.entries);
        }
        Ok(changed)
    }
}

/// Who wrote something: the record model's author role.
pub use connector_records::AuthorRole as Role;

/// Every catalog of a connection.
#[derive(Debug)]
pub struct Catalogs {
    /// Ticket field definitions (`field/{id}`), from `ticket_fields`.
    pub fields: Catalog<FieldDef>,
    /// Brand names (`brand/{id}`), from `brands`.
    pub brands: Catalog<Named>,
    /// Group names (`group/{id}`), from `groups`.
    pub groups: Catalog<Named>,
    /// Agents and admins (`staff/{id}`), from `users`.
    pub staff: Catalog<StaffMember>,
}

impl Default for Catalogs {
    fn default() -> Self {
        Catalogs {
            fields: Catalog::new("field"),
            brands: Catalog::new("brand"),
            groups: Catalog::new("group"),
            staff: Catalog::new("staff"),
        }
    }
}

impl Catalogs {
    /// The role of a user: none or a non-positive id (Zendesk's system user
    /// is -1) is the system; a user of the staff catalog is an agent; anyone
    /// else is a customer.
    pub fn role_of(&self, user_id: Option<i64>) -> Role {
        match user_id {
            Some(id) if id > 0 => {
                if self.staff.get(id as u64).is_some() {
                    Role::Agent
                } else {
                    Role::Customer
                }
            }
            _ => Role::System,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn field(title: &str) -> FieldDef {
        FieldDef {
            title: title.into(),
            kind: "text".into(),
            options: BTreeMap::new(),
        }
    }

    #[test]
    fn duplicate_titles_get_the_id() {
        let storage = MemoryStorage::new();
        let mut fields = Catalog::<FieldDef>::new("field");
        fields
            .apply(
                &storage,
                vec![(1, field("Age")), (2, field("Age")), (3, field("Size"))],
                &[],
            )
            .unwrap();
        assert_eq!(fields.index()[&1], "Age (1)");
        assert_eq!(fields.index()[&3], "Size");
    }

    #[test]
    fn writes_only_changes_and_other_instances_see_them() {
        let storage = MemoryStorage::new();
        let mut writer = Catalog::<Named>::new("brand");
        let main = Named {
            name: "Main".into(),
        };
        assert!(writer
            .apply(&storage, vec![(7, main.clone())], &[])
            .unwrap());
        assert!(!writer.apply(&storage, vec![(7, main)], &[]).unwrap());
        assert_eq!(
            storage.get("rev/brand").unwrap().as_deref(),
            Some(&b"1"[..])
        );

        let mut reader = Catalog::<Named>::new("brand");
        reader.refresh(&storage, Some(10_000)).unwrap();
        assert_eq!(reader.get(7).unwrap().name, "Main");

        writer
            .apply(
                &storage,
                vec![(
                    7,
                    Named {
                        name: "Renamed".into(),
                    },
                )],
                &[],
            )
            .unwrap();
        reader
            .refresh(&storage, Some(10_000 + REVALIDATE_MS - 1))
            .unwrap();
        assert_eq!(
            reader.get(7).unwrap().name,
            "Main",
            "trusted within the delay"
        );
        reader
            .refresh(&storage, Some(10_000 + REVALIDATE_MS))
            .unwrap();
        assert_eq!(reader.get(7).unwrap().name, "Renamed");

        writer.apply(&storage, Vec::new(), &[7]).unwrap();
        reader.refresh(&storage, None).unwrap();
        assert!(reader.get(7).is_none());
        assert!(storage.get("brand/7").unwrap().is_none());
    }

    #[test]
    fn staff_names_are_indexed() {
        let storage = MemoryStorage::new();
        let mut staff = Catalog::<StaffMember>::new("staff");
        staff
            .apply(
                &storage,
                vec![(
                    5,
                    StaffMember {
                        role: "agent".into(),
                        name: "John Agent".into(),
                    },
                )],
                &[],
            )
            .unwrap();
        assert!(staff.index().contains("john agent"));
        let catalogs = Catalogs {
            staff,
            ..Catalogs::default()
        };
        assert_eq!(catalogs.role_of(Some(5)), Role::Agent);
        assert_eq!(catalogs.role_of(Some(6)), Role::Customer);
        assert_eq!(catalogs.role_of(Some(-1)), Role::System);
        assert_eq!(catalogs.role_of(None), Role::System);
    }
}
