//! Shared support of the integration tests in `all/`: the guest components (built from
//! source by `build.rs`), a recording HTTP target, an HTTPS/HTTP/2 target on loopback, and
//! receivers of the observability outputs (Prometheus, OTLP).

pub mod guests {
    //! Paths of the guest components.
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

pub mod receivers;
pub mod target;
pub mod tls;
