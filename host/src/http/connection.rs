//! Connections the client opens itself, and pools of kept-alive ones.

use foldhash::HashMap;
use std::sync::Arc;

use super::h1::H1;
use super::h2::H2;
use super::request::TlsInfo;
use super::stream::Meter;

/// Most idle HTTP/1.1 connections a pool keeps per origin; more are closed when returned.
const MAX_IDLE_PER_ORIGIN: usize = 64;

/// Where a connection goes: scheme, host and port. Cloning it is a reference count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// A domain (lower case), an IPv4 address, or an IPv6 address without brackets.
    pub host: Arc<str>,
    pub port: u16,
}

/// A connection's protocol: HTTP/1.1 carries one exchange at a time and is owned by it;
/// HTTP/2 carries many at once, each with a handle of its own.
pub(crate) enum Link {
    H1(H1),
    H2(H2),
}

/// One open connection: its protocol state, its meter (bytes on the wire), and what its TLS
/// handshake gave.
pub(crate) struct Conn {
    pub link: Link,
    pub meter: Arc<Meter>,
    pub tls: Option<TlsInfo>,
}

impl Conn {
    /// Whether the connection can no longer carry requests (for HTTP/1.1, see
    /// [`H1::is_closed`]).
    pub(crate) fn is_closed(&mut self) -> bool {
        match &mut self.link {
            Link::H1(h1) => h1.is_closed(),
            Link::H2(h2) => h2.is_closed(),
        }
    }

    /// Whether the last exchange left it able to carry another (without looking at the
    /// socket).
    fn is_reusable(&self) -> bool {
        match &self.link {
            Link::H1(h1) => h1.is_reusable(),
            Link::H2(h2) => !h2.is_closed(),
        }
    }

    /// Another handle on an HTTP/2 connection; `None` for HTTP/1.1, which one exchange
    /// owns.
    fn share(&self) -> Option<Self> {
        match &self.link {
            Link::H1(_) => None,
            Link::H2(h2) => Some(Self {
                link: Link::H2(h2.clone()),
                meter: self.meter.clone(),
                tls: self.tls,
            }),
        }
    }
}

/// Kept-alive connections, by origin: a VU's own, or (behind a lock) the run's shared pool.
#[derive(Default)]
pub(crate) struct Connections {
    idle: HashMap<Origin, Vec<Conn>>,
}

impl Connections {
    /// A connection to `origin` that is still open, if any: an HTTP/2 one is shared (it
    /// stays in the pool), an HTTP/1.1 one taken out.
    pub(crate) fn checkout(&mut self, origin: &Origin) -> Option<Conn> {
        let idle = self.idle.get_mut(origin)?;
        while let Some(conn) = idle.last_mut() {
            if conn.is_closed() {
                idle.pop();
                continue;
            }
            return conn.share().or_else(|| idle.pop());
        }
        None
    }

    /// Returns a connection for reuse. One its last exchange ended is dropped, and so are
    /// HTTP/1.1 extras and a handle on an HTTP/2 connection the pool holds already.
    /// (Whether the server closed it meanwhile is checked when it is taken out.)
    pub(crate) fn checkin(&mut self, origin: Origin, conn: Conn) {
        if !conn.is_reusable() {
            return;
        }
        let idle = self.idle.entry(origin).or_default();
        let multiplexed = |c: &Conn| matches!(c.link, Link::H2(_));
        if multiplexed(&conn) && idle.iter().any(|c| multiplexed(c) && c.is_reusable()) {
            return;
        }
        if idle.len() < MAX_IDLE_PER_ORIGIN {
            idle.push(conn);
        }
    }

    /// Takes every idle connection out, with its origin.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (Origin, Conn)> + '_ {
        self.idle
            .drain()
            .flat_map(|(origin, conns)| conns.into_iter().map(move |c| (origin.clone(), c)))
    }
}
