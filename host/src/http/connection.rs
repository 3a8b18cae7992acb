//! Connections the client opens itself: metered I/O and a VU's pool of kept-alive ones.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most idle connections a VU keeps per origin; more are closed when returned.
const MAX_IDLE_PER_ORIGIN: usize = 64;

/// Byte counts and the instants of I/O on one connection, shared between the connection
/// task (which does the I/O) and the VU (which reads the figures after each exchange).
#[derive(Debug)]
pub(crate) struct Meter {
    base: Instant,
    written: AtomicU64,
    read: AtomicU64,
    /// Nanoseconds after `base` of the last write, 0 if none.
    last_write: AtomicU64,
    /// Nanoseconds after `base` of the first read since the last `mark`, 0 if none.
    first_read: AtomicU64,
}

/// The figures of a meter at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MeterReading {
    pub written: u64,
    pub read: u64,
}

impl Meter {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            written: AtomicU64::new(0),
            read: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            first_read: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        // Never 0, so 0 can mean "not yet".
        (self.base.elapsed().as_nanos() as u64).max(1)
    }

    fn instant(&self, nanos: u64) -> Option<Instant> {
        (nanos != 0).then(|| self.base + Duration::from_nanos(nanos))
    }

    fn wrote(&self, bytes: usize) {
        self.written.fetch_add(bytes as u64, Ordering::Relaxed);
        self.last_write.store(self.now(), Ordering::Relaxed);
    }

    /// Starts a new exchange: forgets the previous first read, returns the byte counts.
    pub(crate) fn mark(&self) -> MeterReading {
        self.first_read.store(0, Ordering::Relaxed);
        self.reading()
    }

    pub(crate) fn reading(&self) -> MeterReading {
        MeterReading {
            written: self.written.load(Ordering::Relaxed),
            read: self.read.load(Ordering::Relaxed),
        }
    }

    /// When the request was last written to, if ever.
    pub(crate) fn last_write(&self) -> Option<Instant> {
        self.instant(self.last_write.load(Ordering::Relaxed))
    }

    /// When the first byte since the last `mark` arrived, if any did.
    pub(crate) fn first_read(&self) -> Option<Instant> {
        self.instant(self.first_read.load(Ordering::Relaxed))
    }
}

/// A TCP stream that counts its bytes and notes when it wrote and first read.
pub(crate) struct MeteredIo {
    inner: TcpStream,
    meter: Arc<Meter>,
}

impl MeteredIo {
    pub(crate) fn new(inner: TcpStream) -> (Self, Arc<Meter>) {
        let meter = Arc::new(Meter::new());
        (
            Self {
                inner,
                meter: meter.clone(),
            },
            meter,
        )
    }
}

impl AsyncRead for MeteredIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            let meter = &self.meter;
            meter.read.fetch_add(n as u64, Ordering::Relaxed);
            if meter.first_read.load(Ordering::Relaxed) == 0 {
                meter.first_read.store(meter.now(), Ordering::Relaxed);
            }
        }
        poll
    }
}

impl AsyncWrite for MeteredIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.meter.wrote(n);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = poll {
            self.meter.wrote(n);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Where a connection goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

/// One open HTTP/1.1 connection with its meter. hyper's connection task does the socket
/// I/O; it notices a close by the server while the connection is idle, so a closed
/// connection is never handed out again.
pub(crate) struct Conn {
    pub sender: SendRequest<Full<Bytes>>,
    pub meter: Arc<Meter>,
}

impl Conn {
    /// Whether the connection can no longer carry requests.
    pub(crate) fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// Kept-alive connections, by origin.
#[derive(Default)]
pub(crate) struct Connections {
    idle: HashMap<Origin, Vec<Conn>>,
}

impl Connections {
    /// Takes an idle connection to `origin` that is still open, if any.
    pub(crate) fn checkout(&mut self, origin: &Origin) -> Option<Conn> {
        let idle = self.idle.get_mut(origin)?;
        while let Some(conn) = idle.pop() {
            if !conn.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    /// Returns a connection for reuse; closed ones and extras are dropped.
    pub(crate) fn checkin(&mut self, origin: Origin, conn: Conn) {
        if conn.is_closed() {
            return;
        }
        let idle = self.idle.entry(origin).or_default();
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
