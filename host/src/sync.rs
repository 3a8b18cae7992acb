//! Locks that outlive a panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, taking its data even when a thread panicked while holding it: what the
/// host guards this way (counters, connection pools, queues, the agents' table) stays
/// usable after an update cut short, and one panicking task must not take every other
/// task that shares the lock down with it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
