//! The library API under every shell: start a run from a scenario and a plan, then watch it
//! through a [`RunHandle`] (status, snapshots, a live stream of intervals, logs) and stop it.
//!
//! ```no_run
//! # async fn demo(bytes: &[u8]) -> anyhow::Result<()> {
//! use loadwright_host::config::{Overrides, PlanDocument};
//! use loadwright_host::engine::{Engine, EngineOptions};
//! use loadwright_host::run::Run;
//!
//! let engine = Engine::new(EngineOptions { max_instances: 64, ..Default::default() })?;
//! let scenario = engine.load(bytes).await?;
//! let plan = PlanDocument::from_json(&scenario.info().plan)?.resolve(Overrides::default())?;
//! let handle = Run::start(&engine, scenario, plan)?;
//! let mut intervals = handle.subscribe();
//! while let Ok(interval) = intervals.recv().await {
//!     println!("{:.0} rps", interval.rps);
//! }
//! let report = handle.wait().await;
//! println!("{} requests", report.snapshot.total.count);
//! # Ok(()) }
//! ```

mod control;
mod driver;
mod test_instance;

use std::sync::Arc;
use std::time::SystemTime;

pub use control::{ControlError, LiveScenario};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};

use crate::config::{Limits, Plan};
use crate::engine::{Engine, Scenario, ScenarioInfo};
use crate::http::{Client, ClientOptions, Egress, Resolve};
use crate::runlog::{Level, LogLine, RunLog, Source};
use crate::stats::{
    Collector, Distribution, Exposition, IntervalDelta, IntervalStats, NameCaps, RecordedMetrics,
    Snapshot,
};
use crate::sync::lock;
use crate::vu::{Clock, TaskPicker};

/// Where a run is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RunStatus {
    /// Running `on-test-start`.
    Starting,
    /// VUs are iterating.
    Running,
    /// Paused: no iteration starts and the test clock stands still until resumed.
    Paused,
    /// A stop was asked; in-flight iterations are finishing.
    Stopping,
    /// Every scenario ran to its end.
    Completed,
    /// Stopped early on request.
    Stopped,
    /// Could not run: `on-test-start` failed, or the test instance could not start.
    Aborted {
        /// Why.
        reason: String,
    },
    /// Stopped early because a threshold with `abortOnFail` failed.
    AbortedByThreshold {
        /// The threshold, as `metric: expression`.
        threshold: String,
    },
}

impl RunStatus {
    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Stopped
                | Self::Aborted { .. }
                | Self::AbortedByThreshold { .. }
        )
    }
}

/// What a finished run leaves behind.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// How it ended.
    pub status: RunStatus,
    /// The plan it ran.
    pub plan: Plan,
    /// The scenario it ran.
    pub scenario: ScenarioInfo,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// The final statistics.
    pub snapshot: Snapshot,
    /// The per-interval time series.
    pub series: Vec<IntervalStats>,
    /// Log lines dropped because the log was full.
    pub log_dropped: u64,
}

impl Report {
    /// Whether every threshold held (true when there are none).
    pub fn thresholds_passed(&self) -> bool {
        self.snapshot.thresholds.iter().all(|t| t.ok)
    }
}

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The plan is invalid.
    #[error(transparent)]
    Plan(#[from] crate::config::ConfigError),
    /// The plan does not fit the scenario (an `exec` naming no task, all weights 0).
    #[error("{0}")]
    Mismatch(String),
    /// The plan's memory limit is over what the engine's instances can have.
    #[error(
        "the plan allows {planned} bytes of memory per instance (limits.memoryBytes) but the \
         engine was built for {engine}"
    )]
    MemoryLimit {
        /// The plan's limit.
        planned: u64,
        /// The engine's.
        engine: u64,
    },
    /// A certificate or key of the plan's TLS settings cannot be used (the message names it).
    #[error("{0}")]
    Tls(String),
    /// The engine has fewer instance slots than the plan needs.
    #[error("the plan needs {needed} instances but the engine was built for {available}")]
    Capacity {
        /// Instances the plan needs.
        needed: u32,
        /// Instances the engine has.
        available: u32,
    },
}

