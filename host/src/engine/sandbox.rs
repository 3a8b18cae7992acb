//! The sandbox's meters on one store: the CPU time of the current call, and memory growth
//! refused by the limit. They decide the kind of a trap (`cpu-limit`, `memory-limit`), so a
//! failure is counted under its cause.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

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

/// The CPU a call used past its budget (`limits.cpuPerCall`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuSpent {
    pub budget: Duration,
}

/// Runs the guest call `call` under a CPU budget (`None`: no budget), metered on the time
/// its future is polled: the guest's code and the host's synchronous work for it (building
/// a snapshot, writing a log line) count; the time the call waits on the host (a request in
/// flight, a sleep) does not, as the future is not polled then, and neither does a request's
/// own work (its VU's task runs it outside the call: `engine::outbox`). The guest yields at
/// every epoch tick, so one poll of guest code lasts about 10 ms at most. Past the budget the
/// call is dropped (and its instance with it) and the error says so.
///
/// Measuring polls costs two clock reads per poll, where a call hook on every guest/host
/// transition cost more than every other part of a request's boundary crossing.
pub(crate) fn metered<F: Future>(budget: Option<Duration>, call: F) -> Metered<F> {
    Metered {
        call,
        budget,
        used: Duration::ZERO,
    }
}

pin_project! {
    /// A guest call under a CPU budget: [`metered`]. A type rather than an `async fn`, which
    /// would hold the call's future twice (argument and pinned local) in its state.
    #[must_use = "futures do nothing unless awaited"]
    pub(crate) struct Metered<F> {
        #[pin]
        call: F,
        budget: Option<Duration>,
        used: Duration,
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = Result<F::Output, CpuSpent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(budget) = *this.budget else {
            return this.call.poll(cx).map(Ok);
        };
        let started = Instant::now();
        let poll = this.call.poll(cx);
        *this.used += started.elapsed();
        match poll {
            Poll::Ready(output) => Poll::Ready(Ok(output)),
            Poll::Pending if *this.used > budget => Poll::Ready(Err(CpuSpent { budget })),
            Poll::Pending => Poll::Pending,
        }
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

    /// A call that is busy for `busy` on each poll, waits `waits` times on the host (woken
    /// after `wait`), then returns.
    async fn call(busy: Duration, waits: u32, wait: Duration) -> u32 {
        for _ in 0..waits {
            std::thread::sleep(busy);
            tokio::time::sleep(wait).await;
        }
        waits
    }

    #[tokio::test]
    async fn only_polls_count_against_the_budget_and_waits_do_not() {
        let budget = Some(Duration::from_millis(100));
        // 5 polls of 5 ms busy, 200 ms waited meanwhile: well within 100 ms of CPU.
        let waited = Duration::from_millis(40);
        let done = metered(budget, call(Duration::from_millis(5), 5, waited)).await;
        assert_eq!(done.ok(), Some(5));
        // 20 polls of 10 ms: past the budget, stopped before the end.
        let started = Instant::now();
        let spent = metered(budget, call(Duration::from_millis(10), 20, Duration::ZERO)).await;
        assert!(spent.is_err(), "over budget");
        assert!(
            started.elapsed() < Duration::from_millis(180),
            "stopped near the budget"
        );
        // No budget: anything goes.
        let free = metered(None, call(Duration::from_millis(10), 20, Duration::ZERO)).await;
        assert_eq!(free.ok(), Some(20));
    }

    #[test]
    fn a_metered_call_holds_the_calls_future_once() {
        let inner = call(Duration::ZERO, 3, Duration::ZERO);
        let size = std::mem::size_of_val(&inner);
        let wrapped = metered(None, call(Duration::ZERO, 3, Duration::ZERO));
        // The call's future, a budget and a sum: not the call's future twice.
        assert!(
            std::mem::size_of_val(&wrapped) < size + 64,
            "{} bytes around a {size}-byte call",
            std::mem::size_of_val(&wrapped)
        );
    }
}
