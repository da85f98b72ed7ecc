//! The HTTP/1.1 listener with connection hygiene (CONTRACT section 3):
//!
//! - a connection must send a complete request header within
//!   `header_read_timeout` (10 s) of connecting, or of the first byte of its
//!   next request, else it is closed;
//! - an idle keep-alive connection is closed after `idle_timeout` (60 s);
//! - at most `max_connections` are served at once; past that a connection
//!   gets an immediate `503 Service Unavailable` with `Retry-After: 1`, a
//!   one-line JSON body and `Connection: close`, and is closed;
//! - the open-file soft limit is raised to the hard limit at start
//!   ([`raise_open_file_limit`]), and the connection cap is kept below it.
//!
//! A request in flight is bounded by the router's own timeout, not here.
//! The router (axum) is served through hyper's HTTP/1 connection; this
//! module holds no routes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// The connection limits the listener applies (`[server]` in config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request header must be complete this long after the connection
    /// opened, or after the first byte of a later request.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; more are refused with a 503.
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_config(c: &crate::config::ServerConfig) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: c.header_read_timeout,
            idle_timeout: c.idle_timeout,
            max_connections: c.max_connections,
        }
    }
}

/// File descriptors kept for the store, logs and outbound calls when the
/// connection cap is fitted under the open-file limit.
const RESERVED_FDS: u64 = 128;
/// Refusals being written at once; past this a connection is just closed.
const MAX_REFUSING: usize = 64;
/// How long a graceful shutdown waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Raises the open-file soft limit to the hard limit. Returns the soft
/// limit before and after.
pub fn raise_open_file_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((before, lim.rlim_max))
}

/// The connection cap actually applied: the configured one, kept
/// [`RESERVED_FDS`] under the open-file limit.
pub fn effective_cap(configured: usize, open_files: u64) -> usize {
    let room = open_files.saturating_sub(RESERVED_FDS).max(1);
    configured.clamp(1, usize::try_from(room).unwrap_or(usize::MAX))
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops
/// accepting, lets open connections finish their request (up to 10 s) and
/// returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors (EMFILE/ENFILE) or a connection
                // reset before it was taken: wait a moment, say so once a
                // second, go on.
                if last_accept_error.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                    tracing::warn!(error = %e, "accept failed");
                    last_accept_error = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let (router, stop) = (router.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    serve_connection(stream, router, limits, stop).await;
                    drop(permit);
                });
            }
            Err(_) => {
                metrics::counter!("caseflow_connections_refused_total").increment(1);
                if let Ok(permit) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream, limits.max_connections).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
    Ok(())
}

/// Answers a connection past the cap with a 503 and closes it. The request
/// is read and dropped for a moment first, so the close does not reset the
/// connection before the client has read the answer.
async fn refuse(mut stream: TcpStream, cap: usize) {
    let body = format!("{{\"error\":\"too many connections (limit {cap}); try again shortly\"}}");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let written = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if matches!(written, Ok(Ok(()))) {
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            let mut read = 0;
            while read < 64 * 1024 {
                match tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
        })
        .await;
    }
}

/// Where a connection is between requests.
const AWAITING: u8 = 0;
/// Bytes of a request header have arrived.
const HEADER: u8 = 1;
/// A request is being served.
const SERVING: u8 = 2;

/// What the watchdog of one connection sees.
struct Phase {
    phase: AtomicU8,
    /// Requests answered on this connection.
    served: AtomicU64,
    since: Mutex<Instant>,
    changed: Notify,
}

impl Phase {
    fn set(&self, phase: u8) {
        self.phase.store(phase, Ordering::SeqCst);
        *self.since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.changed.notify_one();
    }

    fn touch(&self) {
        *self.since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// When the connection is to be closed, if nothing changes meanwhile.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        let since = *self.since.lock().unwrap_or_else(|p| p.into_inner());
        match self.phase.load(Ordering::SeqCst) {
            AWAITING if self.served.load(Ordering::SeqCst) > 0 => Some(since + limits.idle_timeout),
            AWAITING | HEADER => Some(since + limits.header_read_timeout),
            _ => None,
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let phase = Arc::new(Phase {
        phase: AtomicU8::new(AWAITING),
        served: AtomicU64::new(0),
        since: Mutex::new(Instant::now()),
        changed: Notify::new(),
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        phase: phase.clone(),
    });
    let service_phase = phase.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        let phase = service_phase.clone();
        phase.set(SERVING);
        async move {
            let answer = router.oneshot(req.map(axum::body::Body::new)).await;
            phase.served.fetch_add(1, Ordering::SeqCst);
            phase.set(AWAITING);
            answer
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        let deadline = phase.deadline(&limits);
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            () = phase.changed.notified() => {}
            () = expired => {
                if phase.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    metrics::counter!("caseflow_connections_timed_out_total").increment(1);
                    return;
                }
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The socket, noting the first byte of each request header and each
/// write while idle, for the watchdog.
struct Watched {
    inner: TcpStream,
    phase: Arc<Phase>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(())))
            && buf.filled().len() > before
            && self.phase.phase.load(Ordering::SeqCst) == AWAITING
        {
            self.phase.set(HEADER);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0)
            && self.phase.phase.load(Ordering::SeqCst) == AWAITING
        {
            // An answer still being written is not idleness.
            self.phase.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_under_the_open_file_limit() {
        assert_eq!(effective_cap(1024, 1_048_576), 1024);
        assert_eq!(effective_cap(1024, 1024), 896);
        assert_eq!(effective_cap(1024, 100), 1);
        assert_eq!(effective_cap(0, 4096), 1);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_limit() {
        let (_, after) = raise_open_file_limit().unwrap();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: reads the limits into the struct given.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(lim.rlim_cur, after);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
    }
}
