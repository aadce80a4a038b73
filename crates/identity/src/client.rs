//! Who the end user behind a call is, for the throttles.
//!
//! Shoppers reach identity through the gateway, so the connection's address is the
//! gateway's for all of them: keyed on it, the throttles would lock out the whole shop at
//! once. The gateway names the shopper's address in the `x-forwarded-for` metadata of each
//! call. identity believes it only when the immediate caller is the gateway
//! (`chassis::auth::peer` is `Peer::Service("gateway")`, proven by its client certificate)
//! or when nobody's identity can be known (`Peer::Unverified`: a plaintext server, where
//! any caller could claim to be anyone anyway). From any other caller the header is
//! ignored and the client is the connection's address, so nobody else can pose as many
//! shoppers, or as the one they want to lock out.
//!
//! Clients are counted as [`counted_as`] says: an IPv6 client by its /64 network.

use std::net::IpAddr;

use chassis::auth::Peer;
use tonic::Request;

pub use chassis::forwarded::{X_FORWARDED_FOR, counted_as};

/// The service whose word on the end user's address is believed.
pub const GATEWAY: &str = "gateway";

/// The end user's address for `request`, if one is known.
pub fn client_of<T>(request: &Request<T>) -> Option<IpAddr> {
    let socket = request.remote_addr().map(|addr| addr.ip());
    let trusted = match chassis::auth::peer(request.extensions()) {
        Peer::Service(name) => name == GATEWAY,
        Peer::Unverified => true,
        Peer::Operator(_) | Peer::Anonymous => false,
    };
    if !trusted {
        return socket;
    }
    // The last entry is the one the gateway wrote; it sends only one.
    chassis::forwarded::last_hop(request.metadata().as_ref()).or(socket)
}

/// The client as text for the store: its counted address, or "" when unknown.
pub fn key(client: Option<IpAddr>) -> String {
    client.map_or_else(String::new, |ip| counted_as(ip).to_string())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tonic::transport::server::TcpConnectInfo;

    use super::*;

    fn request(peer: Option<Peer>, forwarded: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        request.extensions_mut().insert(TcpConnectInfo {
            local_addr: None,
            remote_addr: Some(SocketAddr::from(([10, 0, 0, 9], 40000))),
        });
        if let Some(peer) = peer {
            request.extensions_mut().insert(peer);
        }
        if let Some(forwarded) = forwarded {
            request
                .metadata_mut()
                .insert(X_FORWARDED_FOR, forwarded.parse().unwrap());
        }
        request
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_gateway_and_plaintext_callers_name_the_client() {
        let gateway = Some(Peer::Service("gateway".into()));
        assert_eq!(
            client_of(&request(gateway.clone(), Some("203.0.113.7"))),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_of(&request(
                Some(Peer::Unverified),
                Some("1.1.1.1, 203.0.113.8")
            )),
            ip("203.0.113.8")
        );
        // Without the header, or with garbage in it, the connection's address.
        assert_eq!(client_of(&request(gateway.clone(), None)), ip("10.0.0.9"));
        assert_eq!(
            client_of(&request(gateway, Some("not an address"))),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn nobody_else_can_pose_as_another_client() {
        for peer in [
            Some(Peer::Service("orders".into())),
            Some(Peer::Operator("ops".into())),
            Some(Peer::Anonymous),
            None,
        ] {
            assert_eq!(
                client_of(&request(peer.clone(), Some("203.0.113.7"))),
                ip("10.0.0.9"),
                "{peer:?}"
            );
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        assert_eq!(key(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::");
        assert_eq!(key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(key(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(key(None), "");
    }
}
