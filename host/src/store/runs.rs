//! Runs: their state, plan, time series (an interval a row, written as each closes) and
//! final report (the JSON summary and the Locust CSV files).

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use super::{Store, now};
use crate::run::RunStatus;

/// Where a run is, as stored and as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Running `on-test-start`.
    Starting,
    /// VUs are iterating.
    Running,
    /// Paused by a client.
    Paused,
    /// Finishing in-flight iterations after a stop.
    Stopping,
    /// Ran to its end.
    Completed,
    /// Stopped early on request.
    Stopped,
    /// Could not run (`on-test-start` failed, the test instance did not start).
    Aborted,
    /// Stopped by a threshold with `abortOnFail`.
    AbortedByThreshold,
    /// Was active when the server stopped without finishing it (a crash, `kill -9`).
    Interrupted,
}

impl RunState {
    /// The stored name (`aborted-by-threshold`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopping => "stopping",
            Self::Completed => "completed",
            Self::Stopped => "stopped",
            Self::Aborted => "aborted",
            Self::AbortedByThreshold => "aborted-by-threshold",
            Self::Interrupted => "interrupted",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Starting,
            Self::Running,
            Self::Paused,
            Self::Stopping,
            Self::Completed,
            Self::Stopped,
            Self::Aborted,
            Self::AbortedByThreshold,
            Self::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Whether the run is over.
    pub fn is_finished(self) -> bool {
        !matches!(
            self,
            Self::Starting | Self::Running | Self::Paused | Self::Stopping
        )
    }

    /// The state of a live run's status, with the reason it carries, if any.
    pub fn of(status: &RunStatus) -> (Self, Option<String>) {
        match status {
            RunStatus::Starting => (Self::Starting, None),
            RunStatus::Running => (Self::Running, None),
            RunStatus::Paused => (Self::Paused, None),
            RunStatus::Stopping => (Self::Stopping, None),
            RunStatus::Completed => (Self::Completed, None),
            RunStatus::Stopped => (Self::Stopped, None),
            RunStatus::Aborted { reason } => (Self::Aborted, Some(reason.clone())),
            RunStatus::AbortedByThreshold { threshold } => {
                (Self::AbortedByThreshold, Some(threshold.clone()))
            }
        }
    }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The run's id.
    pub id: String,
    /// The tenant that started it.
    pub tenant: String,
    /// The scenario's id (its hash).
    pub scenario: String,
    /// Where it is.
    pub state: RunState,
    /// Why it was aborted, or the threshold that stopped it.
    pub reason: Option<String>,
    /// The resolved plan, as a plan document.
    pub plan: serde_json::Value,
    /// The most VUs the plan uses.
    pub vus: u32,
    /// When it was created, seconds since the Unix epoch.
    pub created_at: f64,
    /// When it ended.
    pub ended_at: Option<f64>,
    /// The JSON summary, once finished (`docs/summary.schema.json`).
    pub summary: Option<serde_json::Value>,
}

const COLUMNS: &str =
    "id, tenant, scenario, state, reason, plan, vus, created_at, ended_at, summary";

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    let state: String = row.get(3)?;
    Ok(RunRecord {
        id: row.get(0)?,
        tenant: row.get(1)?,
        scenario: row.get(2)?,
        state: RunState::parse(&state).unwrap_or(RunState::Interrupted),
        reason: row.get(4)?,
        plan: json(row.get(5)?).unwrap_or(serde_json::Value::Null),
        vus: row.get(6)?,
        created_at: row.get(7)?,
        ended_at: row.get(8)?,
        summary: json(row.get(9)?),
    })
}

impl Store {
    /// Records a new run.
    pub fn insert_run(&self, run: &RunRecord) -> anyhow::Result<()> {
        self.db().execute(
            &format!(
                "INSERT INTO runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                run.id,
                run.tenant,
                run.scenario,
                run.state.as_str(),
                run.reason,
                run.plan.to_string(),
                run.vus,
                run.created_at,
                run.ended_at,
                run.summary.as_ref().map(ToString::to_string),
            ],
        )?;
        Ok(())
    }

    /// Moves an active run to `state`.
    pub fn set_run_state(&self, id: &str, state: RunState) -> anyhow::Result<()> {
        self.db().execute(
            "UPDATE runs SET state = ?2 WHERE id = ?1",
            params![id, state.as_str()],
        )?;
        Ok(())
    }

    /// Appends a closed interval (its JSON) to a run's time series.
    pub fn append_interval(&self, id: &str, elapsed: f64, body: &str) -> anyhow::Result<()> {
        self.db().execute(
            "INSERT OR REPLACE INTO intervals (run, elapsed, body) VALUES (?1, ?2, ?3)",
            params![id, elapsed, body],
        )?;
        Ok(())
    }

