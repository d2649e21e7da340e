//! The connection guard between the socket and hyper. Every request head is read and checked
//! here first, so that what hyper would refuse with a bare reply (an empty body, no request id)
//! is answered by the app as a problem instead, and slow clients are cut with a `408` problem.
//!
//! - [`Guarded`] wraps the socket. It parses each request head itself (`httparse`, the parser
//!   hyper uses, plus the `http` crate's checks hyper applies after it) and refuses a head that
//!   is not valid HTTP/1.1, over its limits ([`MAX_TARGET_BYTES`]; 1000 header fields or a
//!   272 KiB head, far above the app's own header limits, which the middleware answers where
//!   the request is seen whole), with a signed or conflicting `Content-Length`, or with a
//!   `Transfer-Encoding` other than `chunked` — or that does not arrive within
//!   [`Limits::header_timeout`]. A refused head never reaches hyper: in its place hyper reads a
//!   fixed, valid request that carries `Connection: close`, and the service recognises it (by
//!   its position on the connection, so no client can forge it) and attaches the [`Refusal`];
//!   the request-context middleware then answers it like any other error, with the request id,
//!   `nosniff` and a problem body. Valid heads and bodies pass unchanged; the guard follows each
//!   body's framing (length or chunked) to know where the next head starts.
//! - [`MinRateBody`] wraps each request body: a body whose client sends less than
//!   [`Limits::body_min_rate`] bytes/s on average, or nothing for [`Limits::body_stall`], ends in
//!   an error, and the [`SlowBody`] flag tells the middleware to answer `408` (and close) whatever
//!   the handler made of the truncated body.
//! - Closing after a refusal or with request bytes unread, the guard shuts its side down and
//!   reads what the client still sends for a moment (bounded) before dropping the socket, so
//!   that a client still sending reads the answer instead of a reset.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::error::problem_response;

/// Longest accepted request target (path and query), in bytes.
pub const MAX_TARGET_BYTES: usize = 16 * 1024;
/// The app's own limit on the total size of the request headers (name + value + 4 per
/// field), checked in the stack (`middleware`), where the request is seen whole.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The app's own limit on the number of request header fields (checked likewise).
pub const MAX_HEADER_COUNT: usize = 100;
/// The guard's generous limits, far above the app's: header fields, and the bytes a whole
/// head may take.
const HEAD_FIELDS: usize = 1000;
const HEAD_CAP: usize = MAX_TARGET_BYTES + 256 * 1024;
/// Up to this size a partial head is parsed on every arrival, so that bytes that are not HTTP
/// are refused at once; beyond, only once its blank line has arrived.
const EARLY_PARSE_BYTES: usize = 1024;
/// The chunk extensions hyper accepts in one body.
const CHUNK_EXTENSIONS_BYTES: usize = 16 * 1024;
/// After the server closes, how long and how much it still reads from the client.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 * 1024 * 1024;
/// What hyper reads in place of a refused head.
const STAND_IN: &[u8] = b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";

/// Time limits of a connection (settings; see `Config`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request head must arrive whole within this time of its first byte (of the
    /// connection's opening, for its first request).
    pub header_timeout: Duration,
    /// A keep-alive connection with no new request for this long is closed.
    pub idle_timeout: Duration,
    /// Smallest average rate of a request body, in bytes per second.
    pub body_min_rate: u64,
    /// Longest time a request body may send nothing (and the grace before the rate counts).
    pub body_stall: Duration,
}

/// The defaults of the settings (`HEADER_TIMEOUT_SECS`, `IDLE_TIMEOUT_SECS`,
/// `BODY_MIN_BYTES_PER_SEC`, `BODY_STALL_SECS`).
pub const DEFAULT_LIMITS: Limits = Limits {
    header_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
    body_min_rate: 1024,
    body_stall: Duration::from_secs(10),
};

impl Default for Limits {
    fn default() -> Self {
        DEFAULT_LIMITS
    }
}

/// Why a request was refused before it reached the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not a valid HTTP/1.1 request; the sentence says what is wrong.
    Malformed(&'static str),
    /// 414: the request target is longer than [`MAX_TARGET_BYTES`].
    TargetTooLong,
    /// 431: far more header fields or bytes than the app accepts.
    HeadersTooLarge,
    /// 408: the head did not arrive within the header timeout.
    HeadTimeout,
    /// 408: the body came slower than the minimum rate.
    BodyTooSlow,
}

