//! The data of one instance's store, split by the interface that uses it.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use url::Url;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::host::output::GuestOutput;
use super::host::urls::UrlResolver;
use super::instance::Timeouts;
use super::outbox::Outbox;
use super::sandbox::Limiter;
use crate::config::{HttpPlan, Limits};
use crate::http::{Client, Session};
use crate::runlog::{RunLog, Source};
use crate::stats::{Collector, Recorder, Scope};
use crate::timer::Timer;

/// What every instance of a run shares: the client, the stats, the log, the parameters.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The run's HTTP client.
    pub client: Client,
    /// The run's stats.
    pub collector: Arc<Collector>,
    /// The run's log.
    pub log: Arc<RunLog>,
    /// Base URL for relative request URLs.
    pub base_url: Option<Url>,
    /// HTTP defaults (timeout, redirects).
    pub http: HttpPlan,
    /// Parameters for `vu.parameter`.
    pub params: Arc<BTreeMap<String, String>>,
    /// What `on-test-start` returned, once it has.
    pub setup_data: Arc<OnceLock<Vec<u8>>>,
    /// The sandbox's limits (memory, CPU, timeouts, body sizes, batch).
    pub limits: Limits,
    /// The scenario (and its tags) the instances' samples belong to.
    pub scope: Arc<Scope>,
    /// Record `http_req_duration_corrected`, with each VU's usual pace as the expected
    /// interval (closed models with latency correction).
    pub latency_correction: bool,
}

impl RunContext {
    /// A recorder in this context's scope.
    pub fn recorder(&self) -> Recorder {
        self.collector.recorder(self.scope.clone())
    }
}

/// A VU's usual time between request starts: the expected interval of the corrected series.
#[derive(Debug, Default)]
pub(crate) struct Pacing {
    last_start: Option<Instant>,
    gaps: Duration,
    count: u32,
}

impl Pacing {
    /// Notes a request starting at `start`; returns the mean gap between this VU's earlier
    /// request starts, once there is one.
    pub(crate) fn observe(&mut self, start: Instant) -> Option<Duration> {
        let expected = (self.count > 0).then(|| self.gaps / self.count);
        if let Some(last) = self.last_start {
            self.gaps += start.saturating_duration_since(last);
            self.count = self.count.saturating_add(1);
        }
        self.last_start = Some(start);
        expected
    }
}

/// Who an instance is: a VU of a scenario, or the test instance (VU 0).
#[derive(Debug, Clone)]
pub struct Identity {
    /// VU number from 1; 0 for the test instance.
    pub vu: u32,
    /// Name of the plan's scenario.
    pub scenario: Arc<str>,
}

/// What a VU's requests go out with: the run's client, the VU's connections and cookies,
/// and the timer its requests' timeouts run on. Boxed, so that it moves to a posted exchange
/// and back as a pointer.
pub(crate) struct Wire {
    pub client: Client,
    pub session: Session,
    pub timer: Timer,
}

impl Wire {
    /// A wire for `client` without connections or cookies.
    pub(crate) fn new(client: Client) -> Box<Self> {
        Box::new(Self {
            client,
            session: Session::new(),
            timer: Timer::new(),
        })
    }
}

/// State for `http`.
pub(crate) struct HttpHost {
    /// The run's client, to give the VU a new wire if its exchange was dropped in flight.
    pub client: Client,
    /// The VU's wire; out with an exchange while one is in flight.
    pub wire: Option<Box<Wire>>,
    /// Where `send` posts its exchange for the VU's task to run.
    pub outbox: Arc<Outbox>,
    pub recorder: Recorder,
    /// The VU's request URLs, resolved against the run's base URL.
    pub urls: UrlResolver,
    pub timeout: Duration,
    pub max_redirects: u32,
    pub max_request_bytes: usize,
    pub max_request_headers: usize,
    pub max_request_header_bytes: usize,
    pub max_batch: usize,
    /// How late the running iteration started after it was due (open models): added to its
    /// requests' `http_req_duration`.
    pub start_lag: Duration,
    /// With latency correction, the VU's pace.
    pub pacing: Option<Pacing>,
}

