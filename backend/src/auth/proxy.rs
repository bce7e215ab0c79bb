//! Reverse proxies: which peers are trusted, the real client address behind them, and the
//! identity headers of a single-sign-on proxy.
//!
//! Headers that claim an identity or a client address are believed only from a peer inside
//! `--trusted-proxies`; from anyone else they are removed before any handler runs (the
//! oauth2-proxy advisories of 2026 were exactly this: identity headers trusted from any peer).

use super::directory::Directory;
use super::{Identity, Via};
use http::HeaderMap;
use std::net::IpAddr;

/// Whether `peer` is one of the trusted proxies.
pub fn is_trusted(trusted: &[ipnet::IpNet], peer: IpAddr) -> bool {
    let peer = canonical(peer);
    trusted.iter().any(|net| net.contains(&peer))
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The client's address: the peer, or — when the peer is trusted — the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy (left-most entries are client-supplied).
pub fn client_ip(trusted: &[ipnet::IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !is_trusted(trusted, peer) {
        return canonical(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .map(canonical)
        .find(|ip| !is_trusted(trusted, *ip))
        .unwrap_or(canonical(peer))
}

/// Removes the identity headers (call for requests from untrusted peers).
pub fn strip_identity_headers(dir: &Directory, headers: &mut HeaderMap) {
    for name in [
        &dir.proxy.user_header,
        &dir.proxy.email_header,
        &dir.proxy.groups_header,
    ] {
        headers.remove(name.as_str());
    }
}

/// The identity a trusted proxy asserts, if it asserts one. `Err` names a user the role
/// mapping gives no access.
pub fn identity(dir: &Directory, headers: &HeaderMap) -> Result<Option<Identity>, String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let Some(name) = get(&dir.proxy.user_header).or_else(|| get(&dir.proxy.email_header)) else {
        return Ok(None);
    };
    let groups: Vec<String> = get(&dir.proxy.groups_header)
        .map(|g| {
            g.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let role = dir.role_of_groups(&groups).ok_or_else(|| name.to_owned())?;
    Ok(Some(Identity {
        name: name.chars().take(128).collect(),
        role,
        groups,
        via: Via::Proxy,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::auth::Role;

    fn nets(s: &[&str]) -> Vec<ipnet::IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.0.0.3".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            client_ip(&trusted, proxy, &h),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(&trusted, stranger, &h), stranger);
        assert_eq!(client_ip(&[], proxy, &h), proxy, "empty list trusts nobody");
        let mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert!(is_trusted(&trusted, mapped));
    }

    #[test]
    fn identity_from_headers_maps_groups_to_roles() {
        let dir = Directory::parse("[groups]\nfinance = \"billing\"\n").unwrap();
        let mut h = HeaderMap::new();
        assert!(identity(&dir, &h).unwrap().is_none());
        h.insert("x-forwarded-email", "ana@example.com".parse().unwrap());
        h.insert("x-forwarded-groups", "eng, finance".parse().unwrap());
        let id = identity(&dir, &h).unwrap().unwrap();
        assert_eq!(
            (id.name.as_str(), id.role),
            ("ana@example.com", Role::Billing)
        );
        strip_identity_headers(&dir, &mut h);
        assert!(h.is_empty());
    }
}
