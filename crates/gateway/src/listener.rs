//! The storefront's listening socket, and how it lets go of it.
//!
//! The gateway owns the shop's one public port, so a new version cannot start on a port of
//! its own and wait for callers to move, as a gRPC replica does. With `--reuse-port` the
//! socket is bound with `SO_REUSEPORT`: a new gateway binds the same port beside the old
//! one, the kernel spreads new connections over both, and the old one then drains. The
//! kernel admits another socket to the port only for the same user, and a plain bind of a
//! port held this way still fails, so a second shop does not share it by accident
//! (`bazaar up` checks that the port is free before it starts).
//!
//! Draining, in order, so that no request is lost:
//!
//! 1. the listening socket is closed at once: new connections go to the other gateway
//!    (with `--reuse-port`) or are refused, which a client sees before sending anything;
//! 2. for the linger (`--drain-linger-ms`), connections already open are served as
//!    before, but every answer says `Connection: close`, so each client learns with a
//!    complete answer that it must reconnect;
//! 3. then what is still open is closed gracefully: requests in flight finish, idle
//!    connections close.
//!
//! Closing an idle kept-alive connection races with a client that has just sent a
//! request on it; the linger leaves only connections that stayed idle all along to that
//! race.

use std::future::pending;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use chassis::Shutdown;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// How many connections may wait to be accepted.
const BACKLOG: u32 = 1024;

/// Binds `address`, sharing the port with other sockets of this user bound the same way
/// when `reuse_port`.
///
/// # Errors
///
/// When the address cannot be bound.
pub fn bind(address: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

/// A listening socket that is closed when `closing` is triggered; from then on it accepts
/// nothing and the server only finishes the connections it has.
#[derive(Debug)]
pub struct Closing {
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    closing: Shutdown,
}

impl Closing {
    /// Wraps `listener`, to be closed on `closing`.
    ///
    /// # Errors
    ///
    /// When the socket's address cannot be read.
    pub fn new(listener: TcpListener, closing: Shutdown) -> std::io::Result<Self> {
        Ok(Self {
            local_addr: listener.local_addr()?,
            listener: Some(listener),
            closing,
        })
    }
}

impl axum::serve::Listener for Closing {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Some(listener) = &self.listener else {
                return pending().await;
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => return accepted,
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: wait a little rather than spin.
                    Err(error) => {
                        tracing::debug!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = self.closing.wait() => {
                    self.listener = None;
                    tracing::info!("listening socket closed: no new connections");
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// Middleware: once `closing` is triggered, every answer says `Connection: close`, so its
/// client reconnects (to the other gateway, or finds none) after a complete answer.
pub async fn close_when_draining(
    axum::extract::State(closing): axum::extract::State<Shutdown>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if closing.is_triggered() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