impl Refusal {
    /// The problem response (with `Connection: close`); the middleware adds id and `nosniff`.
    pub fn response(self) -> Response {
        let (status, code, title, detail, suggestion) = match self {
            Refusal::Malformed(detail) => (
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "Malformed request",
                detail.to_owned(),
                "Send a well-formed HTTP/1.1 request (RFC 9112).".to_owned(),
            ),
            Refusal::TargetTooLong => (
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                "Request target too long",
                format!("The request target exceeds {MAX_TARGET_BYTES} bytes."),
                "Shorten the path and query string.".to_owned(),
            ),
            Refusal::HeadersTooLarge => return headers_too_large(),
            Refusal::HeadTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
                "The request headers did not arrive in time.".to_owned(),
                "Send the whole request head at once, then retry on a new connection.".to_owned(),
            ),
            Refusal::BodyTooSlow => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
                "The request body arrived slower than the server's minimum rate.".to_owned(),
                "Retry when the connection is faster, or send a smaller body.".to_owned(),
            ),
        };
        let mut res = problem_response(status, code, title, detail, suggestion);
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        res
    }
}

/// The `431 headers_too_large` problem (with `Connection: close`).
pub fn headers_too_large() -> Response {
    let mut res = problem_response(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
        "Request headers too large",
        format!(
            "The request headers exceed {MAX_HEADER_BYTES} bytes or {MAX_HEADER_COUNT} fields."
        ),
        "Send fewer or shorter headers.".into(),
    );
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Set on a request body's extensions; true once the body was cut for being too slow.
#[derive(Clone, Debug, Default)]
pub struct SlowBody(Arc<AtomicBool>);

impl SlowBody {
    /// Whether the body was cut.
    pub fn cut(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What the guard of a connection tells its service.
#[derive(Debug, Default)]
pub struct Connection {
    /// Requests the service has seen on this connection.
    seen: AtomicU64,
    /// The position of the stand-in request and why its head was refused.
    refusal: OnceLock<(u64, Refusal)>,
}

impl Connection {
    /// Called by the service once per request, in order: the refusal if this request is the
    /// stand-in for a refused head.
    pub fn next_request(&self) -> Option<Refusal> {
        let n = self.seen.fetch_add(1, Ordering::AcqRel);
        self.refusal
            .get()
            .filter(|(at, _)| *at == n)
            .map(|(_, why)| *why)
    }
}

/// How the body after a head is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
}

/// Checks a complete or partial head: `Ok(None)` means more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Framing)>, Refusal> {
    // Uninitialised: a thousand empty fields would be 32 KB written on every parse.
    let mut fields = [const { std::mem::MaybeUninit::uninit() }; HEAD_FIELDS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(parse_error(e)),
    };
    let target = req.path.unwrap_or_default();
    if target.len() > MAX_TARGET_BYTES {
        return Err(Refusal::TargetTooLong);
    }
    if len > HEAD_CAP {
        return Err(Refusal::HeadersTooLarge);
    }
    // What hyper checks after httparse, with the same functions.
    Method::from_bytes(req.method.unwrap_or_default().as_bytes())
        .map_err(|_| Refusal::Malformed("The request method is not a valid token."))?;
    Uri::try_from(target.as_bytes()).map_err(|_| {
        Refusal::Malformed(
            "The request target is not a valid URI (bytes outside ASCII must be percent-encoded).",
        )
    })?;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for h in req.headers.iter() {
        HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| Refusal::Malformed("A header name is not a valid token."))?;
        if h.name.eq_ignore_ascii_case("content-length") {
            // Digits only, as hyper reads it: a list (`5, 5`) would reach hyper's bare 400.
            let n = digits(h.value.trim_ascii()).ok_or(Refusal::Malformed(
                "Content-Length must be one non-negative decimal number.",
            ))?;
            if length.is_some_and(|l| l != n) {
                return Err(Refusal::Malformed(
                    "Content-Length is given twice with different values.",
                ));
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if chunked || !h.value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err(Refusal::Malformed(
                    "The only Transfer-Encoding accepted is a single `chunked`.",
                ));
            }
            chunked = true;
        }
    }
    if chunked && req.version == Some(0) {
        return Err(Refusal::Malformed(
            "HTTP/1.0 requests cannot use Transfer-Encoding.",
        ));
    }
    let framing = match (chunked, length) {
        (true, Some(_)) => {
            return Err(Refusal::Malformed(
                "A request cannot have both Content-Length and Transfer-Encoding.",
            ))
        }
        (true, None) => Framing::Chunked,
        (false, Some(n)) if n > 0 => Framing::Length(n),
        (false, _) => Framing::Empty,
    };
    Ok(Some((len, framing)))
}

