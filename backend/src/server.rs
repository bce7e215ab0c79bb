//! The HTTP server loop: hyper with limits axum's `serve` does not set — a deadline for the
//! first bytes of a connection (before HTTP/1 and HTTP/2 are told apart) and for request
//! headers (slowloris), a cap on their size, HTTP/2 pings that drop dead peers, and a cap on
//! open connections, and a maximum connection age — plus the peer address for every request
//! and a graceful shutdown that lets open requests finish.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// A client has this long to send a request's headers (and, on a new connection, the bytes
/// that say whether it speaks HTTP/1 or HTTP/2).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line + headers) accepted; larger gets 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long open requests get to finish after shutdown starts.
const DRAIN: Duration = Duration::from_secs(10);
/// HTTP/2 pings this often; a peer that does not answer within [`PING_TIMEOUT`] is dropped.
const PING_EVERY: Duration = Duration::from_secs(30);
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// What HTTP/2 starts with (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a connection may stay open: then it finishes its open requests and closes
/// (HTTP/2: GOAWAY), so a client that answers every ping cannot hold one for ever and each
/// client comes back through the connection caps now and then.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(60 * 60);

/// Open connections one client address (IPv6: one /64) may hold; more are closed at once,
/// so one host cannot take the `--max-connections` slots. Trusted proxies and this host
/// (`127.0.0.1`, `::1`: a reverse proxy beside falscope) are exempt.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

/// Server limits beyond the constants above.
#[derive(Debug, Clone)]
pub struct Options {
    /// Open connections at most (`--max-connections`); past it, new ones wait in the
    /// listen backlog.
    pub max_connections: usize,
    /// `--trusted-proxies`: peers that carry many users' connections.
    pub trusted: Vec<ipnet::IpNet>,
    /// How long a connection may stay open ([`MAX_CONNECTION_AGE`]; tests shorten it).
    pub max_age: Duration,
}

/// Open connections per client address group.
#[derive(Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One open connection of an address group; counted down when dropped.
struct AddressSlot(Arc<PerAddress>, std::net::IpAddr);

impl PerAddress {
    fn group(ip: std::net::IpAddr) -> std::net::IpAddr {
        match ip {
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.into(),
                None => {
                    let mut s = v6.segments();
                    s[4..].fill(0);
                    std::net::Ipv6Addr::from(s).into()
                }
            },
            v4 => v4,
        }
    }

    /// A slot for `ip`, or `None` when its group holds [`MAX_CONNECTIONS_PER_ADDRESS`].
    fn take(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<AddressSlot> {
        let group = Self::group(ip);
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(group).or_default();
        if *n >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(AddressSlot(self.clone(), group))
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    options: Options,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(PING_EVERY)
        .keep_alive_timeout(PING_TIMEOUT)
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(100);
    let slots = Arc::new(tokio::sync::Semaphore::new(options.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let mut refused_since: Option<tokio::time::Instant> = None;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut full_since: Option<tokio::time::Instant> = None;
    loop {
        // A slot first: at the cap, the kernel's backlog holds new connections (nginx's
        // `worker_connections` behaves alike), and the log says so once a minute.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if full_since.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(
                        max_connections = options.max_connections,
                        "connection limit reached (--max-connections): new connections wait"
                    );
                    full_since = Some(tokio::time::Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = shutdown.cancelled() => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let local = matches!(peer.ip(), std::net::IpAddr::V4(v4) if v4 == std::net::Ipv4Addr::LOCALHOST)
            || peer.ip() == std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        let trusted = local || options.trusted.iter().any(|n| n.contains(&peer.ip()));
        let address_slot = if trusted {
            None
        } else {
            match per_address.take(peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    if refused_since.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                        tracing::warn!(peer = %peer.ip(), limit = MAX_CONNECTIONS_PER_ADDRESS, "one address holds too many connections: closing its new ones");
                        refused_since = Some(tokio::time::Instant::now());
                    }
                    drop(stream);
                    continue;
                }
            }
        };
        let service = router.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            },
        );
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        let (stop, max_age) = (shutdown.clone(), options.max_age);
        tokio::spawn(async move {
            let _slots = (slot, address_slot);
            // Held until the connection ends: `graceful.shutdown()` waits for every watcher.
            let _watcher = watcher;
            let mut stream = stream;
            // hyper tells the protocols apart by reading the first bytes, with no deadline of
            // its own: a client that sends nothing, or half the HTTP/2 preface, would hold the
            // connection forever.
            let Ok(Ok(first)) =
                tokio::time::timeout(HEADER_TIMEOUT, first_bytes(&mut stream)).await
            else {
                return;
            };
            let io = TokioIo::new(Prefixed {
                prefix: first,
                at: 0,
                inner: stream,
            });
            let conn = builder
                .serve_connection_with_upgrades(io, TowerToHyperService::new(service))
                .into_owned();
            let mut conn = std::pin::pin!(conn);
            // On shutdown or past its age the connection finishes its open requests and
            // closes (HTTP/2: GOAWAY), as GracefulShutdown::watch would on shutdown alone.
            let close = async {
                tokio::select! {
                    () = tokio::time::sleep(max_age) => {},
                    () = stop.cancelled() => {},
                }
            };
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                () = close => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(%err, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after {DRAIN:?}; stopping anyway");
    }
}

/// Reads until the bytes are the whole HTTP/2 preface or stop matching it (HTTP/1), or EOF.
async fn first_bytes(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(H2_PREFACE.len());
    let mut chunk = [0u8; 24];
    while buf.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(&buf) {
        let n = stream
            .read(&mut chunk[..H2_PREFACE.len() - buf.len()])
            .await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf)
}

/// A stream whose first bytes were already read: they are read again first.
struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.at < this.prefix.len() {
            let n = (this.prefix.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
