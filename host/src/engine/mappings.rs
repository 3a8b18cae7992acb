//! Memory mappings: each pooled instance slot costs the process about six (its linear
//! memories, tables and fiber stack, with their guard pages), and Linux caps a process at
//! `vm.max_map_count` (65 530 by default, about 10 000 VUs). Past it, mappings fail with
//! ENOMEM in the middle of a run; checking the plan against the limit up front turns that
//! into a message that says what to do.

/// Mappings one pooled instance slot needs (measured: about 6 per VU with 1 000 and 4 000
/// VUs; one more for headroom).
const MAPPINGS_PER_INSTANCE: u64 = 7;
/// Mappings the rest of the process may add while it runs (threads, buffers, libraries).
const HEADROOM: u64 = 2_000;

/// Why a pool of instances does not fit the system's mapping limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{instances} instances need about {needed} memory mappings, but vm.max_map_count is \
     {limit} ({used} in use already). Raise it, as root: `sysctl -w vm.max_map_count={suggested}` \
     (and add `vm.max_map_count={suggested}` to /etc/sysctl.d/99-loadwright.conf to keep it), \
     or run fewer VUs"
)]
pub struct MappingLimit {
    /// The pool's instances.
    pub instances: u32,
    /// Mappings the process would need.
    pub needed: u64,
    /// Mappings in use now.
    pub used: u64,
    /// `vm.max_map_count`.
    pub limit: u64,
    /// A limit that fits, with room to spare.
    pub suggested: u64,
}

/// Checks that a pool of `instances` fits `limit` mappings when `used` are in use.
pub(crate) fn check(instances: u32, used: u64, limit: u64) -> Result<(), MappingLimit> {
    let needed = used + u64::from(instances) * MAPPINGS_PER_INSTANCE + HEADROOM;
    if needed <= limit {
        return Ok(());
    }
    Err(MappingLimit {
        instances,
        needed,
        used,
        limit,
        suggested: (needed * 2).next_power_of_two(),
    })
}

/// `vm.max_map_count` and the mappings this process holds, when they can be read (Linux).
fn system() -> Option<(u64, u64)> {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())?;
    let used = std::fs::read_to_string("/proc/self/maps")
        .ok()
        .map(|maps| maps.lines().count() as u64)?;
    Some((limit, used))
}

/// Checks a pool of `instances` against this process and system (Linux; elsewhere, and when
/// the numbers cannot be read, it passes).
pub(crate) fn check_system(instances: u32) -> Result<(), MappingLimit> {
    match system() {
        Some((limit, used)) => check(instances, used, limit),
        None => Ok(()),
    }
}

/// The most pooled instances `limit` mappings hold when `used` are in use.
fn capacity(used: u64, limit: u64) -> u32 {
    let free = limit.saturating_sub(used + HEADROOM);
    u32::try_from(free / MAPPINGS_PER_INSTANCE).unwrap_or(u32::MAX)
}

/// A pool of `wanted` instances, or as many as this system's mapping limit holds, with
/// what raising the limit would give when that is fewer.
pub fn fit_pool(wanted: u32) -> (u32, Option<MappingLimit>) {
    let Some((limit, used)) = system() else {
        return (wanted, None);
    };
    match check(wanted, used, limit) {
        Ok(()) => (wanted, None),
        Err(short) => (capacity(used, limit).min(wanted), Some(short)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capacity_of_a_limit_is_what_check_accepts() {
        let fits = capacity(500, 65_530);
        assert!(check(fits, 500, 65_530).is_ok());
        assert!(check(fits + 1, 500, 65_530).is_err());
        assert_eq!(capacity(70_000, 65_530), 0);
    }

    #[test]
    fn a_pool_past_the_mapping_limit_says_what_to_do() {
        assert!(check(5_000, 500, 65_530).is_ok());
        let err = check(20_000, 500, 65_530).unwrap_err();
        assert_eq!(err.needed, 500 + 20_000 * 7 + 2_000);
        assert!(err.suggested >= err.needed);
        let message = err.to_string();
        assert!(
            message.contains("sysctl -w vm.max_map_count=524288"),
            "{message}"
        );
    }
}