/// ASCII digits as a number that fits a u64 (no sign, no spaces inside; leading zeros allowed,
/// as hyper reads them).
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

fn parse_error(e: httparse::Error) -> Refusal {
    match e {
        httparse::Error::TooManyHeaders => Refusal::HeadersTooLarge,
        httparse::Error::HeaderName => Refusal::Malformed(
            "A header line is malformed: an invalid name, or a line folded onto the previous one.",
        ),
        httparse::Error::HeaderValue => {
            Refusal::Malformed("A header value holds a control character.")
        }
        httparse::Error::Version => {
            Refusal::Malformed("The request line does not end in HTTP/1.0 or HTTP/1.1.")
        }
        _ => Refusal::Malformed("The request line or a line ending is malformed."),
    }
}

/// Where a chunked body is; just enough of RFC 9112 §7.1 to find its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Size { digits: u8 },
    Extension { len: usize },
    SizeLf,
    Data(u64),
    DataCr,
    DataLf,
    LineStart,
    Trailer { len: usize },
    TrailerLf,
    EndLf,
}

/// Where the guard is in the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Head,
    Length(u64),
    Chunked(Chunk, u64),
    /// The chunked framing was not understood: hyper sees everything and ends the connection.
    Passthrough,
}

/// A socket whose request heads are checked before hyper reads them (see the module docs).
pub struct Guarded<S> {
    inner: S,
    limits: Limits,
    conn: Arc<Connection>,
    phase: Phase,
    /// Received, not yet classified (the head being gathered, or what follows a body).
    pending: Vec<u8>,
    /// How much of `pending` was looked at, and the line ends seen in it.
    scanned: usize,
    lines: usize,
    /// Classified bytes waiting for hyper.
    out: Vec<u8>,
    out_pos: usize,
    heads: u64,
    head_deadline: Option<Pin<Box<Sleep>>>,
    refused: bool,
    linger: Option<(Pin<Box<Sleep>>, usize)>,
    /// Where socket reads land before they are classified (one per connection).
    scratch: Box<[u8]>,
}

