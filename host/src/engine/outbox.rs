//! Where a guest's request waits to be sent: the `http.send` host call posts the exchange
//! here and suspends the guest; the VU's task polls the exchange on its worker thread's
//! stack ([`Driven`]), and resumes the guest once it has completed.
//!
//! A host call's future is polled on the VU's fiber, and a request's poll path (the timeout,
//! redirects, the exchange, the parser, the socket) is some 9 KiB of stack frames. Each VU
//! has a fiber stack of its own, last touched a whole round of VUs ago: with tens of VUs
//! those frames missed the caches at every request. The worker thread's stack is shared by
//! every VU it runs, and stays warm.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::state::Wire;
use crate::http::{HttpError, Response};

/// What a posted request gives back: its outcome, and the connections, cookies and timer it
/// used, to be put back into the guest's state.
pub(crate) type Exchanged = (Result<Response, HttpError>, Box<Wire>);

/// A posted exchange: the future the VU's task polls.
pub(crate) type Exchange<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The one exchange of a VU in flight, or its outcome not yet collected. Two fields rather
/// than an enum, so that taking the exchange out to poll it moves a pointer, not the slot.
struct Slot<T> {
    posted: Option<Exchange<T>>,
    done: Option<T>,
}

/// A VU's mailbox between its guest's host calls and its task: see the module's
/// documentation. Shared by the instance's state and the instance; never contended, as both
/// run in the VU's task.
pub(crate) struct Outbox<T = Exchanged> {
    slot: Mutex<Slot<T>>,
}

impl<T: Send> Outbox<T> {
    /// A new, empty outbox.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            slot: Mutex::new(Slot {
                posted: None,
                done: None,
            }),
        })
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot<T>> {
        crate::sync::lock(&self.slot)
    }

    /// Posts `exchange` for the VU's task to run; the guest then waits on [`Self::collect`].
    pub(crate) fn post(&self, exchange: Exchange<T>) {
        self.slot().posted = Some(exchange);
    }

    /// The outcome of the posted exchange, once the VU's task has run it to its end.
    pub(crate) fn collect(&self) -> impl Future<Output = T> + Send + '_ {
        // No waker to keep: the task that completes the exchange polls the guest next.
        std::future::poll_fn(|_| match self.slot().done.take() {
            Some(exchanged) => Poll::Ready(exchanged),
            None => Poll::Pending,
        })
    }

    /// Polls the posted exchange, if any: `Ready` when there is none in flight (none posted,
    /// or one just completed), `Pending` while it waits.
    fn drive(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(mut exchange) = self.slot().posted.take() else {
            return Poll::Ready(());
        };
        // Polled outside the lock, on the caller's stack.
        let poll = exchange.as_mut().poll(cx);
        let mut slot = self.slot();
        match poll {
            Poll::Ready(exchanged) => {
                slot.done = Some(exchanged);
                Poll::Ready(())
            }
            Poll::Pending => {
                slot.posted = Some(exchange);
                Poll::Pending
            }
        }
    }

    fn is_posted(&self) -> bool {
        self.slot().posted.is_some()
    }

    /// Drops an exchange, or its outcome, left behind by a call that ended before it (a
    /// timeout, a trap): the next call must not collect it.
    fn clear(&self) {
        let left = {
            let mut slot = self.slot();
            // Checked first: taking an empty `done` still moves its whole size.
            if slot.posted.is_none() && slot.done.is_none() {
                return;
            }
            (slot.posted.take(), slot.done.take())
        };
        drop(left);
    }
}

pin_project! {
    /// A guest call whose posted exchanges are polled here, on the VU task's stack, rather
    /// than on the guest's fiber. The guest is resumed only when its exchange has completed
    /// (or when it waits on something else).
    #[must_use = "futures do nothing unless awaited"]
    pub(crate) struct Driven<'a, F, T: Send> {
        #[pin]
        call: F,
        outbox: &'a Outbox<T>,
    }

    impl<'a, F, T: Send> PinnedDrop for Driven<'a, F, T> {
        fn drop(this: Pin<&mut Self>) {
            this.project().outbox.clear();
        }
    }
}

/// `call` with the exchanges it posts to `outbox` run by the caller's task.
pub(crate) fn driven<F: Future, T: Send>(outbox: &Outbox<T>, call: F) -> Driven<'_, F, T> {
    Driven { call, outbox }
}

impl<F: Future, T: Send> Future for Driven<'_, F, T> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        loop {
            // The guest waits on a posted exchange: nothing to resume it for until it is done.
            if this.outbox.drive(cx).is_pending() {
                return Poll::Pending;
            }
            if let Poll::Ready(output) = this.call.as_mut().poll(cx) {
                return Poll::Ready(output);
            }
            // Suspended for another reason than a request just posted: it has its waker.
            if !this.outbox.is_posted() {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    /// A call that posts an exchange (ten polls' worth of yields, then 7) and collects it;
    /// counts its own polls in `polls`.
    fn call<'a>(outbox: &'a Outbox<u32>, polls: &'a AtomicU32) -> impl Future<Output = u32> + 'a {
        let mut collect = None;
        std::future::poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::Relaxed);
            let collect = collect.get_or_insert_with(|| {
                outbox.post(Box::pin(async {
                    for _ in 0..10 {
                        tokio::task::yield_now().await;
                    }
                    7
                }));
                Box::pin(outbox.collect())
            });
            collect.as_mut().poll(cx).map(|value| value + 1)
        })
    }

    #[tokio::test]
    async fn a_posted_exchange_runs_in_the_driving_task_and_the_call_resumes_once_it_is_done() {
        let outbox = Outbox::new();
        let polls = AtomicU32::new(0);
        let value = driven(&outbox, call(&outbox, &polls)).await;
        assert_eq!(value, 8);
        // Posted at the first poll, collected at the second: the eleven polls of the exchange
        // did not resume the call.
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_call_dropped_in_flight_drops_its_exchange() {
        let outbox = Outbox::new();
        let held = Arc::new(());
        let exchange_holds = held.clone();
        let call = async {
            outbox.post(Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(exchange_holds);
                1
            }));
            outbox.collect().await
        };
        let cut = tokio::time::timeout(Duration::from_millis(20), driven(&outbox, call)).await;
        assert!(cut.is_err(), "the exchange waits a minute");
        assert_eq!(
            Arc::strong_count(&held),
            1,
            "the exchange was dropped with its call"
        );
    }
}
