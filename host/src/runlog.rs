//! The run's log: what guests write (`vu.log`, stdout, stderr) and what the host reports
//! about the run, bounded in bytes so a chatty scenario cannot exhaust memory.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::broadcast;

/// Longest line kept; longer ones are cut.
const MAX_LINE_BYTES: usize = 4096;
/// Lines kept for late readers.
const RECENT_LINES: usize = 1000;

/// Severity of a line (the WIT `vu.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Very detailed.
    Trace,
    /// Diagnostics.
    Debug,
    /// Progress.
    Info,
    /// Something unexpected.
    Warn,
    /// A failure.
    Error,
}

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `vu.log`.
    Guest,
    /// The guest's standard output.
    Stdout,
    /// The guest's standard error.
    Stderr,
    /// The engine, about the run (a failed VU start, a trap).
    Host,
}

/// One line of the run's log.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// Time since the run started.
    pub elapsed: Duration,
    /// The VU that wrote it (0: the test instance or the host).
    pub vu: u32,
    /// Severity.
    pub level: Level,
    /// Origin.
    pub source: Source,
    /// The text, without a trailing newline.
    pub message: String,
}

/// A bounded, subscribable log.
#[derive(Debug)]
pub struct RunLog {
    started: Instant,
    limit_bytes: u64,
    used_bytes: AtomicU64,
    /// Bytes each VU may write; what each has written.
    per_vu_limit: u64,
    per_vu: Mutex<HashMap<u32, u64>>,
    dropped: AtomicU64,
    recent: Mutex<VecDeque<LogLine>>,
    live: broadcast::Sender<LogLine>,
}

impl RunLog {
    /// A log that accepts up to `limit_bytes` of text, and `per_vu_limit` from each VU,
    /// then drops and counts lines. The host's own lines are always kept.
    pub fn new(limit_bytes: u64, per_vu_limit: u64) -> Self {
        Self {
            started: Instant::now(),
            limit_bytes,
            used_bytes: AtomicU64::new(0),
            per_vu_limit,
            per_vu: Mutex::new(HashMap::new()),
            dropped: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::new()),
            live: broadcast::channel(1024).0,
        }
    }

    /// Appends a line, unless the log is full.
    pub fn write(&self, vu: u32, level: Level, source: Source, message: &str) {
        let mut message = message.trim_end_matches(['\n', '\r']);
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message = &message[..cut];
        }
        let size = message.len() as u64 + 1;
        if source != Source::Host && !self.admit(vu, size) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let line = LogLine {
            elapsed: self.started.elapsed(),
            vu,
            level,
            source,
            message: message.to_owned(),
        };
        {
            let mut recent = crate::sync::lock(&self.recent);
            if recent.len() == RECENT_LINES {
                recent.pop_front();
            }
            recent.push_back(line.clone());
        }
        let _ = self.live.send(line);
    }

    /// Whether a guest line of `size` bytes from `vu` fits both budgets (and charges it).
    fn admit(&self, vu: u32, size: u64) -> bool {
        {
            let mut per_vu = crate::sync::lock(&self.per_vu);
            let used = per_vu.entry(vu).or_default();
            if *used + size > self.per_vu_limit {
                return false;
            }
            *used += size;
        }
        self.used_bytes.fetch_add(size, Ordering::Relaxed) + size <= self.limit_bytes
    }

    /// Lines as they are written (a slow reader skips lines, it never slows the run).
    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }

    /// The most recent lines, oldest first.
    pub fn recent(&self) -> Vec<LogLine> {
        let recent = crate::sync::lock(&self.recent);
        recent.iter().cloned().collect()
    }

    /// Lines dropped because the log was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_and_counts_lines_past_the_limit() {
        let log = RunLog::new(20, 100);
        log.write(1, Level::Info, Source::Guest, "0123456789\n");
        log.write(1, Level::Info, Source::Guest, "0123456789");
        log.write(1, Level::Info, Source::Guest, "x");
        assert_eq!(log.recent().len(), 1);
        assert_eq!(log.recent()[0].message, "0123456789");
        assert_eq!(log.dropped(), 2);
        log.write(0, Level::Error, Source::Host, "host lines are always kept");
        assert_eq!(log.recent().len(), 2);
    }

    #[test]
    fn one_vu_cannot_take_the_whole_log() {
        let log = RunLog::new(1000, 25);
        for _ in 0..10 {
            log.write(1, Level::Info, Source::Stdout, "0123456789");
        }
        log.write(2, Level::Info, Source::Guest, "another VU still writes");
        let lines = log.recent();
        assert_eq!(
            lines.iter().filter(|l| l.vu == 1).count(),
            2,
            "11 bytes each, 25 allowed"
        );
        assert_eq!(lines.iter().filter(|l| l.vu == 2).count(), 1);
        assert_eq!(log.dropped(), 8);
    }
}
