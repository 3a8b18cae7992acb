//! The open-file limit: raised at start when a run may need more descriptors than the soft
//! limit allows (each connection is one), up to the hard limit; and what to do when even
//! that is too low.

/// Descriptors a run of `vus` VUs may hold: a connection each, batches' extra connections
/// for a few, and the process's own (the runtime, the cache, the log).
pub(crate) fn needed_for(vus: u32) -> u64 {
    u64::from(vus) * 2 + 256
}

/// What [`raise`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Raised {
    /// The soft limit is high enough already.
    Enough,
    /// The soft limit went from `from` to `to`.
    To { from: u64, to: u64 },
    /// Even the hard limit is below what is needed; the soft limit went up to it.
    Short { hard: u64, needed: u64 },
}

impl Raised {
    /// A line for the banner, if there is something to say.
    pub(crate) fn note(&self) -> Option<String> {
        match self {
            Self::Enough => None,
            Self::To { from, to } => {
                Some(format!("raised the open-file limit from {from} to {to}"))
            }
            Self::Short { hard, needed } => Some(format!(
                "⚠ the run may need {needed} open files but the hard limit is {hard}: raise it \
                 (ulimit -Hn as root, LimitNOFILE= for a service), or connections will fail \
                 with \"out of file descriptors\""
            )),
        }
    }
}

/// The soft limit to set for `needed` descriptors, given the current `soft` and `hard`.
fn decide(soft: u64, hard: u64, needed: u64) -> Raised {
    if soft >= needed {
        Raised::Enough
    } else if hard >= needed {
        Raised::To {
            from: soft,
            to: needed,
        }
    } else {
        Raised::Short { hard, needed }
    }
}

/// Raises the soft open-file limit towards `needed` (never past the hard limit).
pub(crate) fn raise(needed: u64) -> Raised {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let (Some(soft), hard) = (limit.current, limit.maximum) else {
            return Raised::Enough;
        };
        let hard = hard.unwrap_or(u64::MAX);
        let decision = decide(soft, hard, needed);
        let target = match decision {
            Raised::Enough => return decision,
            Raised::To { to, .. } => to,
            Raised::Short { hard, .. } => hard,
        };
        let mut raised = limit;
        raised.current = Some(target);
        if setrlimit(Resource::Nofile, raised).is_err() {
            // The soft limit stays where it was: as short as a hard limit at that value.
            return Raised::Short { hard: soft, needed };
        }
        decision
    }
    #[cfg(not(unix))]
    {
        let _ = needed;
        Raised::Enough
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_goes_up_to_what_is_needed_and_never_past_the_hard_one() {
        assert_eq!(decide(1024, 4096, 512), Raised::Enough);
        assert_eq!(
            decide(1024, 65536, 2256),
            Raised::To {
                from: 1024,
                to: 2256
            }
        );
        let short = decide(1024, 2000, 2256);
        assert_eq!(
            short,
            Raised::Short {
                hard: 2000,
                needed: 2256
            }
        );
        assert!(short.note().is_some_and(|n| n.contains("ulimit -Hn")));
        assert_eq!(needed_for(1000), 2256);
    }
}