    /// The run's intervals that closed after `since` seconds into it, in order.
    pub fn intervals(&self, id: &str, since: f64) -> anyhow::Result<Vec<serde_json::Value>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT body FROM intervals WHERE run = ?1 AND elapsed > ?2 ORDER BY elapsed",
        )?;
        let rows = statement.query_map(params![id, since], |row| row.get::<_, String>(0))?;
        rows.map(|body| Ok(serde_json::from_str(&body?)?)).collect()
    }

    /// Records the end of a run: its final state, summary and report files, in one
    /// transaction.
    pub fn finish_run(
        &self,
        id: &str,
        state: RunState,
        reason: Option<&str>,
        summary: &serde_json::Value,
        reports: &[(&str, String)],
    ) -> anyhow::Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE runs SET state = ?2, reason = ?3, ended_at = ?4, summary = ?5 WHERE id = ?1",
            params![id, state.as_str(), reason, now(), summary.to_string()],
        )?;
        for (name, body) in reports {
            tx.execute(
                "INSERT OR REPLACE INTO reports (run, name, body) VALUES (?1, ?2, ?3)",
                params![id, name, body],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The run `id` of `tenant` (of any tenant for `None`).
    pub fn run(&self, tenant: Option<&str>, id: &str) -> anyhow::Result<Option<RunRecord>> {
        let found = self
            .db()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM runs WHERE id = ?1 AND (?2 IS NULL OR tenant = ?2)"
                ),
                params![id, tenant],
                record,
            )
            .optional()?;
        Ok(found)
    }

    /// The runs of `tenant` (all tenants for `None`), in `state` if given, newest first.
    pub fn runs(
        &self,
        tenant: Option<&str>,
        state: Option<RunState>,
    ) -> anyhow::Result<Vec<RunRecord>> {
        let db = self.db();
        let mut statement = db.prepare(&format!(
            "SELECT {COLUMNS} FROM runs WHERE (?1 IS NULL OR tenant = ?1)
             AND (?2 IS NULL OR state = ?2) ORDER BY created_at DESC"
        ))?;
        let rows = statement.query_map(params![tenant, state.map(RunState::as_str)], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores (or replaces) report file `name` of run `id`.
    pub fn put_report(&self, id: &str, name: &str, body: &str) -> anyhow::Result<()> {
        self.db().execute(
            "INSERT OR REPLACE INTO reports (run, name, body) VALUES (?1, ?2, ?3)",
            params![id, name, body],
        )?;
        Ok(())
    }

    /// A finished run's report file `name` (`stats.csv`, ...).
    pub fn report(&self, id: &str, name: &str) -> anyhow::Result<Option<String>> {
        let found = self
            .db()
            .query_row(
                "SELECT body FROM reports WHERE run = ?1 AND name = ?2",
                params![id, name],
                |row| row.get(0),
            )
            .optional()?;
        Ok(found)
    }

    /// How many runs each tenant has in each state.
    pub fn run_counts(&self) -> anyhow::Result<Vec<(String, RunState, u64)>> {
        let db = self.db();
        let mut statement =
            db.prepare("SELECT tenant, state, COUNT(*) FROM runs GROUP BY tenant, state")?;
        let rows = statement.query_map([], |row| {
            let state: String = row.get(1)?;
            Ok((row.get(0)?, state, row.get(2)?))
        })?;
        let mut counts = Vec::new();
        for row in rows {
            let (tenant, state, count): (String, String, u64) = row?;
            if let Some(state) = RunState::parse(&state) {
                counts.push((tenant, state, count));
            }
        }
        Ok(counts)
    }

    /// Whether the database answers.
    pub fn is_healthy(&self) -> bool {
        self.db()
            .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
            .is_ok()
    }

    /// Marks every run still active as interrupted; returns how many.
    pub(super) fn interrupt_active(&self) -> anyhow::Result<usize> {
        let changed = self.db().execute(
            "UPDATE runs SET state = 'interrupted', ended_at = ?1,
                 reason = 'the server stopped while the run was active'
             WHERE state IN ('starting', 'running', 'paused', 'stopping')",
            params![now()],
        )?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, tenant: &str) -> RunRecord {
        RunRecord {
            id: id.into(),
            tenant: tenant.into(),
            scenario: "abc".into(),
            state: RunState::Running,
            reason: None,
            plan: serde_json::json!({"vus": 1}),
            vus: 1,
            created_at: now(),
            ended_at: None,
            summary: None,
        }
    }

    #[test]
    fn runs_survive_a_reopen_and_active_ones_are_marked_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.insert_run(&run("r1", "acme")).unwrap();
            store.insert_run(&run("r2", "acme")).unwrap();
            store
                .append_interval("r1", 1.0, r#"{"elapsed": 1.0}"#)
                .unwrap();
            store
                .append_interval("r1", 2.0, r#"{"elapsed": 2.0}"#)
                .unwrap();
            let summary = serde_json::json!({"status": {"state": "completed"}});
            store
                .finish_run(
                    "r2",
                    RunState::Completed,
                    None,
                    &summary,
                    &[("stats.csv", "x".into())],
                )
                .unwrap();
            // Dropped without finishing r1: as a crash would leave it.
        }
        let store = Store::open(dir.path()).unwrap();
        let r1 = store.run(Some("acme"), "r1").unwrap().unwrap();
        assert_eq!(r1.state, RunState::Interrupted);
        assert_eq!(
            store.intervals("r1", 0.0).unwrap().len(),
            2,
            "its series is kept"
        );
        assert_eq!(
            store.intervals("r1", 1.0).unwrap().len(),
            1,
            "since filters"
        );
        let r2 = store.run(None, "r2").unwrap().unwrap();
        assert_eq!(r2.state, RunState::Completed);
        assert!(r2.summary.is_some());
        assert_eq!(
            store.report("r2", "stats.csv").unwrap().as_deref(),
            Some("x")
        );
        assert!(
            store.run(Some("other"), "r2").unwrap().is_none(),
            "tenants are apart"
        );
        let interrupted = store
            .runs(Some("acme"), Some(RunState::Interrupted))
            .unwrap();
        assert_eq!(interrupted.len(), 1);
    }
}
