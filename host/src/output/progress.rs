//! The live progress line: redrawn in place on a terminal, printed now and then otherwise.

use std::io::Write;
use std::time::Duration;

use super::format::millis;
use crate::runlog::{Level, LogLine, Source};
use crate::stats::IntervalStats;

/// Writes progress for one run to standard error.
pub struct Progress {
    terminal: bool,
    planned: Duration,
    /// The progress line on screen, redrawn under each log line.
    drawn: Option<String>,
    last_plain: Option<Duration>,
    last_length: Duration,
    /// Interval between plain lines when not on a terminal.
    plain_every: Duration,
    /// Shown on the line while the run is paused.
    paused: bool,
}

impl Progress {
    /// Progress for a run planned to last `planned` (before graceful stop).
    pub fn new(terminal: bool, planned: Duration) -> Self {
        Self {
            terminal,
            planned,
            drawn: None,
            last_plain: None,
            last_length: Duration::ZERO,
            plain_every: Duration::from_secs(5),
            paused: false,
        }
    }

    /// The line for `interval`.
    pub fn line(&self, interval: &IntervalStats) -> String {
        let total = interval.total_requests.max(1) as f64;
        format!(
            "{} [{:>5.1}s / {}] VUs {:>4} | {:>9} reqs | {:>8.0} rps | p95 {:>8} | {} fails ({:.2}%)",
            if self.paused { "PAUSED " } else { "running" },
            interval.elapsed.as_secs_f64(),
            crate::config::format_duration(self.planned),
            interval.vus,
            interval.total_requests,
            interval.rps,
            millis(interval.duration.p95),
            interval.total_failures,
            interval.total_failures as f64 * 100.0 / total,
        )
    }

    /// Shows a closed interval. The run's last interval is usually a short tail whose rate
    /// would read as a drop to zero: one shorter than half the previous one is not drawn.
    pub fn interval(&mut self, interval: &IntervalStats) {
        let tail = interval.length * 2 < self.last_length;
        self.last_length = interval.length;
        if tail {
            return;
        }
        let line = self.line(interval);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            self.drawn = Some(line);
        } else if self
            .last_plain
            .is_none_or(|at| interval.elapsed >= at + self.plain_every)
        {
            let _ = writeln!(err, "{line}");
            self.last_plain = Some(interval.elapsed);
        }
        let _ = err.flush();
    }

    /// Marks the run paused or running on the next line drawn.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Prints a note from the host (a control action) above the progress line.
    pub fn note(&mut self, text: &str) {
        self.above(&format!("[control] {text}"));
    }

    /// Writes `text` on its own line, keeping the progress line under it.
    fn above(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.drawn.is_some() {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "{text}");
        if let Some(progress) = &self.drawn {
            let _ = write!(err, "{progress}");
        }
        let _ = err.flush();
    }

    /// Prints a log line above the progress line.
    pub fn log(&mut self, line: &LogLine) {
        let who = if line.vu == 0 {
            "test".to_owned()
        } else {
            format!("vu {}", line.vu)
        };
        let level = match line.level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let source = match line.source {
            Source::Guest => "",
            Source::Stdout => " stdout",
            Source::Stderr => " stderr",
            Source::Host => " host",
        };
        self.above(&format!("[{who}{source}] {level}: {}", line.message));
    }

    /// Ends the progress line so the summary starts on a fresh line.
    pub fn finish(&mut self) {
        if self.drawn.take().is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}
