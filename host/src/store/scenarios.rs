//! Uploaded scenarios: a row per (tenant, hash) with the scenario's metadata, and the
//! component's bytes once on disk by hash, whoever uploaded them.

use anyhow::Context as _;
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use super::{Store, now};

/// A scenario as stored: who uploaded it and what it declares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioRecord {
    /// The component's SHA-256, hex: same bytes, same id.
    pub id: String,
    /// The tenant that uploaded it.
    pub tenant: String,
    /// Bytes of the component.
    pub size: u64,
    /// What the scenario declares (tasks, default plan, imports), as `host inspect` shows it.
    pub info: serde_json::Value,
    /// When it was first uploaded, seconds since the Unix epoch.
    pub created_at: f64,
}

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<ScenarioRecord> {
    let info: String = row.get(3)?;
    Ok(ScenarioRecord {
        tenant: row.get(0)?,
        id: row.get(1)?,
        size: row.get(2)?,
        info: serde_json::from_str(&info).unwrap_or(serde_json::Value::Null),
        created_at: row.get(4)?,
    })
}

const COLUMNS: &str = "tenant, hash, size, info, created_at";

impl Store {
    /// Keeps `bytes` (once per hash) and records the scenario for `tenant`; returns the
    /// record and whether it is new for this tenant.
    pub fn save_scenario(
        &self,
        tenant: &str,
        hash: &str,
        info: &serde_json::Value,
        bytes: &[u8],
    ) -> anyhow::Result<(ScenarioRecord, bool)> {
        let path = self.component_path(hash);
        if !path.exists() {
            // Written aside, then renamed: a crash never leaves half a component under its hash.
            let partial = path.with_extension("partial");
            std::fs::write(&partial, bytes).with_context(|| format!("cannot write {partial:?}"))?;
            std::fs::rename(&partial, &path).with_context(|| format!("cannot write {path:?}"))?;
        }
        let created = self.db().execute(
            "INSERT OR IGNORE INTO scenarios (tenant, hash, size, info, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![tenant, hash, bytes.len() as u64, info.to_string(), now()],
        )? == 1;
        let record = self
            .scenario(Some(tenant), hash)?
            .context("the scenario just saved is missing")?;
        Ok((record, created))
    }

    /// The scenario `hash` of `tenant` (any tenant's for `None`, the admin's view).
    pub fn scenario(
        &self,
        tenant: Option<&str>,
        hash: &str,
    ) -> anyhow::Result<Option<ScenarioRecord>> {
        let db = self.db();
        let found = match tenant {
            Some(tenant) => db
                .query_row(
                    &format!("SELECT {COLUMNS} FROM scenarios WHERE tenant = ?1 AND hash = ?2"),
                    params![tenant, hash],
                    record,
                )
                .optional()?,
            None => db
                .query_row(
                    &format!("SELECT {COLUMNS} FROM scenarios WHERE hash = ?1 LIMIT 1"),
                    params![hash],
                    record,
                )
                .optional()?,
        };
        Ok(found)
    }

    /// Every scenario of `tenant` (of all tenants for `None`), newest first.
    pub fn scenarios(&self, tenant: Option<&str>) -> anyhow::Result<Vec<ScenarioRecord>> {
        let db = self.db();
        let mut statement = db.prepare(&format!(
            "SELECT {COLUMNS} FROM scenarios WHERE ?1 IS NULL OR tenant = ?1
             ORDER BY created_at DESC"
        ))?;
        let rows = statement.query_map(params![tenant], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets `tenant`'s scenario `hash`; the bytes go when no tenant has it any more.
    /// Returns whether there was one.
    pub fn delete_scenario(&self, tenant: &str, hash: &str) -> anyhow::Result<bool> {
        let db = self.db();
        let deleted = db.execute(
            "DELETE FROM scenarios WHERE tenant = ?1 AND hash = ?2",
            params![tenant, hash],
        )? == 1;
        let still_used: bool = db.query_row(
            "SELECT EXISTS (SELECT 1 FROM scenarios WHERE hash = ?1)",
            params![hash],
            |row| row.get(0),
        )?;
        if deleted && !still_used {
            let _ = std::fs::remove_file(self.component_path(hash));
        }
        Ok(deleted)
    }

    /// The bytes of component `hash`.
    pub fn component(&self, hash: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.component_path(hash);
        std::fs::read(&path).with_context(|| format!("cannot read {path:?}"))
    }

    /// Bytes of the components `tenant` has stored.
    pub fn stored_bytes(&self, tenant: &str) -> anyhow::Result<u64> {
        let total: i64 = self.db().query_row(
            "SELECT COALESCE(SUM(size), 0) FROM scenarios WHERE tenant = ?1",
            params![tenant],
            |row| row.get(0),
        )?;
        Ok(total as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_stored_once_by_hash_and_kept_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let info = serde_json::json!({"tasks": []});
        let (first, created) = store.save_scenario("acme", "h1", &info, b"bytes").unwrap();
        assert!(created);
        assert_eq!(first.size, 5);
        let (_, again) = store.save_scenario("acme", "h1", &info, b"bytes").unwrap();
        assert!(!again, "same bytes, same scenario");
        store
            .save_scenario("globex", "h1", &info, b"bytes")
            .unwrap();
        assert_eq!(store.scenarios(Some("acme")).unwrap().len(), 1);
        assert_eq!(store.scenarios(None).unwrap().len(), 2);
        assert_eq!(store.stored_bytes("acme").unwrap(), 5);
        assert!(store.delete_scenario("acme", "h1").unwrap());
        assert_eq!(
            store.component("h1").unwrap(),
            b"bytes",
            "globex still has it"
        );
        assert!(store.delete_scenario("globex", "h1").unwrap());
        assert!(
            store.component("h1").is_err(),
            "the last one takes the bytes"
        );
    }
}
