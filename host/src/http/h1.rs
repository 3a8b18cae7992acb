//! HTTP/1.1 on a connection the VU owns: the request head written from a reused buffer, the
//! response head parsed by httparse, the body read by its framing, all in the VU's own
//! future. No connection task and no channel stand between the VU and its socket, so the
//! phases are what they say: `sending` is the time to write the request to the socket,
//! `waiting` the time from then to the first byte of the response.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use super::body::{Answer, BodyPolicy, Sink};
use super::error::{ErrorKind, HttpError};
use super::headers::HeaderBlock;
use super::request::Protocol;
use super::stream::Stream;
use super::tls;

/// Header fields parsed on the stack; a response with more is parsed again on the heap.
const STACK_HEADERS: usize = 48;
/// Most header fields a response may have.
const MAX_HEADERS: usize = 512;
/// Largest response head (status line and header fields).
const MAX_HEAD_BYTES: usize = 256 << 10;
/// What one read asks the socket for, at least.
const READ_CHUNK: usize = 8 << 10;
/// Bodies up to this size are written in the head's buffer: one write, one TLS record.
const INLINE_BODY: usize = 16 << 10;
/// Longest chunk-size line (with extensions) or trailer line of a chunked body.
const MAX_CHUNK_LINE: usize = 4 << 10;

/// One HTTP/1.1 connection: its stream and buffers.
pub(crate) struct H1 {
    stream: Stream,
    /// Bytes read and not yet consumed.
    input: BytesMut,
    /// The request head being written (kept for its capacity).
    output: Vec<u8>,
    /// Whether another request may follow on this connection.
    reusable: bool,
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// The request head's parts the client decides.
pub(crate) struct Head<'a> {
    pub method: &'a str,
    /// Path and query.
    pub target: &'a str,
    /// `Host` unless the request has its own.
    pub host: &'a str,
    /// The request's own header fields.
    pub headers: &'a [(String, String)],
    /// `User-Agent` unless the request has its own.
    pub user_agent: &'a [u8],
    pub cookie: Option<&'a str>,
    /// Ask for a compressed response unless the request says what it accepts.
    pub accept_encoding: bool,
    /// Ask the server to close the connection after answering.
    pub close: bool,
    pub body_len: usize,
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The `accept-encoding` a decompressing request sends.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate, br";

impl Head<'_> {
    /// Writes the head into `out`; a header field that would break the message (a bad name,
    /// a line break in a value, a `content-length` that is not the body's) is refused.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), HttpError> {
        let invalid = |message: String| HttpError::new(ErrorKind::InvalidRequest, message);
        out.clear();
        for part in [self.method, " ", self.target, " HTTP/1.1\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
        let (mut host, mut agent, mut accept, mut connection) = (false, false, false, false);
        for (name, value) in self.headers {
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(invalid(format!("bad header name {name:?}")));
            }
            if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return Err(invalid(format!(
                    "header {name}: a value may not hold line breaks or control characters"
                )));
            }
            if name.eq_ignore_ascii_case("content-length") {
                if value.trim().parse::<usize>().ok() != Some(self.body_len) {
                    return Err(invalid(format!(
                        "content-length {value:?} is not the body's length ({}); leave it out, \
                         the host sets it",
                        self.body_len
                    )));
                }
                continue;
            }
            if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid(
                    "transfer-encoding is the host's to choose; leave it out".to_owned(),
                ));
            }
            host |= name.eq_ignore_ascii_case("host");
            agent |= name.eq_ignore_ascii_case("user-agent");
            accept |= name.eq_ignore_ascii_case("accept-encoding");
            connection |= name.eq_ignore_ascii_case("connection");
            field(out, name.as_bytes(), value.as_bytes());
        }
        if !host {
            field(out, b"host", self.host.as_bytes());
        }
        if !agent {
            field(out, b"user-agent", self.user_agent);
        }
        if let Some(cookie) = self.cookie {
            field(out, b"cookie", cookie.as_bytes());
        }
        if self.accept_encoding && !accept {
            field(out, b"accept-encoding", ACCEPT_ENCODING.as_bytes());
        }
        if self.close && !connection {
            field(out, b"connection", b"close");
        }
        let needs_length = self.body_len > 0 || matches!(self.method, "POST" | "PUT" | "PATCH");
        if needs_length {
            field(out, b"content-length", decimal(self.body_len).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// `n` in decimal, without allocating.
fn decimal(n: usize) -> Digits {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Digits { buf, at }
}

struct Digits {
    buf: [u8; 20],
    at: usize,
}

impl Digits {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.at..]
    }
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Classifies an I/O error of an exchange.
fn io_error(err: &io::Error, doing: &str) -> HttpError {
    if let Some(tls) = tls::rustls_error(err) {
        return tls::classify(tls);
    }
    let kind = match err.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => ErrorKind::Reset,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    };
    HttpError::new(kind, format!("{doing}: {err}"))
}

