//! The sandbox's meters on one store: the guest's CPU time in the current call, and memory
//! growth refused by the limit. They decide the kind of a trap (`cpu-limit`,
//! `memory-limit`), so a failure is counted under its cause.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::{CallHook, ResourceLimiter, StoreLimits, StoreLimitsBuilder, UpdateDeadline};

use super::config::EPOCH_TICK;

/// Why a guest call did not return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrapKind {
    /// The guest trapped on its own: a panic, `unreachable`, a bad memory access.
    Trap,
    /// The call used more guest CPU time than `cpuPerCall`.
    CpuLimit,
    /// The guest trapped after its memory could not grow past `memoryBytes`.
    MemoryLimit,
    /// An iteration ran longer than `iterationTimeout`.
    IterationTimeout,
    /// A hook ran longer than `hookTimeout`.
    HookTimeout,
    /// The instance could not be created.
    Instantiation,
}

impl TrapKind {
    /// The stable name, as in the statistics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trap => "trap",
            Self::CpuLimit => "cpu-limit",
            Self::MemoryLimit => "memory-limit",
            Self::IterationTimeout => "iteration-timeout",
            Self::HookTimeout => "hook-timeout",
            Self::Instantiation => "instantiation",
        }
    }
}

/// Marks "guest code is not running" in [`CpuMeter::running_since`].
const NOT_RUNNING: u64 = u64::MAX;

/// The guest's CPU time in the current call, in epoch ticks: counted from entering wasm (or
/// coming back from a host call) to leaving it (or calling the host). Waiting on the host,
/// and being descheduled at an epoch yield, do not count.
///
/// Ticks are 10 ms, so one stretch counts whole ticks passed during it: a 3 ms stretch
/// counts 1 tick three times out of ten, which is right on average, and costs one atomic
/// load where reading a clock would cost tens of nanoseconds per guest/host transition.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    /// Budget in ticks; 0 for no limit.
    budget: u64,
    used: u64,
    /// The engine's tick counter.
    ticks: Arc<AtomicU64>,
    /// The tick when guest code last started running, or [`NOT_RUNNING`]. Shared with the
    /// future that resumes the guest after a yield.
    running_since: Arc<AtomicU64>,
    /// Set when the budget ran out.
    exhausted: bool,
}

impl CpuMeter {
    /// A meter of `budget` (rounded up to whole ticks) on the tick counter `ticks`.
    pub(crate) fn new(budget: Duration, ticks: Arc<AtomicU64>) -> Self {
        Self {
            budget: budget.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64,
            used: 0,
            ticks,
            running_since: Arc::new(AtomicU64::new(NOT_RUNNING)),
            exhausted: false,
        }
    }

    /// Meters on `ticks` (the engine's counter the instance runs under).
    pub(crate) fn set_ticks(&mut self, ticks: Arc<AtomicU64>) {
        self.ticks = ticks;
    }

    /// Whether there is a budget to meter (`cpuPerCall` is not `0s`).
    pub(crate) fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// Starts a new call with a full budget.
    pub(crate) fn start_call(&mut self) {
        self.used = 0;
        self.exhausted = false;
    }

    fn start(&self) {
        let now = self.ticks.load(Ordering::Relaxed);
        self.running_since.store(now, Ordering::Relaxed);
    }

    /// Adds the running stretch to the ticks used; an error once the budget is spent.
    fn stop(&mut self) -> wasmtime::Result<()> {
        let since = self.running_since.swap(NOT_RUNNING, Ordering::Relaxed);
        if since != NOT_RUNNING {
            self.used += self.ticks.load(Ordering::Relaxed).saturating_sub(since);
        }
        if self.used > self.budget {
            self.exhausted = true;
            let budget = Duration::from_nanos(self.budget * EPOCH_TICK.as_nanos() as u64);
            return Err(wasmtime::Error::msg(format!(
                "the guest used more than {} ms of CPU in one call (limits.cpuPerCall)",
                budget.as_millis()
            )));
        }
        Ok(())
    }

