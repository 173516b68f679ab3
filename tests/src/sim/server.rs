//! The HTTP(S) servers: a listener that can be closed and reopened on the same port (the
//! `Refuse` fault), the accept loop, and per-request faults in front of the router.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::Service as _;

use super::State;
use super::clock::http_date;
use super::counters::Counter;
use super::faults::{Fault, Server};
use super::{keycloak, keystone};

/// A listening socket on a fixed address that a test can close and reopen synchronously.
#[derive(Debug)]
pub(crate) struct Listener {
    addr: SocketAddr,
    /// `None` while a `Refuse` fault holds the port closed.
    current: Mutex<Option<Arc<TcpListener>>>,
    /// Ticks whenever `current` changes, so the accept loop picks up the new socket.
    changed: watch::Sender<()>,
    /// Reopening registers the socket with this runtime's reactor; `set_fault` may be
    /// called from a thread outside it.
    runtime: Handle,
}

impl Listener {
    /// Binds `127.0.0.1:port` (0 for an ephemeral port). Must run inside a tokio runtime.
    pub(crate) fn bind(port: u16) -> io::Result<Arc<Self>> {
        let listener = open(SocketAddr::from(([127, 0, 0, 1], port)))?;
        Ok(Arc::new(Self {
            addr: listener.local_addr()?,
            current: Mutex::new(Some(Arc::new(listener))),
            changed: watch::channel(()).0,
            runtime: Handle::current(),
        }))
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening before returning, so the next connect is refused. The accept loop
    /// may still hold the socket for a moment; `shutdown(2)` makes Linux stop listening on
    /// it at once (pending connects get a reset), whoever holds it.
    pub(crate) fn refuse(&self) {
        let closed = self.lock().take();
        if let Some(listener) = closed {
            // An error means the socket is already unusable, which is what we want.
            let _ = rustix::net::shutdown(&*listener, rustix::net::Shutdown::Read);
            self.changed.send_replace(());
        }
    }

    /// Listens again on the same address if `refuse` closed it; connects succeed once this
    /// returns.
    pub(crate) fn resume(&self) -> io::Result<()> {
        let mut current = self.lock();
        if current.is_none() {
            let _runtime = self.runtime.enter();
            *current = Some(Arc::new(open(self.addr)?));
            drop(current);
            self.changed.send_replace(());
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<TcpListener>>> {
        self.current
            .lock()
            .expect("the listener lock is never poisoned")
    }
}

fn open(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // Reopening after `refuse` must not wait for the old connections' TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// One server's request handling: faults first, then the router, then the `Date` header
/// from the simulator's clock.
#[derive(Clone)]
pub(crate) struct App {
    server: Server,
    state: Arc<State>,
    router: Router,
}

/// The error that makes hyper close a connection without answering (the `Drop` fault).
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a simulator fault")
    }
}

impl std::error::Error for DropConnection {}

impl App {
    pub(crate) fn new(server: Server, state: Arc<State>) -> Self {
        let router = match server {
            Server::Keycloak => keycloak::router(state.clone()),
            Server::Keystone => keystone::router(state.clone()),
        };
        Self {
            server,
            state,
            router,
        }
    }

    async fn handle(
        mut self,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, DropConnection> {
        let fault = self
            .state
            .faults
            .for_request(self.server, request.uri().path());
        if matches!(fault, Some(Fault::Drop | Fault::Refuse | Fault::Status(_))) {
            self.state.counters.bump(Counter::Faulted);
        }
        let mut response = match fault {
            Some(Fault::Drop | Fault::Refuse) => return Err(DropConnection),
            Some(Fault::Status(code)) => self.fault_response(code),
            Some(Fault::Delay(delay)) => {
                self.state.counters.bump(Counter::Delayed);
                tokio::time::sleep(delay).await;
                self.route(request).await
            }
            None => self.route(request).await,
        };
        let date = HeaderValue::from_str(&http_date(self.state.clock.now()))
            .expect("an HTTP date is a valid header value");
        response.headers_mut().insert(header::DATE, date);
        Ok(response)
    }

    async fn route(&mut self, request: Request<Incoming>) -> Response<Body> {
        let response: Result<_, Infallible> = self.router.call(request.map(Body::new)).await;
        let Ok(response) = response;
        response
    }

    fn fault_response(&self, code: u16) -> Response<Body> {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        match self.server {
            Server::Keycloak => keycloak::status_fault(status),
            Server::Keystone => keystone::status_fault(status),
        }
    }
}

/// Runs the accept loop of `listener` until `shutdown`'s sender is dropped.
pub(crate) fn spawn(
    listener: Arc<Listener>,
    app: App,
    tls: Option<TlsAcceptor>,
    shutdown: watch::Receiver<()>,
) {
    tokio::spawn(accept_loop(listener, app, tls, shutdown));
}

async fn accept_loop(
    listener: Arc<Listener>,
    app: App,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<()>,
) {
    let mut changed = listener.changed.subscribe();
    loop {
        changed.borrow_and_update();
        let current = listener.lock().clone();
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = changed.changed() => {}
            accepted = accept(current.as_deref()) => match accepted {
                Ok(stream) => {
                    tokio::spawn(serve(stream, app.clone(), tls.clone(), shutdown.clone()));
                }
                // After `refuse` the old socket fails; `changed` tells us. Anything else
                // (out of file descriptors) is worth a short pause, not a hot loop.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<TcpStream> {
    match listener {
        Some(listener) => listener.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

async fn serve(
    stream: TcpStream,
    app: App,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => serve_http(TokioIo::new(stream), app, shutdown).await,
        Some(tls) => {
            let handshake = tokio::select! {
                _ = shutdown.changed() => return,
                handshake = tls.accept(stream) => handshake,
            };
            // A client that does not trust the CA aborts the handshake: nothing to serve.
            if let Ok(stream) = handshake {
                serve_http(TokioIo::new(stream), app, shutdown).await;
            }
        }
    }
}

async fn serve_http<I>(io: I, app: App, mut shutdown: watch::Receiver<()>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| app.clone().handle(request));
    let connection = http1::Builder::new().serve_connection(io, service);
    // Dropping the connection future closes the socket, mid-request or not.
    tokio::select! {
        _ = connection => {}
        _ = shutdown.changed() => {}
    }
}