fn protocol(message: impl Into<String>) -> HttpError {
    HttpError::new(ErrorKind::Protocol, message)
}

/// A response head, owned.
struct ResponseHead {
    status: u16,
    http10: bool,
    headers: HeaderBlock,
    framing: Framing,
    close: bool,
}

/// The header fields of a response parsed from `input`, as a block.
fn block_of(input: &[u8], fields: &[httparse::Header<'_>]) -> HeaderBlock {
    as_lines(input, fields).unwrap_or_else(|| {
        // Field lines are about as long as on the wire: the head's length is room for all of
        // them in one allocation.
        let mut block = HeaderBlock::with_capacity(input.len());
        for field in fields {
            block.push(field.name, field.value);
        }
        block
    })
}

/// The fields' lines copied whole, when they are already as a [`HeaderBlock`] keeps them
/// (one space after each colon, nothing after a value, valid UTF-8), as servers send them:
/// the block is one copy of the head instead of four appends per field.
fn as_lines(input: &[u8], fields: &[httparse::Header<'_>]) -> Option<HeaderBlock> {
    // Where a slice httparse returned starts in `input`.
    let offset = |part: &[u8]| (part.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    let start = offset(fields.first()?.name.as_bytes());
    let mut at = start;
    for field in fields {
        let value = at + field.name.len() + 2;
        let end = value + field.value.len();
        let canonical = offset(field.name.as_bytes()) == at
            && input.get(value - 2..value) == Some(b": ")
            && (field.value.is_empty() || offset(field.value) == value)
            && input.get(end..end + 2) == Some(b"\r\n");
        if !canonical {
            return None;
        }
        at = end + 2;
    }
    let lines = std::str::from_utf8(input.get(start..at)?).ok()?;
    let names = fields.iter().map(|field| {
        let name = offset(field.name.as_bytes()) - start;
        name..name + field.name.len()
    });
    Some(HeaderBlock::from_lines(lines, names))
}

/// Reads the framing and persistence of a response from its head, the start of `input`.
fn head_of(
    response: &httparse::Response<'_, '_>,
    input: &[u8],
    policy: &BodyPolicy,
) -> Result<ResponseHead, HttpError> {
    let status = response.code.unwrap_or(0);
    let http10 = response.version == Some(0);
    let headers = block_of(input, response.headers);
    let (mut length, mut chunked, mut encoded) = (None::<u64>, false, false);
    let (mut close, mut keep_alive) = (false, false);
    for header in response.headers.iter() {
        let is = |field: &str| header.name.eq_ignore_ascii_case(field);
        // Read as bytes: a value is text only for the guest, and `from_utf8_lossy` cost more
        // than the comparisons.
        let value = header.value;
        if is("content-length") {
            let parsed: u64 = std::str::from_utf8(value.trim_ascii())
                .ok()
                .and_then(|digits| digits.parse().ok())
                .ok_or_else(|| {
                    let value = String::from_utf8_lossy(value);
                    protocol(format!("bad content-length {value:?}"))
                })?;
            if length.is_some_and(|l| l != parsed) {
                return Err(protocol("two different content-length fields"));
            }
            length = Some(parsed);
        } else if is("transfer-encoding") {
            encoded = true;
            chunked = value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if is("connection") {
            for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let framing = if policy.head_request || matches!(status, 100..=199 | 204 | 304) {
        Framing::Empty
    } else if encoded {
        // A transfer-encoding wins over a content-length (RFC 9112 6.3).
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else {
        match length {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    };
    Ok(ResponseHead {
        status,
        http10,
        headers,
        framing,
        close: close || (http10 && !keep_alive) || framing == Framing::UntilClose,
    })
}

impl H1 {
    /// An HTTP/1.1 connection over `stream`.
    pub(crate) fn new(stream: Stream) -> Self {
        Self {
            stream,
            input: BytesMut::new(),
            output: Vec::new(),
            reusable: true,
        }
    }

    /// Whether another request may follow, as far as the last exchange tells.
    pub(crate) fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// Whether the connection can carry no more requests: an earlier response ended it, or
    /// the server closed it (or sent something unasked) while it was idle. Costs a look at
    /// the socket's readiness, and a non-blocking read only when something may have come.
    pub(crate) fn is_closed(&mut self) -> bool {
        if !self.reusable {
            return true;
        }
        if !self.stream.maybe_readable() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let closed = !matches!(
            Pin::new(&mut self.stream).poll_read(&mut cx, &mut buf),
            Poll::Pending
        );
        self.reusable = !closed;
        closed
    }

    /// Sends the request `head` with `body`, then reads the whole response.
    pub(crate) async fn exchange(
        &mut self,
        head: &Head<'_>,
        body: &Bytes,
        policy: BodyPolicy,
    ) -> Result<Answer, HttpError> {
        head.write(&mut self.output)?;
        // Whatever happens now, the connection is reusable only if the exchange completes.
        self.reusable = false;
        let started = Instant::now();
        self.write_request(body).await?;
        let written = Instant::now();
        let (response, first_byte) = self.read_head(&policy).await?;
        let mut sink = Sink::new(policy);
        match response.framing {
            Framing::Empty => {}
            Framing::Length(length) => self.read_length(length, &mut sink).await?,
            Framing::Chunked => self.read_chunked(&mut sink).await?,
            Framing::UntilClose => self.read_until_close(&mut sink).await?,
        }
        let done = Instant::now();
        // Bytes after the response were not asked for: the connection is not trusted again.
        self.reusable = !response.close && self.input.is_empty();
        let (body, body_size) = sink.finish();
        Ok(Answer {
            status: response.status,
            protocol: if response.http10 {
                Protocol::Http10
            } else {
                Protocol::Http11
            },
            headers: response.headers,
            body,
            body_size,
            sending: written - started,
            waiting: first_byte.saturating_duration_since(written),
            receiving: done.saturating_duration_since(first_byte),
        })
    }

    async fn write_request(&mut self, body: &Bytes) -> Result<(), HttpError> {
        let failed = |err: io::Error| io_error(&err, "writing the request");
        if body.len() <= INLINE_BODY {
            self.output.extend_from_slice(body);
            self.stream.write_all(&self.output).await.map_err(failed)?;
        } else {
            self.stream.write_all(&self.output).await.map_err(failed)?;
            self.stream.write_all(body).await.map_err(failed)?;
        }
        self.stream.flush().await.map_err(failed)
    }

    /// Reads more input; `Ok(0)` at the end of the stream.
    async fn fill(&mut self) -> Result<usize, HttpError> {
        self.input.reserve(READ_CHUNK);
        self.stream
            .read_into(&mut self.input)
            .await
            .map_err(|err| io_error(&err, "reading the response"))
    }

    /// Reads up to the end of the final response head (skipping interim 1xx responses);
    /// returns it and when its first byte arrived.
    async fn read_head(
        &mut self,
        policy: &BodyPolicy,
    ) -> Result<(ResponseHead, Instant), HttpError> {
        let mut first_byte = None;
        loop {
            if !self.input.is_empty() {
                if let Some((head, length)) = parse_head(&self.input, policy)? {
                    self.input.advance(length);
                    // 100 Continue, 103 Early Hints: the final response follows.
                    if (100..200).contains(&head.status) && head.status != 101 {
                        continue;
                    }
                    let at = first_byte.unwrap_or_else(Instant::now);
                    return Ok((head, at));
                }
                if self.input.len() > MAX_HEAD_BYTES {
                    return Err(protocol(format!(
                        "the response head is over {MAX_HEAD_BYTES} bytes"
                    )));
                }
            }
            let read = self.fill().await?;
            if read == 0 {
                return Err(if first_byte.is_none() {
                    HttpError::new(
                        ErrorKind::Reset,
                        "the server closed the connection without answering",
                    )
                } else {
                    protocol("the server closed the connection in the middle of the response head")
                });
            }
            first_byte.get_or_insert_with(Instant::now);
        }
    }

    async fn read_length(&mut self, length: u64, sink: &mut Sink) -> Result<(), HttpError> {
        let mut remaining = length;
        while remaining > 0 {
            if self.input.is_empty() && self.fill().await? == 0 {
                return Err(HttpError::new(
                    ErrorKind::Reset,
                    format!(
                        "the server closed the connection {} bytes into a {length}-byte body",
                        length - remaining
                    ),
                ));
            }
            let take = remaining.min(self.input.len() as u64) as usize;
            remaining -= take as u64;
            self.take(take, sink)?;
        }
        Ok(())
    }

    /// Moves `count` input bytes to `sink` (or drops them, counted, when it discards).
    fn take(&mut self, count: usize, sink: &mut Sink) -> Result<(), HttpError> {
        if sink.discards() {
            sink.count(count);
            self.input.advance(count);
            Ok(())
        } else {
            sink.push(self.input.split_to(count).freeze())
        }
    }

    async fn read_chunked(&mut self, sink: &mut Sink) -> Result<(), HttpError> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.input) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.input.advance(used);
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.need_line("chunk size").await?,
                    Err(_) => return Err(protocol("bad chunk size in a chunked body")),
                }
            };
            if size == 0 {
                return self.skip_trailers().await;
            }
            self.read_length(size, sink).await?;
            while self.input.len() < 2 {
                self.need_line("chunk end").await?;
            }
            if &self.input[..2] != b"\r\n" {
                return Err(protocol("a chunk of a chunked body does not end with CRLF"));
            }
            self.input.advance(2);
        }
    }

    /// Reads more for a line not complete yet.
    async fn need_line(&mut self, what: &str) -> Result<(), HttpError> {
        if self.input.len() > MAX_CHUNK_LINE {
            return Err(protocol(format!(
                "{what} line of a chunked body is too long"
            )));
        }
        if self.fill().await? == 0 {
            return Err(HttpError::new(
                ErrorKind::Reset,
                format!("the server closed the connection in a chunked body ({what})"),
            ));
        }
        Ok(())
    }

    async fn skip_trailers(&mut self) -> Result<(), HttpError> {
        loop {
            match self.input.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let empty = end == 0 || (end == 1 && self.input[0] == b'\r');
                    self.input.advance(end + 1);
                    if empty {
                        return Ok(());
                    }
                }
                None => self.need_line("trailer").await?,
            }
        }
    }

    async fn read_until_close(&mut self, sink: &mut Sink) -> Result<(), HttpError> {
        loop {
            let available = self.input.len();
            if available > 0 {
                self.take(available, sink)?;
            }
            if self.fill().await? == 0 {
                return Ok(());
            }
        }
    }
}

/// Parses a complete response head at the start of `input`: the head and its length, or
/// `None` when more input is needed.
fn parse_head(
    input: &[u8],
    policy: &BodyPolicy,
) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    // Left uninitialised: initialised, the array is 1.5 KiB written on the VU's stack
    // (cold with many VUs) at every response, for the few fields a response has.
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        input,
        &mut fields,
    );
    match parsed {
        Ok(httparse::Status::Complete(length)) => Ok(Some((
            head_of(&response, &input[..length], policy)?,
            length,
        ))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => parse_head_on_heap(input, policy),
        Err(err) => Err(protocol(format!("bad response head: {err}"))),
    }
}