    /// The call hook: meters the guest's running stretches.
    pub(crate) fn on_call_hook(&mut self, hook: CallHook) -> wasmtime::Result<()> {
        match hook {
            CallHook::CallingWasm | CallHook::ReturningFromHost => {
                self.start();
                Ok(())
            }
            CallHook::CallingHost | CallHook::ReturningFromWasm => self.stop(),
        }
    }

    /// The epoch deadline passed while guest code runs: charge the stretch so far, then
    /// yield to other VUs, and start counting again when the guest resumes.
    pub(crate) fn on_epoch(&mut self) -> wasmtime::Result<UpdateDeadline> {
        self.stop()?;
        let (running_since, ticks) = (self.running_since.clone(), self.ticks.clone());
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                tokio::task::yield_now().await;
                running_since.store(ticks.load(Ordering::Relaxed), Ordering::Relaxed);
            }),
        ))
    }

    /// Whether the current call ran out of CPU.
    pub(crate) fn exhausted(&self) -> bool {
        self.exhausted
    }
}

/// The store's resource limiter: the memory and table limits, noting when growth was
/// refused.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: StoreLimits,
    refused: bool,
}

impl Limiter {
    pub(crate) fn new(memory_bytes: usize) -> Self {
        Self {
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(32)
                .build(),
            refused: false,
        }
    }

    /// Forgets refusals of earlier calls.
    pub(crate) fn start_call(&mut self) {
        self.refused = false;
    }

    /// Whether a memory growth was refused during the current call.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // The pooling allocator's own cap: refused as well, the guest sees -1.
        self.refused = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_stretches_count_against_the_budget() {
        let ticks = Arc::new(AtomicU64::new(0));
        let tick = |n: u64| {
            ticks.fetch_add(n, Ordering::Relaxed);
        };
        let mut meter = CpuMeter::new(Duration::from_millis(30), ticks.clone());
        meter.start_call();
        for _ in 0..3 {
            meter.on_call_hook(CallHook::CallingWasm).unwrap();
            tick(1);
            meter.on_call_hook(CallHook::CallingHost).unwrap();
            // Ticks while waiting on the host are not the guest's.
            tick(50);
            meter.on_call_hook(CallHook::ReturningFromHost).unwrap();
            meter.on_call_hook(CallHook::ReturningFromWasm).unwrap();
        }
        assert!(!meter.exhausted(), "3 ticks of guest time out of 153");
        meter.on_call_hook(CallHook::CallingWasm).unwrap();
        tick(1);
        let err = meter.on_call_hook(CallHook::CallingHost).unwrap_err();
        assert!(err.to_string().contains("30 ms of CPU"), "{err}");
        assert!(meter.exhausted());
        meter.start_call();
        assert!(!meter.exhausted(), "the next call has a full budget");
    }

    #[test]
    fn an_epoch_yield_charges_the_stretch_and_not_the_wait() {
        let ticks = Arc::new(AtomicU64::new(0));
        let mut meter = CpuMeter::new(Duration::from_millis(20), ticks.clone());
        meter.start_call();
        meter.on_call_hook(CallHook::CallingWasm).unwrap();
        ticks.fetch_add(1, Ordering::Relaxed);
        assert!(meter.on_epoch().is_ok(), "1 tick of 2");
        // Descheduled for 10 ticks; resumed (the yield future ran) at tick 11.
        ticks.fetch_add(10, Ordering::Relaxed);
        meter.start();
        ticks.fetch_add(1, Ordering::Relaxed);
        assert!(meter.on_epoch().is_ok(), "2 ticks of 2");
        meter.start();
        ticks.fetch_add(1, Ordering::Relaxed);
        assert!(meter.on_epoch().is_err(), "3 ticks: over");
    }
}