impl<S> Guarded<S> {
    /// Guards `inner`; the service of the connection gets `conn` to learn of refusals.
    pub fn new(inner: S, limits: Limits, conn: Arc<Connection>) -> Self {
        Guarded {
            inner,
            limits,
            conn,
            phase: Phase::Head,
            pending: Vec::new(),
            scanned: 0,
            lines: 0,
            out: Vec::new(),
            out_pos: 0,
            heads: 0,
            // The first head's clock runs from the connection's opening.
            head_deadline: Some(Box::pin(tokio::time::sleep(limits.header_timeout))),
            refused: false,
            linger: None,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }

    fn refuse(&mut self, why: Refusal) {
        tracing::debug!(?why, "request head refused");
        let _ = self.conn.refusal.set((self.heads, why));
        self.out.extend_from_slice(STAND_IN);
        self.pending = Vec::new();
        self.head_deadline = None;
        self.refused = true;
    }

    /// Moves the first `n` bytes of `pending` to `out` (one copy; all of it without one).
    fn pass_on(&mut self, n: usize) {
        if n == self.pending.len() && self.out.is_empty() {
            std::mem::swap(&mut self.out, &mut self.pending);
        } else {
            self.out.extend_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
        }
    }

    /// Moves what `pending` holds through the phases into `out`.
    fn classify(&mut self) {
        while !self.refused && !self.pending.is_empty() {
            match self.phase {
                Phase::Head => {
                    if !self.classify_head() {
                        return;
                    }
                }
                Phase::Length(n) => {
                    let take = (n as usize).min(self.pending.len());
                    self.pass_on(take);
                    self.phase = match n - take as u64 {
                        0 => Phase::Head,
                        rest => Phase::Length(rest),
                    };
                }
                Phase::Chunked(state, size) => {
                    let (used, next) = advance_chunked(state, size, &self.pending);
                    self.pass_on(used);
                    self.phase = next;
                }
                Phase::Passthrough => self.out.append(&mut self.pending),
            }
        }
    }

    /// Classifies a head if `pending` holds a whole one; false when more bytes are needed.
    fn classify_head(&mut self) -> bool {
        // Empty lines before a head are ignored (RFC 9112 §2.2), as hyper does: they start no
        // head and no clock, so a stray CRLF after a request never earns an unasked-for 408.
        if self.scanned == 0 {
            let blank = self
                .pending
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            self.pending.drain(..blank);
            if self.pending.is_empty() {
                return false;
            }
        }
        if self.head_deadline.is_none() {
            self.head_deadline = Some(Box::pin(tokio::time::sleep(self.limits.header_timeout)));
        }
        // Parse once the blank line that ends a head has arrived (or while the head was short
        // before this arrival), so that a head sent a line or a byte at a time costs one full
        // parse, not one per line, and a long first arrival (a TLS hello) is judged at once.
        let before = self.scanned;
        let from = self.scanned.saturating_sub(2);
        self.lines += self.pending[self.scanned..]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        let ended = self.pending[from..]
            .windows(2)
            .any(|w| w == b"\n\n" || w == b"\n\r");
        self.scanned = self.pending.len();
        let verdict = if ended || before <= EARLY_PARSE_BYTES {
            parse_head(&self.pending)
        } else {
            Ok(None)
        };
        match verdict {
            Ok(Some((len, framing))) => {
                self.pass_on(len);
                self.scanned = 0;
                self.lines = 0;
                self.heads += 1;
                self.head_deadline = None;
                self.phase = match framing {
                    Framing::Empty => Phase::Head,
                    Framing::Length(n) => Phase::Length(n),
                    Framing::Chunked => Phase::Chunked(Chunk::Size { digits: 0 }, 0),
                };
                true
            }
            Ok(None) => {
                if self.lines == 0 && self.pending.len() > MAX_TARGET_BYTES + 64 {
                    self.refuse(Refusal::TargetTooLong);
                } else if self.lines > HEAD_FIELDS + 1 || self.pending.len() > HEAD_CAP {
                    self.refuse(Refusal::HeadersTooLarge);
                }
                false
            }
            Err(why) => {
                self.refuse(why);
                false
            }
        }
    }
}

/// Advances a chunked body over `data` from `state` (`size`: the chunk size being read): bytes
/// used and the next phase.
fn advance_chunked(mut state: Chunk, mut size: u64, data: &[u8]) -> (usize, Phase) {
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        i += 1;
        state = match state {
            Chunk::Data(n) => {
                i -= 1;
                let take = usize::try_from(n).unwrap_or(usize::MAX).min(data.len() - i);
                i += take;
                match n - take as u64 {
                    0 => Chunk::DataCr,
                    rest => Chunk::Data(rest),
                }
            }
            // Any number of leading zeros, as hyper reads them; a size must fit a u64.
            Chunk::Size { digits } => match (b as char).to_digit(16) {
                Some(v) if size >> 60 == 0 => {
                    size = size * 16 + u64::from(v);
                    Chunk::Size {
                        digits: digits.saturating_add(1),
                    }
                }
                None if digits > 0 && matches!(b, b';' | b' ' | b'\t') => {
                    Chunk::Extension { len: 0 }
                }
                None if digits > 0 && b == b'\r' => Chunk::SizeLf,
                _ => return (data.len(), Phase::Passthrough),
            },
            Chunk::Extension { len } => match b {
                b'\r' => Chunk::SizeLf,
                b'\n' => return (data.len(), Phase::Passthrough),
                // hyper takes up to 16 KiB of extensions in a body: so does the guard, in one
                // line (beyond, hyper refuses the body and closes the connection itself).
                _ if len < CHUNK_EXTENSIONS_BYTES => Chunk::Extension { len: len + 1 },
                _ => return (data.len(), Phase::Passthrough),
            },
            Chunk::SizeLf if b == b'\n' => match std::mem::take(&mut size) {
                0 => Chunk::LineStart,
                n => Chunk::Data(n),
            },
            Chunk::DataCr if b == b'\r' => Chunk::DataLf,
            Chunk::DataLf if b == b'\n' => Chunk::Size { digits: 0 },
            Chunk::LineStart if b == b'\r' => Chunk::EndLf,
            Chunk::Trailer { .. } if b == b'\r' => Chunk::TrailerLf,
            Chunk::LineStart => Chunk::Trailer { len: 1 },
            Chunk::Trailer { len } if len < MAX_HEADER_BYTES => Chunk::Trailer { len: len + 1 },
            Chunk::TrailerLf if b == b'\n' => Chunk::LineStart,
            Chunk::EndLf if b == b'\n' => return (i, Phase::Head),
            _ => return (data.len(), Phase::Passthrough),
        };
    }
    (i, Phase::Chunked(state, size))
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_pos < this.out.len() {
                let n = (this.out.len() - this.out_pos).min(buf.remaining());
                buf.put_slice(&this.out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.refused {
                // hyper answers the stand-in and closes; what the client still sends is read and
                // dropped meanwhile. The end of the stream is not passed on: hyper would take
                // it as a broken request and drop the answer.
                let mut rb = ReadBuf::new(&mut this.scratch);
                return match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) if !rb.filled().is_empty() => continue,
                    _ => Poll::Pending,
                };
            }
            if let (Phase::Length(n), true) = (this.phase, this.pending.is_empty()) {
                // Body bytes of a known length go straight into hyper's buffer.
                let room = buf
                    .remaining()
                    .min(usize::try_from(n).unwrap_or(usize::MAX));
                let mut limited = ReadBuf::new(buf.initialize_unfilled_to(room));
                std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
                let got = limited.filled().len();
                buf.advance(got);
                if got > 0 {
                    this.phase = match n - got as u64 {
                        0 => Phase::Head,
                        rest => Phase::Length(rest),
                    };
                }
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    let got = rb.filled().len();
                    this.pending.extend_from_slice(&this.scratch[..got]);
                    this.classify();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    let waiting_for_head =
                        this.phase == Phase::Head && (this.heads == 0 || !this.pending.is_empty());
                    let late = waiting_for_head
                        && this
                            .head_deadline
                            .as_mut()
                            .is_some_and(|d| d.as_mut().poll(cx).is_ready());
                    if !late {
                        return Poll::Pending;
                    }
                    this.refuse(Refusal::HeadTimeout);
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            // Only a refusal, or a request whose bytes were not all read, can leave the
            // client sending; an idle connection closes at once.
            let unread = this.refused || this.phase != Phase::Head || !this.pending.is_empty();
            if !unread {
                return Poll::Ready(Ok(()));
            }
            this.linger = Some((Box::pin(tokio::time::sleep(LINGER)), 0));
        }
        let Some((deadline, drained)) = this.linger.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        // Read until the client closes too (or for a bounded while): closing with unread bytes
        // would reset the connection and could destroy the answer before the client reads it.
        while *drained < LINGER_BYTES {
            let mut rb = ReadBuf::new(&mut this.scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if !rb.filled().is_empty() => *drained += rb.filled().len(),
                Poll::Ready(_) => break,
                Poll::Pending if deadline.as_mut().poll(cx).is_ready() => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// A request body that must keep coming (see the module docs).
pub struct MinRateBody {
    inner: Incoming,
    min_rate: u64,
    stall: Duration,
    started: Instant,
    received: u64,
    deadline: Option<Pin<Box<Sleep>>>,
    slow: SlowBody,
}

/// The error a too-slow body ends in (the handler's answer to it is replaced by a 408).
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived too slowly")]
pub struct BodyTooSlow;

impl MinRateBody {
    /// Wraps `inner`; `slow` is set when the body is cut.
    pub fn new(inner: Incoming, limits: Limits, slow: SlowBody) -> Self {
        MinRateBody {
            inner,
            min_rate: limits.body_min_rate.max(1),
            stall: limits.body_stall,
            started: Instant::now(),
            received: 0,
            deadline: None,
            slow,
        }
    }

    /// When the body is cut unless more arrives: `stall` from now, or earlier once the bytes
    /// received so far fall behind the minimum average rate (counted after `stall`).
    fn deadline(&self) -> Instant {
        let by_rate = self.started
            + self.stall
            + Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        by_rate.min(Instant::now() + self.stall)
    }
}

impl Body for MinRateBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let next = this.deadline();
                    if let Some(d) = this.deadline.as_mut() {
                        d.as_mut().reset(next);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                let next = this.deadline();
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(next)));
                if deadline.as_mut().poll(cx).is_ready() {
                    this.slow.0.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(BodyTooSlow.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<Option<(usize, Framing)>, Refusal> {
        parse_head(raw)
    }

    #[test]
    fn valid_heads_pass_with_their_framing() {
        let get = b"GET /health HTTP/1.1\r\nhost: a\r\n\r\n";
        assert_eq!(head(get), Ok(Some((get.len(), Framing::Empty))));
        let post = b"POST /x HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(head(post), Ok(Some((post.len() - 5, Framing::Length(5)))));
        let same_twice = b"POST /x HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\n";
        assert!(matches!(
            head(same_twice),
            Ok(Some((_, Framing::Length(5))))
        ));
        let zeros = b"POST /x HTTP/1.1\r\ncontent-length: 0000000000000000000005\r\n\r\n";
        assert!(matches!(head(zeros), Ok(Some((_, Framing::Length(5))))));
        let chunked = b"POST /x HTTP/1.1\r\ntransfer-encoding: Chunked\r\n\r\n";
        assert!(matches!(head(chunked), Ok(Some((_, Framing::Chunked)))));
        assert_eq!(head(b"GET / HTTP/1.1\r\nhost: a\r\n"), Ok(None));
    }

    #[test]
    fn what_hyper_would_refuse_bare_is_refused_here() {
        let malformed: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nx: a\0b\r\n\r\n",
            b"GET / HTTP/1.1\r\nbad name: v\r\n\r\n",
            b"GET / HTTP/1.1\r\nx: a\r\n  folded\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\ncontent-length: +5\r\n\r\n",
            b"POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
            // hyper reads one number per line: a list would be its bare 400.
            b"POST / HTTP/1.1\r\ncontent-length: 5, 5\r\n\r\n",
            b"POST / HTTP/1.1\r\ncontent-length: 99999999999999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
            b"POST / HTTP/1.1\r\ntransfer-encoding: xchunked\r\n\r\n",
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n",
            b"POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
        ];
        for raw in malformed {
            assert!(
                matches!(head(raw), Err(Refusal::Malformed(_))),
                "{:?}: {:?}",
                String::from_utf8_lossy(raw),
                head(raw)
            );
        }
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_TARGET_BYTES));
        assert_eq!(head(long_target.as_bytes()), Err(Refusal::TargetTooLong));
        let many: String = (0..=HEAD_FIELDS).map(|i| format!("x{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(head(many.as_bytes()), Err(Refusal::HeadersTooLarge));
    }

    #[test]
    fn a_chunked_body_is_followed_to_its_end() {
        let body = b"5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\ntrailer: x\r\n\r\nGET";
        let end = body.len() - 3;
        // Whole, then a byte at a time: the same end.
        assert_eq!(
            advance_chunked(Chunk::Size { digits: 0 }, 0, body),
            (end, Phase::Head)
        );
        let mut phase = Phase::Chunked(Chunk::Size { digits: 0 }, 0);
        let mut used = 0;
        while let Phase::Chunked(state, size) = phase {
            let (n, next) = advance_chunked(state, size, &body[used..used + 1]);
            used += n;
            phase = next;
        }
        assert_eq!((used, phase), (end, Phase::Head));
        assert_eq!(
            advance_chunked(Chunk::Size { digits: 0 }, 0, b"zz\r\n").1,
            Phase::Passthrough
        );
    }

    #[test]
    fn what_hyper_takes_in_a_chunked_body_keeps_the_guard_on() {
        // Leading zeros and a 10 KiB extension: hyper reads both, so the guard follows them.
        let ext = "e".repeat(10 * 1024);
        let body = format!("00000000000000000005;{ext}\r\nhello\r\n0\r\n\r\n");
        assert_eq!(
            advance_chunked(Chunk::Size { digits: 0 }, 0, body.as_bytes()),
            (body.len(), Phase::Head)
        );
        // A size past a u64 is hyper's refusal too.
        assert_eq!(
            advance_chunked(Chunk::Size { digits: 0 }, 0, b"10000000000000000\r\n").1,
            Phase::Passthrough
        );
    }
}
