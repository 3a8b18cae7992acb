//! Shared support of the integration tests in `all/`: the guest components (built from
//! source by `build.rs`) and a recording HTTP target on loopback.

pub mod guests {
    //! Paths of the guest components.
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

pub mod target;
