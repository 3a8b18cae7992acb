//! One output's queue of batches: bounded, never blocking the side that fills it. When it is
//! full the oldest batch is dropped, since the newer one carries every figure it had.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use url::Url;

use super::ExportReport;
use crate::stats::Exposition;

/// Batches waiting, and the tally of what became of the others.
#[derive(Default)]
struct State {
    batches: VecDeque<Arc<Exposition>>,
    closed: bool,
    sent: u64,
    failed: u64,
    dropped: u64,
    last_error: Option<String>,
}

/// The queue between a run's intervals and one output's sender.
pub(super) struct Queue {
    capacity: usize,
    state: Mutex<State>,
    ready: Notify,
}

impl Queue {
    /// An empty queue of at most `capacity` batches.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// Adds a batch, dropping the oldest when full. Never waits.
    pub fn push(&self, batch: Arc<Exposition>) {
        let mut state = self.lock();
        if state.batches.len() == self.capacity {
            state.batches.pop_front();
            state.dropped += 1;
        }
        state.batches.push_back(batch);
        drop(state);
        self.ready.notify_one();
    }

    /// No batch comes after those queued.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// The oldest batch, waiting for one; `None` once closed and empty.
    pub async fn pop(&self) -> Option<Arc<Exposition>> {
        loop {
            let notified = self.ready.notified();
            {
                let mut state = self.lock();
                if let Some(batch) = state.batches.pop_front() {
                    return Some(batch);
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Counts how sending a batch went.
    pub fn settle(&self, outcome: Result<(), String>) {
        let mut state = self.lock();
        match outcome {
            Ok(()) => state.sent += 1,
            Err(error) => {
                state.failed += 1;
                state.last_error = Some(error);
            }
        }
    }

    /// The tally of `output` at `url`.
    pub fn report(&self, output: &'static str, url: &Url) -> ExportReport {
        let state = self.lock();
        ExportReport {
            output,
            url: url.to_string(),
            sent: state.sent,
            failed: state.failed,
            dropped: state.dropped,
            last_error: state.last_error.clone(),
        }
    }

    /// The tally when the sender was given up on: what is still queued is dropped, and so
    /// is the batch being sent.
    pub fn abandoned(&self, output: &'static str, url: &Url) -> ExportReport {
        let mut state = self.lock();
        let waiting = state.batches.len() as u64;
        state.batches.clear();
        state.dropped += waiting + 1;
        drop(state);
        self.report(output, url)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn batch() -> Arc<Exposition> {
        Arc::new(Exposition {
            at: SystemTime::now(),
            families: Vec::new(),
        })
    }

    #[tokio::test]
    async fn a_full_queue_drops_its_oldest_batch() {
        let queue = Queue::new(2);
        let (a, b, c) = (batch(), batch(), batch());
        queue.push(a);
        queue.push(b.clone());
        queue.push(c.clone());
        queue.close();
        assert!(Arc::ptr_eq(&queue.pop().await.expect("b"), &b));
        assert!(Arc::ptr_eq(&queue.pop().await.expect("c"), &c));
        assert!(queue.pop().await.is_none());
        queue.settle(Ok(()));
        queue.settle(Err("503 busy".into()));
        let url = Url::parse("http://127.0.0.1:9/").expect("url");
        let report = queue.report("otlp", &url);
        assert_eq!((report.sent, report.failed, report.dropped), (1, 1, 1));
        assert_eq!(report.last_error.as_deref(), Some("503 busy"));
    }

    #[tokio::test]
    async fn pop_waits_for_a_batch() {
        let queue = Arc::new(Queue::new(4));
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.pop().await.is_some() }
        });
        tokio::task::yield_now().await;
        queue.push(batch());
        assert!(waiting.await.expect("joined"));
    }
}
