//! One timer for a sequence of bounded waits: a VU's requests, or an instance's calls.
//!
//! `tokio::time::timeout` registers a timer in the runtime's wheel when its future first
//! waits and removes it when it ends: two trips through the timer driver's lock for every
//! request, though nearly every request ends long before its timeout. A [`Timer`] keeps one
//! registered sleep and moves it only when it must: a wait whose deadline is later than the
//! sleep's leaves it alone, and when it fires early (armed by an earlier wait) it is moved to
//! the current deadline. With waits far shorter than their limit, the sleep is moved about
//! once per limit instead of twice per wait.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

/// The wait ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired;

/// A reusable timer: see the module's documentation.
#[derive(Debug, Default)]
pub struct Timer {
    /// Registered with the runtime at its first wait; boxed so it can move with its owner.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Timer {
    /// A timer with nothing registered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `future` to its end, or until `limit` (counted from now) has passed.
    ///
    /// A type rather than an `async fn`: an async fn would keep `future` twice in its state,
    /// as its argument and as the pinned local it polls, and every caller's future would
    /// carry both (a request's whole exchange, a guest call).
    pub fn within<F: Future>(&mut self, limit: Duration, future: F) -> Within<'_, F> {
        let now = Instant::now();
        // A limit too large to add is as good as none: about thirty years.
        let deadline = now
            .checked_add(limit)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400));
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(sleep_until(deadline)));
        if sleep.deadline() > deadline {
            sleep.as_mut().reset(deadline);
        }
        Within {
            future,
            sleep,
            deadline,
        }
    }
}

pin_project! {
    /// A future run under a [`Timer`]'s limit: [`Timer::within`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Within<'a, F> {
        #[pin]
        future: F,
        sleep: &'a mut Pin<Box<Sleep>>,
        deadline: Instant,
    }
}

impl<F: Future> Future for Within<'_, F> {
    type Output = Result<F::Output, Expired>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        while this.sleep.as_mut().poll(cx).is_ready() {
            if Instant::now() >= *this.deadline {
                return Poll::Ready(Err(Expired));
            }
            // Armed by an earlier, shorter wait: move it to this wait's deadline.
            this.sleep.as_mut().reset(*this.deadline);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Waits `ms` milliseconds, then gives `value`.
    async fn after<T>(ms: u64, value: T) -> T {
        tokio::time::sleep(MS * ms as u32).await;
        value
    }

    #[tokio::test]
    async fn a_wait_past_its_limit_expires_and_one_within_it_completes() {
        let mut timer = Timer::new();
        assert_eq!(timer.within(MS * 50, after(5_000, ())).await, Err(Expired));
        assert_eq!(timer.within(MS * 5_000, after(10, 7)).await, Ok(7));
    }

    #[tokio::test]
    async fn a_sleep_armed_by_an_earlier_wait_is_moved_not_obeyed() {
        let mut timer = Timer::new();
        // Arms the sleep 200 ms from now.
        assert_eq!(timer.within(MS * 200, async { 1 }).await, Ok(1));
        tokio::time::sleep(MS * 150).await;
        // This wait's limit ends 200 ms from now; the sleep fires after 50 ms and is moved,
        // and the wait of 100 ms completes.
        assert_eq!(timer.within(MS * 200, after(100, 2)).await, Ok(2));
        // The sleep, moved again, still stops a wait at its own limit and not before.
        let started = Instant::now();
        assert_eq!(timer.within(MS * 100, after(5_000, 3)).await, Err(Expired));
        let waited = started.elapsed();
        assert!(waited >= MS * 100 && waited < MS * 2_000, "{waited:?}");
    }

    #[tokio::test]
    async fn a_limit_too_large_to_add_is_no_limit() {
        let mut timer = Timer::new();
        assert_eq!(timer.within(Duration::MAX, after(10, 5)).await, Ok(5));
    }

    #[tokio::test]
    async fn a_shorter_limit_than_the_armed_one_is_honoured() {
        let mut timer = Timer::new();
        assert_eq!(timer.within(MS * 60_000, async {}).await, Ok(()));
        let started = Instant::now();
        assert_eq!(timer.within(MS * 50, after(5_000, ())).await, Err(Expired));
        let waited = started.elapsed();
        assert!(waited >= MS * 50 && waited < MS * 2_000, "{waited:?}");
    }

    #[tokio::test]
    async fn a_wait_holds_its_future_once() {
        let mut timer = Timer::new();
        let size = std::mem::size_of_val(&after(10, [0u8; 512]));
        let wait = timer.within(MS * 100, after(10, [0u8; 512]));
        // The future, a reference to the sleep and a deadline: not the future twice.
        assert!(
            std::mem::size_of_val(&wait) < size + 64,
            "{} bytes around a {size}-byte future",
            std::mem::size_of_val(&wait)
        );
        assert_eq!(wait.await, Ok([0u8; 512]));
    }
}
