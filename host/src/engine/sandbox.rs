//! The sandbox's meters on one store: the guest's CPU time in the current call, and memory
//! growth refused by the limit. They decide the kind of a trap (`cpu-limit`,
//! `memory-limit`), so a failure is counted under its cause.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{CallHook, ResourceLimiter, StoreLimits, StoreLimitsBuilder, UpdateDeadline};

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

/// The guest's CPU time in the current call: the time spent running guest code, counted
/// from entering wasm (or coming back from a host call) to leaving it (or calling the
/// host). Waiting on the host, and being descheduled at an epoch yield, do not count.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    budget: Duration,
    used: Duration,
    base: Instant,
    /// Nanoseconds after `base` when guest code last started running, plus one; 0 when it
    /// is not running. Shared with the future that resumes the guest after a yield.
    running_since: Arc<AtomicU64>,
    /// Set when the budget ran out.
    exhausted: bool,
}

impl CpuMeter {
    pub(crate) fn new(budget: Duration) -> Self {
        Self {
            budget,
            used: Duration::ZERO,
            base: Instant::now(),
            running_since: Arc::new(AtomicU64::new(0)),
            exhausted: false,
        }
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64 + 1
    }

    /// Whether there is a budget to meter (`cpuPerCall` is not `0s`).
    pub(crate) fn enabled(&self) -> bool {
        !self.budget.is_zero()
    }

    /// Starts a new call with a full budget.
    pub(crate) fn start_call(&mut self) {
        self.used = Duration::ZERO;
        self.exhausted = false;
    }

    fn start(&self) {
        self.running_since.store(self.now(), Ordering::Relaxed);
    }

    /// Adds the running stretch to the time used; an error once the budget is spent.
    fn stop(&mut self) -> wasmtime::Result<()> {
        let since = self.running_since.swap(0, Ordering::Relaxed);
        if since != 0 {
            self.used += Duration::from_nanos(self.now().saturating_sub(since));
        }
        if self.used > self.budget {
            self.exhausted = true;
            return Err(wasmtime::Error::msg(format!(
                "the guest used more than {} ms of CPU in one call (limits.cpuPerCall)",
                self.budget.as_millis()
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
        let (running_since, base) = (self.running_since.clone(), self.base);
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                tokio::task::yield_now().await;
                running_since.store(base.elapsed().as_nanos() as u64 + 1, Ordering::Relaxed);
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
        let mut meter = CpuMeter::new(Duration::from_millis(30));
        meter.start_call();
        for _ in 0..5 {
            meter.on_call_hook(CallHook::CallingWasm).unwrap();
            std::thread::sleep(Duration::from_millis(2));
            meter.on_call_hook(CallHook::CallingHost).unwrap();
            // Time waiting on the host is not the guest's.
            std::thread::sleep(Duration::from_millis(20));
            meter.on_call_hook(CallHook::ReturningFromHost).unwrap();
            meter.on_call_hook(CallHook::ReturningFromWasm).unwrap();
        }
        assert!(!meter.exhausted(), "about 10 ms of guest time in 110 ms");
        meter.on_call_hook(CallHook::CallingWasm).unwrap();
        std::thread::sleep(Duration::from_millis(25));
        let err = meter.on_call_hook(CallHook::CallingHost).unwrap_err();
        assert!(err.to_string().contains("limits.cpuPerCall"), "{err}");
        assert!(meter.exhausted());
        meter.start_call();
        assert!(!meter.exhausted(), "the next call has a full budget");
    }
}
