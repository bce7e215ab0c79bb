//! The HTTP server loop: hyper with limits axum's `serve` does not set — a deadline for the
//! first bytes of a connection (before HTTP/1 and HTTP/2 are told apart) and for request
//! headers (slowloris), a cap on their size, HTTP/2 pings that drop dead peers, and a cap on
//! open connections — plus the peer address for every request and a graceful shutdown that
//! lets open requests finish.

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

/// Server limits beyond the constants above.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Open connections at most (`--max-connections`); past it, new ones wait in the
    /// listen backlog.
    pub max_connections: usize,
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
        let service = router.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            },
        );
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _slot = slot;
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
            if let Err(err) = watcher.watch(conn).await {
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
