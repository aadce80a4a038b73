//! The end user behind a proxy: the `x-forwarded-for` header and how clients are counted.
//!
//! The storefront reads the header from the proxy in front of it (when told to trust one)
//! and writes it on its calls to identity, which believes it only from the storefront.
//! Both read it, and count clients, the same way: here.

use std::net::{IpAddr, Ipv6Addr};

use http::HeaderMap;

/// The header (gRPC metadata) that names the client's address.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The address the last `X-Forwarded-For` header ends with: the entry the nearest proxy
/// wrote (entries before it were written by whoever sent the request, and can be forged);
/// `None` when there is no header or that entry is not an address.
pub fn last_hop(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .and_then(|hop| hop.trim().parse::<IpAddr>().ok())
}

/// The key a client is counted under: its IPv4 address, or the /64 network of its IPv6
/// address (one subscriber usually holds a whole /64, so counting single IPv6 addresses
/// would give one client billions of allowances).
pub fn counted_as(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}