/// [`parse_head`] for a response with more header fields than fit on the stack.
fn parse_head_on_heap(
    input: &[u8],
    policy: &BodyPolicy,
) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    let mut fields = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(input) {
        Ok(httparse::Status::Complete(length)) => Ok(Some((
            head_of(&response, &input[..length], policy)?,
            length,
        ))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(protocol(format!(
            "the response has more than {MAX_HEADERS} header fields"
        ))),
        Err(err) => Err(protocol(format!("bad response head: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(String, String)]) -> Result<String, String> {
        let head = Head {
            method: "POST",
            target: "/items?id=1",
            host: "example.com:8080",
            headers,
            user_agent: b"loadwright/test",
            cookie: Some("a=1"),
            accept_encoding: true,
            close: false,
            body_len: 3,
        };
        let mut out = Vec::new();
        head.write(&mut out).map_err(|err| err.to_string())?;
        Ok(String::from_utf8(out).expect("ASCII head"))
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_head_carries_the_requests_fields_and_the_hosts() {
        let text = head(&owned(&[
            ("X-Trace", "abc"),
            ("Accept-Encoding", "identity"),
        ]))
        .expect("head");
        assert_eq!(
            text,
            "POST /items?id=1 HTTP/1.1\r\nX-Trace: abc\r\nAccept-Encoding: identity\r\n\
             host: example.com:8080\r\nuser-agent: loadwright/test\r\ncookie: a=1\r\n\
             content-length: 3\r\n\r\n"
        );
    }

    #[test]
    fn fields_that_would_break_the_message_are_refused() {
        let injected = head(&owned(&[("X-A", "1\r\nX-Injected: yes")])).unwrap_err();
        assert!(injected.contains("line breaks"), "{injected}");
        assert!(head(&owned(&[("Bad Name", "1")])).is_err());
        assert!(head(&owned(&[("Transfer-Encoding", "chunked")])).is_err());
        let length = head(&owned(&[("Content-Length", "99")])).unwrap_err();
        assert!(length.contains("not the body's length"), "{length}");
        assert!(head(&owned(&[("Content-Length", "3")])).is_ok());
    }

    fn framing(text: &str, head_request: bool) -> (Framing, bool) {
        let policy = BodyPolicy {
            discard: false,
            limit: 1 << 20,
            head_request,
        };
        let (head, length) = parse_head(text.as_bytes(), &policy)
            .expect("parses")
            .expect("complete");
        assert_eq!(length, text.len());
        (head.framing, head.close)
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let ok = "HTTP/1.1 200 OK\r\n";
        assert_eq!(
            framing(&format!("{ok}Content-Length: 5\r\n\r\n"), false),
            (Framing::Length(5), false)
        );
        assert_eq!(
            framing(
                &format!("{ok}Transfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n"),
                false
            ),
            (Framing::Chunked, false)
        );
        assert_eq!(
            framing(&format!("{ok}\r\n"), false),
            (Framing::UntilClose, true)
        );
        assert_eq!(
            framing(&format!("{ok}Content-Length: 5\r\n\r\n"), true),
            (Framing::Empty, false)
        );
        assert_eq!(
            framing("HTTP/1.1 204 No Content\r\n\r\n", false),
            (Framing::Empty, false)
        );
        assert_eq!(
            framing("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false),
            (Framing::Length(1), true)
        );
        assert_eq!(
            framing(
                &format!("{ok}Content-Length: 1\r\nConnection: close\r\n\r\n"),
                false
            ),
            (Framing::Length(1), true)
        );
    }

    #[test]
    fn a_head_copied_whole_gives_the_block_built_field_by_field() {
        let heads: [&[u8]; 6] = [
            b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 6\r\nX-Empty: \r\n\r\n",
            b"HTTP/1.1 200 OK\r\nserver:nginx\r\nX-A: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nServer:   nginx  \r\nX-A: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-Odd: \xff\xfe\r\nSet-Cookie: a=1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-Empty:\r\nLocation: /x\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ];
        for head in heads {
            let mut fields = [httparse::EMPTY_HEADER; 8];
            let mut response = httparse::Response::new(&mut fields);
            assert!(response.parse(head).expect("parses").is_complete());
            let pushed: HeaderBlock = response
                .headers
                .iter()
                .map(|field| (field.name, field.value))
                .collect();
            let block = block_of(head, response.headers);
            assert_eq!(block, pushed, "{}", String::from_utf8_lossy(head));
        }
        let mut fields = [httparse::EMPTY_HEADER; 8];
        let mut response = httparse::Response::new(&mut fields);
        let canonical = heads[0];
        response.parse(canonical).expect("parses");
        assert!(
            as_lines(canonical, response.headers).is_some(),
            "copied whole"
        );
    }

    #[test]
    fn conflicting_lengths_and_huge_heads_are_protocol_errors() {
        let policy = BodyPolicy {
            discard: false,
            limit: 1,
            head_request: false,
        };
        let two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert!(parse_head(two.as_bytes(), &policy).is_err());
        let many: String = (0..600).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        let err = parse_head(text.as_bytes(), &policy).err().expect("refused");
        assert!(err.message.contains("more than 512"), "{err}");
        let some: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = format!("HTTP/1.1 200 OK\r\n{some}\r\n");
        let parsed = parse_head(text.as_bytes(), &policy).expect("parses");
        assert_eq!(parsed.map(|(h, _)| h.headers.len()), Some(100));
    }
}
