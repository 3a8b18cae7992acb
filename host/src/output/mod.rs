//! What a person at a terminal sees: the plan at start, live progress, the end summary.

mod format;
mod progress;
mod summary;

pub use format::{bytes, millis};
pub use progress::Progress;
pub use summary::{plan_lines, summary};