/// State for `vu`.
pub(crate) struct VuHost {
    pub identity: Identity,
    pub iteration: u64,
    pub params: Arc<BTreeMap<String, String>>,
    pub setup_data: Arc<OnceLock<Vec<u8>>>,
    pub log: Arc<RunLog>,
}

/// State for `metrics`.
pub(crate) struct MetricsHost {
    pub recorder: Recorder,
    pub log: Arc<RunLog>,
    pub vu: u32,
    /// Metric names already reported as used with two kinds (logged once each).
    pub conflicts: Vec<String>,
}

/// State for `stats`.
pub(crate) struct StatsHost {
    pub collector: Arc<Collector>,
}

/// The data of one store: one field per interface, plus WASI and limits.
pub struct InstanceState {
    pub(crate) http: HttpHost,
    pub(crate) vu: VuHost,
    pub(crate) metrics: MetricsHost,
    pub(crate) stats: StatsHost,
    pub(crate) limiter: Limiter,
    pub(crate) timeouts: Timeouts,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl InstanceState {
    /// Fresh state for the instance `identity` of the run `context`.
    pub fn new(context: &RunContext, identity: Identity) -> Self {
        let vu = identity.vu;
        let recorder = context.recorder();
        // No arguments, environment, preopened directories or sockets: only stdio, clocks
        // and randomness for the guest's standard library.
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stdout(GuestOutput::new(context.log.clone(), vu, Source::Stdout))
            .stderr(GuestOutput::new(context.log.clone(), vu, Source::Stderr))
            .build();
        Self {
            http: HttpHost {
                client: context.client.clone(),
                wire: Some(Wire::new(context.client.clone())),
                outbox: Outbox::new(),
                recorder: recorder.clone(),
                urls: UrlResolver::new(context.base_url.clone()),
                timeout: context.http.timeout,
                max_redirects: context.http.max_redirects,
                max_request_bytes: context.limits.max_request_bytes as usize,
                max_request_headers: context.limits.max_request_headers as usize,
                max_request_header_bytes: context.limits.max_request_header_bytes as usize,
                max_batch: context.limits.max_batch as usize,
                start_lag: Duration::ZERO,
                pacing: context.latency_correction.then(Pacing::default),
            },
            vu: VuHost {
                identity,
                iteration: 0,
                params: context.params.clone(),
                setup_data: context.setup_data.clone(),
                log: context.log.clone(),
            },
            metrics: MetricsHost {
                recorder,
                log: context.log.clone(),
                vu,
                conflicts: Vec::new(),
            },
            stats: StatsHost {
                collector: context.collector.clone(),
            },
            limiter: Limiter::new(context.limits.memory_bytes as usize),
            timeouts: Timeouts {
                iteration: context.limits.iteration_timeout,
                hook: context.limits.hook_timeout,
                cpu: Some(context.limits.cpu_per_call).filter(|cpu| !cpu.is_zero()),
            },
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Sets the iteration number `vu.iteration` reports.
    pub fn set_iteration(&mut self, iteration: u64) {
        self.vu.iteration = iteration;
    }

    /// Sets how late the next iteration started after it was due.
    pub fn set_start_lag(&mut self, lag: Duration) {
        self.http.start_lag = lag;
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl RunContext {
    /// A context tied to no run: for calls like `options()` whose samples nobody reads.
    pub fn detached() -> Self {
        Self {
            client: Client::new(Default::default())
                .expect("the default TLS settings (the built-in roots) always build"),
            collector: Collector::new(),
            log: Arc::new(RunLog::new(64 << 10, 64 << 10)),
            base_url: None,
            http: HttpPlan::default(),
            params: Arc::default(),
            setup_data: Arc::default(),
            limits: Limits::default(),
            scope: Arc::default(),
            latency_correction: false,
        }
    }
}
