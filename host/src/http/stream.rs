//! The byte stream under a connection: TCP, metered (bytes on the wire and the instant of the
//! last write), with TLS over it for `https`.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Byte counts and the instant of the last write on one connection, shared between who does
/// the I/O (the VU for HTTP/1.1, hyper's connection task for HTTP/2) and the VU, which takes
/// the counts after each exchange.
#[derive(Debug)]
pub(crate) struct Meter {
    base: Instant,
    written: AtomicU64,
    read: AtomicU64,
    /// Nanoseconds after `base` of the last write, 0 if none.
    last_write: AtomicU64,
    /// Whether writes are timed: only HTTP/2 needs it, as hyper writes in its own task. An
    /// HTTP/1.1 exchange times its own write, and a clock read per write cost more than the
    /// rest of the meter.
    timed: AtomicBool,
}

/// Bytes moved on a connection.
#[derive(Debug, Clone, Copy, Default)]
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
            timed: AtomicBool::new(false),
        }
    }

    fn wrote(&self, bytes: usize) {
        self.written.fetch_add(bytes as u64, Ordering::Relaxed);
        if !self.timed.load(Ordering::Relaxed) {
            return;
        }
        // Never 0, so 0 can mean "not yet".
        let now = (self.base.elapsed().as_nanos() as u64).max(1);
        self.last_write.store(now, Ordering::Relaxed);
    }

    /// The bytes moved since the last take (since the connection opened, for the first):
    /// each byte is counted by exactly one exchange, also when several share a connection.
    pub(crate) fn take(&self) -> MeterReading {
        MeterReading {
            written: self.written.swap(0, Ordering::Relaxed),
            read: self.read.swap(0, Ordering::Relaxed),
        }
    }

    /// Times the writes from now on, for [`Self::last_write`].
    pub(crate) fn time_writes(&self) {
        self.timed.store(true, Ordering::Relaxed);
    }

    /// When the connection last wrote, if ever (and if its writes are timed).
    pub(crate) fn last_write(&self) -> Option<Instant> {
        let nanos = self.last_write.load(Ordering::Relaxed);
        (nanos != 0).then(|| self.base + Duration::from_nanos(nanos))
    }
}

/// A TCP stream that counts its bytes and notes when it last wrote.
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
            self.meter.read.fetch_add(n as u64, Ordering::Relaxed);
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

/// A connection's stream: plain TCP, or TLS over it. Both count wire bytes (TLS records
/// included) through the TCP stream's meter.
pub(crate) enum Stream {
    /// `http`.
    Plain(MeteredIo),
    /// `https`; boxed, as the TLS state is ten times the size of the plain stream.
    Tls(Box<TlsStream<MeteredIo>>),
}

impl Stream {
    /// Appends what the stream has ready to `buf`; `Ok(0)` at its end. Over TLS this takes
    /// one record's plaintext, reading the socket only when none is decrypted yet:
    /// tokio-rustls's `poll_read` goes back to the socket after every record it copies, to
    /// find it empty once a response is in (two such attempts per response, each polling the
    /// socket's readiness and registering a waker for nothing).
    pub(crate) async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Self::Plain(io) => io.read_buf(buf).await,
            Self::Tls(io) => {
                poll_fn(|cx| {
                    let mut io = Pin::new(io.as_mut());
                    let record = ready!(io.as_mut().poll_fill_buf(cx))?;
                    let read = record.len();
                    buf.extend_from_slice(record);
                    io.consume(read);
                    Poll::Ready(Ok(read))
                })
                .await
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(io) => io.is_write_vectored(),
            Self::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_flush(cx),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}
