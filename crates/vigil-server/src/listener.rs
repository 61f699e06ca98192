//! The accept loops of both listeners (the agent port with TLS, the console/API port in plain
//! HTTP): connection caps in total and per source, a TLS handshake deadline, a header deadline
//! that also ends idle keep-alive connections, and the peer address on every request.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// What a listener lets one client hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at once, all sources together.
    pub max_connections: usize,
    /// Open connections at once from one address (`exempt` addresses excepted: proxies).
    pub max_per_source: usize,
    pub exempt: Vec<IpAddr>,
    /// A TLS handshake must finish within this.
    pub handshake: Duration,
    /// A request's headers must arrive within this, counted from when the server waits for
    /// them, so an idle keep-alive connection is closed after it too.
    pub headers: Duration,
}

/// Counts open connections; a slot is given back when its [`Slot`] drops.
#[derive(Debug, Default)]
struct Gate {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

#[derive(Debug)]
struct Slot {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Gate {
    fn enter(self: &Arc<Gate>, ip: IpAddr, limits: &Limits) -> Result<Slot, &'static str> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.0 >= limits.max_connections {
            return Err("the server's connection limit");
        }
        let mine = open.1.entry(ip).or_default();
        if *mine >= limits.max_per_source && !limits.exempt.contains(&ip) {
            return Err("the per-source connection limit");
        }
        *mine += 1;
        open.0 += 1;
        Ok(Slot {
            gate: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 -= 1;
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, with TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let gate = Arc::new(Gate::default());
    let limits = Arc::new(limits);
    let mut refused_logged = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let slot = match gate.enter(peer.ip(), &limits) {
            Ok(s) => s,
            Err(why) => {
                // Closed at once (dropped), so a flood cannot queue; said once a minute.
                if refused_logged.elapsed() > Duration::from_secs(60) {
                    refused_logged = std::time::Instant::now();
                    tracing::warn!(%peer, limit = why, "connection refused");
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let limits = limits.clone();
        let conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                Some(acceptor) => {
                    let tls =
                        match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    connection(tls, peer, app, &limits, conn_shutdown).await
                }
                None => connection(tcp, peer, app, &limits, conn_shutdown).await,
            }
        });
    }
}

async fn connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    limits: &Limits,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.headers);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        _ = shutdown.wait_for(|s| *s) => {}
    }
}

/// Raises the soft limit on open files to the hard limit, so a crowd of clients meets the
/// connection caps above before it meets the kernel's. Returns the limit in force.
pub fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        lim.current = lim.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, lim) {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
        }
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_caps_total_and_per_source_and_gives_slots_back() {
        let limits = Limits {
            max_connections: 3,
            max_per_source: 2,
            exempt: vec!["192.0.2.9".parse().unwrap()],
            handshake: Duration::from_secs(1),
            headers: Duration::from_secs(1),
        };
        let gate = Arc::new(Gate::default());
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let proxy: IpAddr = "192.0.2.9".parse().unwrap();
        let s1 = gate.enter(a, &limits).unwrap();
        let _s2 = gate.enter(a, &limits).unwrap();
        assert!(gate.enter(a, &limits).unwrap_err().contains("per-source"));
        let p1 = gate.enter(proxy, &limits).unwrap();
        assert!(gate.enter(proxy, &limits).unwrap_err().contains("server's"));
        drop(p1);
        drop(s1);
        let _again = gate.enter(a, &limits).unwrap();
        let _p = gate.enter(proxy, &limits).unwrap();
        let open = gate.open.lock().unwrap();
        assert_eq!(open.0, 3);
    }
}
