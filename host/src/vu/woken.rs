//! A future polled only once it has asked to be: [`when_woken`].
//!
//! A VU's task waits on its life (the guest's iterations and requests) and, beside it, on
//! the signals that cut it (the end of the run, a ramp-down). `select!` polls every branch
//! at every wake-up, and the VU's task wakes several times per request: polling the cut
//! signals' watch channels each time cost some 600 instructions per request, for signals
//! that fire once per run.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;

/// Whether the wrapped future was woken since it was last polled, and the task to wake.
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

pin_project! {
    /// A future that polls `inner` only when `inner` woke it (and the first time).
    #[must_use = "futures do nothing unless awaited"]
    pub(crate) struct WhenWoken<F> {
        #[pin]
        inner: F,
        flag: Arc<Flag>,
        waker: Waker,
    }
}

/// `inner`, polled only at its first poll and after it has woken the task.
pub(crate) fn when_woken<F: Future>(inner: F) -> WhenWoken<F> {
    let flag = Arc::new(Flag {
        woken: AtomicBool::new(true),
        task: AtomicWaker::new(),
    });
    let waker = Waker::from(flag.clone());
    WhenWoken { inner, flag, waker }
}

impl<F: Future> Future for WhenWoken<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Registered before the flag is read: a wake-up in between is not lost.
        this.flag.task.register(cx.waker());
        if !this.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        this.inner.poll(&mut Context::from_waker(this.waker))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A future that counts its polls and is ready once `ready` is set.
    struct Probe<'a> {
        polls: &'a AtomicUsize,
        ready: &'a AtomicBool,
        waker: &'a std::sync::Mutex<Option<Waker>>,
    }

    impl Future for Probe<'_> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            if self.ready.load(Ordering::Relaxed) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn the_inner_future_is_polled_first_and_then_only_when_it_woke_the_task() {
        let (polls, ready, waker) = (
            AtomicUsize::new(0),
            AtomicBool::new(false),
            std::sync::Mutex::new(None),
        );
        let mut future = std::pin::pin!(when_woken(Probe {
            polls: &polls,
            ready: &ready,
            waker: &waker,
        }));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.load(Ordering::Relaxed), 1, "polled once, until woken");
        ready.store(true, Ordering::Relaxed);
        waker.lock().unwrap().take().expect("kept a waker").wake();
        assert!(future.as_mut().poll(&mut cx).is_ready());
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_wake_reaches_the_task_that_awaits() {
        let (sender, mut receiver) = tokio::sync::watch::channel(0);
        let waiting = tokio::spawn(async move {
            when_woken(receiver.wait_for(|v| *v == 3))
                .await
                .map(|v| *v)
                .ok()
        });
        for value in 1..=3 {
            tokio::task::yield_now().await;
            sender.send(value).expect("the receiver waits");
        }
        assert_eq!(waiting.await.expect("joins"), Some(3));
    }
}