pub(crate) struct Shared {
    pub plan: Plan,
    /// The run's HTTP client: every policy the run's requests must pass (the caller's, then
    /// the plan's), and its TLS configurations, built once.
    pub client: Client,
    pub info: ScenarioInfo,
    pub started_at: SystemTime,
    pub clock: Clock,
    /// Every scenario's live-control view and VU target, in plan order.
    pub scenarios: Vec<LiveScenario>,
    /// The first threshold with `abortOnFail` that failed.
    pub aborted_by: std::sync::OnceLock<String>,
    pub collector: Arc<Collector>,
    pub log: Arc<RunLog>,
    pub status: watch::Sender<RunStatus>,
    /// Taken (closing every subscription) when the run ends.
    pub intervals: std::sync::Mutex<Option<broadcast::Sender<IntervalStats>>>,
    /// Each interval's delta, with [`RunOptions::keep_deltas`]; taken when the run ends.
    pub deltas: std::sync::Mutex<Option<mpsc::UnboundedSender<IntervalDelta>>>,
    /// The receiving end, until [`RunHandle::take_deltas`] takes it.
    pub delta_receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<IntervalDelta>>>,
    pub placement: Placement,
    /// `on-test-start`'s data, once it returned.
    pub setup: watch::Sender<Option<Arc<Vec<u8>>>>,
    /// With [`Placement::Remote`]: set when every part has ended (or was given up).
    pub parts_done: watch::Sender<bool>,
    /// Why the run was aborted while running ([`RunHandle::abort`]).
    pub aborted: std::sync::OnceLock<String>,
    pub stop: watch::Sender<bool>,
    pub report: watch::Sender<Option<Arc<Report>>>,
}

impl Shared {
    pub(crate) fn intervals(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<broadcast::Sender<IntervalStats>>> {
        lock(&self.intervals)
    }

    /// Sends `interval` to every subscriber (none once the run is over), and its delta to
    /// the one who takes deltas.
    pub(crate) fn publish_interval(&self, interval: IntervalStats, delta: Option<IntervalDelta>) {
        if let Some(sender) = self.intervals().as_ref() {
            let _ = sender.send(interval);
        }
        if let Some(delta) = delta
            && let Some(sender) = lock(&self.deltas).as_ref()
        {
            let _ = sender.send(delta);
        }
    }

    /// Closes the streams of intervals and deltas: the run is over.
    pub(crate) fn close_streams(&self) {
        self.intervals().take();
        lock(&self.deltas).take();
    }
}

/// Where a run's VUs run, and so which hooks run here.
#[derive(Debug, Clone, Default)]
pub enum Placement {
    /// Here, with every hook here (the default).
    #[default]
    Local,
    /// Here, as one agent's part of a distributed run (its plan has the part's execution
    /// segment): `on-test-start`'s data comes from the coordinator, the VUs start at
    /// `start_at`, and the coordinator runs the other hooks and judges thresholds on the
    /// merged figures (so no threshold aborts the part on its own figures).
    Part {
        /// What the coordinator's `on-test-start` returned.
        setup_data: Vec<u8>,
        /// The wall-clock instant every part starts at.
        start_at: SystemTime,
    },
    /// Elsewhere: agents run the parts and hand in their intervals
    /// ([`RunHandle::absorb`]); the run here runs the hooks, merges the figures and judges
    /// the thresholds on them, and ends when [`RunHandle::parts_finished`] says so.
    Remote,
}

impl Placement {
    /// Whether this is an agent's part of a distributed run.
    pub fn is_part(&self) -> bool {
        matches!(self, Self::Part { .. })
    }
}

/// How a run starts, besides its plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A policy the run's requests must pass as well as the plan's own (a tenant's).
    pub egress: Egress,
    /// Hand each interval's delta on ([`RunHandle::take_deltas`]): everything recorded in
    /// it, histograms included, for a result file or a coordinator to merge. Off by
    /// default: the run then keeps no histogram per interval.
    pub keep_deltas: bool,
    /// Where the VUs run.
    pub placement: Placement,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            egress: Egress::open(),
            keep_deltas: false,
            placement: Placement::Local,
        }
    }
}

/// A running (or finished) run. Cheap to clone; every clone sees the same run.
#[derive(Clone)]
pub struct RunHandle {
    shared: Arc<Shared>,
}

/// Starts runs.
pub struct Run;

impl Run {
    /// Instances a run of `plan` needs from the engine: its VUs plus the test instance and
    /// room for re-created VUs.
    pub fn instances_needed(plan: &Plan) -> u32 {
        plan.max_vus().saturating_add(4)
    }

    /// Instances a run of `plan` placed at `placement` needs from the engine: with its VUs
    /// elsewhere, the test instance and room for its re-creation.
    pub fn instances_for(plan: &Plan, placement: &Placement) -> u32 {
        match placement {
            Placement::Remote => 2,
            _ => Self::instances_needed(plan),
        }
    }

    /// Validates `plan` against `scenario` and starts the run in the background.
    /// Must be called within a tokio runtime.
    pub fn start(engine: &Engine, scenario: Scenario, plan: Plan) -> Result<RunHandle, StartError> {
        Self::start_within(engine, scenario, plan, Egress::open())
    }

