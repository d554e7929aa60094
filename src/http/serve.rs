//! Serving the router on the listener with the limits a public endpoint needs, which
//! `axum::serve` does not set: a client has `header_timeout` to send its headers (and an idle
//! keep-alive connection is closed after as long), `body_timeout` to send its body, and at
//! most `max_connections` are served at once (the rest wait in the kernel's backlog).

use crate::config::ServerConfig;
use crate::telemetry::Metrics;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets every
/// request in flight finish (closing idle connections at once), for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ServerConfig,
    metrics: &Metrics,
    shutdown: impl Future<Output = ()>,
) {
    let connections = metrics.gauge("leadgate_http_connections", &[]);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(100)
        .max_header_size(32 * 1024);
    let app = app.layer(tower_http::timeout::RequestBodyDeadlineLayer::new(
        limits.body_timeout,
    ));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        connections.increment(1.0);
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(axum::body::Body::new)
            });
        let conn =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        let connections = connections.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "A connection ended with an error.");
            }
            connections.decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("Requests still in flight at the end of the grace are cut off.");
    }
}
