//! Live control of `host run` from the terminal: single keys on a terminal's stdin, and
//! signals. Both go through the same [`RunHandle`] calls the server uses.
//!
//! | input | action |
//! |---|---|
//! | `p`, `SIGUSR1` | pause / resume |
//! | `+` `-` | one VU more / less (first `constant-vus` scenario) |
//! | `]` `[` | ten VUs more / less |
//! | `q`, Ctrl-C, `SIGTERM` | stop gracefully (Ctrl-C twice: quit at once) |

use tokio::sync::mpsc;

use crate::run::{ControlError, RunHandle};

/// What a person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Pause or resume.
    TogglePause,
    /// Change the VUs by this many.
    Vus(i64),
    /// Stop gracefully.
    Stop,
}

impl Action {
    fn of_key(key: u8) -> Option<Self> {
        Some(match key {
            b'p' | b'P' => Self::TogglePause,
            b'+' | b'=' => Self::Vus(1),
            b'-' | b'_' => Self::Vus(-1),
            b']' => Self::Vus(10),
            b'[' => Self::Vus(-10),
            b'q' | b'Q' => Self::Stop,
            _ => return None,
        })
    }
}

/// Applies `action` to the run; returns what to tell the person.
pub(crate) fn apply(handle: &RunHandle, action: Action) -> String {
    let result: Result<String, ControlError> = match action {
        Action::TogglePause if handle.is_paused() => handle.resume().map(|_| "resumed".to_owned()),
        Action::TogglePause => handle
            .pause()
            .map(|_| "paused: no iteration starts until resumed (p)".to_owned()),
        Action::Stop => {
            handle.stop();
            Ok("stopping: in-flight iterations get their graceful stop".to_owned())
        }
        Action::Vus(delta) => {
            let Some(scenario) = handle.live_scenarios().iter().find(|s| s.adjustable) else {
                return "no constant-vus scenario in this run: its VUs are set by the plan"
                    .to_owned();
            };
            let vus = (i64::from(scenario.vus()) + delta).clamp(0, i64::from(scenario.max_vus));
            handle
                .set_vus(&scenario.name, vus as u32)
                .map(|()| format!("scenario {}: {vus} VUs", scenario.name))
        }
    };
    result.unwrap_or_else(|err| err.to_string())
}

/// Starts listening for keys (when stdin is a terminal) and signals; actions arrive on the
/// returned channel. The terminal is restored by [`restore_terminal`].
pub(crate) fn listen(keys: bool) -> mpsc::UnboundedReceiver<Action> {
    let (sender, receiver) = mpsc::unbounded_channel();
    if keys {
        terminal::read_keys(sender.clone());
    }
    signals(sender);
    receiver
}

/// Puts the terminal back as it was (a no-op if keys were never read).
pub(crate) fn restore_terminal() {
    terminal::restore();
}

#[cfg(unix)]
fn signals(sender: mpsc::UnboundedSender<Action>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, action) in [
        (SignalKind::terminate(), Action::Stop),
        (SignalKind::user_defined1(), Action::TogglePause),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if sender.send(action).is_err() {
                    break;
                }
            }
        });
    }
}

#[cfg(not(unix))]
fn signals(_sender: mpsc::UnboundedSender<Action>) {}

#[cfg(unix)]
mod terminal {
    //! Single keys without Enter: stdin leaves canonical mode and stops echoing; output
    //! processing and Ctrl-C stay as they are, so logs and the progress line still print
    //! right and Ctrl-C still stops the run.

    use std::io::Read as _;
    use std::sync::Mutex;

    use rustix::termios::{LocalModes, OptionalActions, Termios, tcgetattr, tcsetattr};
    use tokio::sync::mpsc;

    use super::Action;

    static ORIGINAL: Mutex<Option<Termios>> = Mutex::new(None);

    pub(super) fn read_keys(sender: mpsc::UnboundedSender<Action>) {
        let stdin = std::io::stdin();
        let Ok(original) = tcgetattr(&stdin) else {
            return;
        };
        let mut raw = original.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO);
        if tcsetattr(&stdin, OptionalActions::Now, &raw).is_err() {
            return;
        }
        *crate::sync::lock(&ORIGINAL) = Some(original);
        // A blocking read on its own thread; it ends with the process.
        let spawned = std::thread::Builder::new()
            .name("loadwright-keys".into())
            .spawn(move || {
                let mut byte = [0u8; 1];
                while let Ok(1) = std::io::stdin().lock().read(&mut byte) {
                    if let Some(action) = Action::of_key(byte[0])
                        && sender.send(action).is_err()
                    {
                        break;
                    }
                }
            });
        if spawned.is_err() {
            restore();
        }
    }

    pub(super) fn restore() {
        if let Some(original) = crate::sync::lock(&ORIGINAL).take() {
            let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &original);
        }
    }
}

#[cfg(not(unix))]
mod terminal {
    use tokio::sync::mpsc;

    use super::Action;

    pub(super) fn read_keys(_sender: mpsc::UnboundedSender<Action>) {}

    pub(super) fn restore() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(Action::of_key(b'p'), Some(Action::TogglePause));
        assert_eq!(Action::of_key(b'+'), Some(Action::Vus(1)));
        assert_eq!(Action::of_key(b'['), Some(Action::Vus(-10)));
        assert_eq!(Action::of_key(b'q'), Some(Action::Stop));
        assert_eq!(Action::of_key(b'x'), None);
    }
}