    /// [`Run::start`], with the run's requests held to `egress` (a tenant's policy) as well
    /// as to the plan's own policy.
    pub fn start_within(
        engine: &Engine,
        scenario: Scenario,
        plan: Plan,
        egress: Egress,
    ) -> Result<RunHandle, StartError> {
        let options = RunOptions {
            egress,
            ..RunOptions::default()
        };
        Self::start_with(engine, scenario, plan, options)
    }

    /// [`Run::start`] with `options`.
    pub fn start_with(
        engine: &Engine,
        scenario: Scenario,
        plan: Plan,
        options: RunOptions,
    ) -> Result<RunHandle, StartError> {
        plan.validate()?;
        let engine_memory = engine.options().max_memory_bytes;
        if plan.limits.memory_bytes > engine_memory {
            return Err(StartError::MemoryLimit {
                planned: plan.limits.memory_bytes,
                engine: engine_memory,
            });
        }
        let available = engine.options().max_instances;
        let needed = Self::instances_for(&plan, &options.placement);
        if available > 0 && needed > available {
            return Err(StartError::Capacity { needed, available });
        }
        // The plan must fit the scenario's tasks before anything starts.
        let pickers = plan
            .scenarios
            .iter()
            .map(|s| {
                TaskPicker::new(&scenario.info().tasks, s.exec.as_deref())
                    .map_err(|err| StartError::Mismatch(format!("scenario {:?}: {err}", s.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let client = Client::new(client_options(&plan, options.egress)).map_err(StartError::Tls)?;
        let collector = Collector::with_thresholds(
            plan.thresholds.clone(),
            plan.latency_correction,
            name_caps(&plan.limits),
        );
        collector.set_vus_max(plan.max_vus());
        let (deltas, delta_receiver) = if options.keep_deltas {
            collector.keep_deltas();
            let (sender, receiver) = mpsc::unbounded_channel();
            (Some(sender), Some(receiver))
        } else {
            (None, None)
        };
        let shared = Arc::new(Shared {
            info: scenario.info().clone(),
            log: Arc::new(RunLog::new(
                plan.limits.log_bytes,
                plan.limits.log_bytes_per_vu,
            )),
            scenarios: plan.scenarios.iter().map(LiveScenario::new).collect(),
            aborted_by: std::sync::OnceLock::new(),
            client,
            plan,
            started_at: SystemTime::now(),
            clock: Clock::new(),
            collector,
            status: watch::channel(RunStatus::Starting).0,
            // Roomy, so a subscriber writing files falls behind only if its disk stalls.
            intervals: std::sync::Mutex::new(Some(broadcast::channel(1024).0)),
            deltas: std::sync::Mutex::new(deltas),
            delta_receiver: std::sync::Mutex::new(delta_receiver),
            placement: options.placement,
            setup: watch::channel(None).0,
            parts_done: watch::channel(false).0,
            aborted: std::sync::OnceLock::new(),
            stop: watch::channel(false).0,
            report: watch::channel(None).0,
        });
        let driver = tokio::spawn(driver::drive(shared.clone(), scenario, pickers));
        let supervised = shared.clone();
        tokio::spawn(async move {
            if let Err(err) = driver.await {
                let reason = format!("the run's driver failed: {err}");
                driver::finish(&supervised, RunStatus::Aborted { reason });
            }
        });
        Ok(RunHandle { shared })
    }
}

/// The caps on names `limits` set, for the run's stats.
fn name_caps(limits: &Limits) -> NameCaps {
    NameCaps {
        max_bytes: limits.max_name_bytes as usize,
        requests: limits.max_request_names as usize,
        metrics: limits.max_metric_names as usize,
        checks: limits.max_check_names as usize,
    }
}

/// The client settings of `plan`, its requests held to `egress` as well as to the plan's own
/// policy.
fn client_options(plan: &Plan, egress: Egress) -> ClientOptions {
    let http = &plan.http;
    ClientOptions {
        max_body_bytes: plan.limits.max_response_bytes as usize,
        egress: egress.and(plan.egress.clone()),
        tls: plan.tls.clone(),
        http2: http.http2,
        h2c: http.h2c,
        policy: http.connection_policy,
        max_connections_per_host: http.max_connections_per_host,
        dns_ttl: http.dns_ttl,
        // Checked when the plan was validated.
        resolve: http
            .resolve
            .iter()
            .filter_map(|entry| Resolve::parse(entry).ok())
            .collect(),
        ..ClientOptions::default()
    }
}

impl RunHandle {
    /// The current status.
    pub fn status(&self) -> RunStatus {
        self.shared.status.borrow().clone()
    }

    /// Status changes as they happen.
    pub fn watch_status(&self) -> watch::Receiver<RunStatus> {
        self.shared.status.subscribe()
    }

    /// The plan being run.
    pub fn plan(&self) -> &Plan {
        &self.shared.plan
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &ScenarioInfo {
        &self.shared.info
    }

    /// The cumulative statistics now.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.collector.snapshot()
    }

    /// The cumulative figures now as metric families (the observability outputs').
    pub fn exposition(&self) -> Exposition {
        self.shared.collector.exposition()
    }

    /// The durations of every request so far, all names together.
    pub fn request_durations(&self) -> Distribution {
        self.shared.collector.request_durations()
    }

    /// Active VUs now (a snapshot's `vus`, without building the snapshot).
    pub fn vus(&self) -> u32 {
        self.shared.collector.vus()
    }

    /// Every closed interval so far.
    pub fn series(&self) -> Vec<IntervalStats> {
        self.shared.collector.series()
    }

    /// Each interval as it closes. A slow receiver skips intervals (`Lagged`), it never slows
    /// the run; the channel closes when the run ends.
    pub fn subscribe(&self) -> broadcast::Receiver<IntervalStats> {
        match self.shared.intervals().as_ref() {
            Some(sender) => sender.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// Each interval's delta as it closes, in order, none skipped, when the run was started
    /// with [`RunOptions::keep_deltas`]; `None` otherwise, and for every call after the
    /// first. The channel closes when the run ends, after the last interval's delta.
    pub fn take_deltas(&self) -> Option<mpsc::UnboundedReceiver<IntervalDelta>> {
        lock(&self.shared.delta_receiver).take()
    }

    /// Wall-clock start of the run.
    pub fn started_at(&self) -> SystemTime {
        self.shared.started_at
    }

    /// Log lines as they are written.
    pub fn logs(&self) -> broadcast::Receiver<LogLine> {
        self.shared.log.subscribe()
    }

    /// The most recent log lines.
    pub fn recent_logs(&self) -> Vec<LogLine> {
        self.shared.log.recent()
    }

    /// Asks the run to stop: no new iteration starts, in-flight ones get the graceful stop.
    pub fn stop(&self) {
        self.shared.stop.send_replace(true);
    }

    /// Whether a stop was asked (by a caller, a threshold's `abortOnFail`, the run's time
    /// limit, or an abort).
    pub fn stop_requested(&self) -> bool {
        *self.shared.stop.borrow()
    }

    /// Stops the run as a failure: it ends `Aborted` with `reason`, said in its log now.
    pub fn abort(&self, reason: &str) {
        if self.shared.aborted.set(reason.to_owned()).is_ok() {
            let message = format!("{reason}; the run stops");
            self.shared
                .log
                .write(0, Level::Error, Source::Host, &message);
        }
        self.stop();
    }

    /// Writes `message` to the run's log, from the host.
    pub fn log(&self, level: Level, message: &str) {
        self.shared.log.write(0, level, Source::Host, message);
    }

    /// `on-test-start`'s data, once it returned; `None` if the run ended first.
    pub async fn setup_data(&self) -> Option<Arc<Vec<u8>>> {
        let mut setup = self.shared.setup.subscribe();
        let mut report = self.shared.report.subscribe();
        tokio::select! {
            data = setup.wait_for(Option::is_some) => data.ok().and_then(|d| d.clone()),
            _ = report.wait_for(Option::is_some) => None,
        }
    }

    /// Adds an interval recorded elsewhere (an agent's part, [`Placement::Remote`]) to the
    /// run's figures: in its current interval, its snapshot and its thresholds.
    pub fn absorb(&self, recorded: &RecordedMetrics) {
        self.shared.collector.absorb(recorded);
    }

    /// The VUs active (and retired) elsewhere, all parts together ([`Placement::Remote`]).
    pub fn set_remote_vus(&self, active: u32, retired: u32) {
        self.shared.collector.set_vus(active, retired);
    }

    /// Says that every part of a [`Placement::Remote`] run has ended (or was given up): the
    /// run closes its figures, runs `on-test-stop` and ends.
    pub fn parts_finished(&self) {
        self.shared.parts_done.send_replace(true);
    }

    /// Waits for the end and returns the report.
    pub async fn wait(&self) -> Arc<Report> {
        let mut report = self.shared.report.subscribe();
        // The sender lives in `shared`, which `self` holds: the wait ends only with a report.
        match report.wait_for(Option::is_some).await {
            Ok(report) => report
                .clone()
                .unwrap_or_else(|| unreachable!("waited for Some")),
            Err(_) => unreachable!("the report sender outlives every handle"),
        }
    }
}
