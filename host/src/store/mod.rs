//! Persistence for the server: an embedded SQLite database (WAL mode) in the data directory
//! for scenarios' metadata, runs, plans, time series and reports, and component bytes on
//! disk by content hash.
//!
//! Every write is committed before the call returns, so a `kill -9` loses at most the
//! interval being written. On open, runs that were active when the process died are marked
//! `interrupted`, keeping the intervals they had persisted.
//!
//! # Layout
//!
//! - [`scenarios`]: uploaded components per tenant, their bytes by hash.
//! - [`runs`]: runs per tenant, their state, plan, time series and final report.

pub mod runs;
pub mod scenarios;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rusqlite::Connection;

pub use runs::{RunRecord, RunState};
pub use scenarios::ScenarioRecord;

/// The schema, applied on every open (each statement is idempotent).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scenarios (
    tenant TEXT NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    info TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (tenant, hash)
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    scenario TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    plan TEXT NOT NULL,
    vus INTEGER NOT NULL,
    created_at REAL NOT NULL,
    ended_at REAL,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_tenant ON runs (tenant, created_at);
CREATE TABLE IF NOT EXISTS intervals (
    run TEXT NOT NULL,
    elapsed REAL NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run, elapsed)
);
CREATE TABLE IF NOT EXISTS reports (
    run TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run, name)
);
";

/// The server's persistent state in one data directory.
pub struct Store {
    db: Mutex<Connection>,
    components: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, and marks runs left active by a
    /// previous process as interrupted.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let components = dir.join("components");
        std::fs::create_dir_all(&components)
            .with_context(|| format!("cannot create the data directory {components:?}"))?;
        let path = dir.join("loadwright.db");
        let db = Connection::open(&path).with_context(|| format!("cannot open {path:?}"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // WAL with synchronous=NORMAL survives a process crash (not a power cut) with every
        // committed transaction, at a fraction of FULL's fsyncs.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)
            .context("cannot apply the schema")?;
        let store = Self {
            db: Mutex::new(db),
            components,
        };
        let interrupted = store.interrupt_active()?;
        if interrupted > 0 {
            tracing::warn!(
                runs = interrupted,
                "runs active when the server last stopped are marked interrupted"
            );
        }
        Ok(store)
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection leaves SQLite consistent (each statement is
        // atomic); the next caller may go on.
        crate::sync::lock(&self.db)
    }

    fn component_path(&self, hash: &str) -> PathBuf {
        self.components.join(format!("{hash}.wasm"))
    }
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
