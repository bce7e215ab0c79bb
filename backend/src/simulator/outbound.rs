//! Fetching a URL a caller gave (fal's upload-from-URL, which the simulator performs itself —
//! in demo mode on falscope's own host). The guard most careful fetchers use (Grafana's
//! data-proxy deny list, Go's `ssrf` dialers): http(s) only; resolve, then refuse any address
//! that is not public (loopback, private, link-local, CGNAT, multicast, unspecified, and the
//! IPv4-mapped/compatible forms of those); connect to exactly the address that was checked (no
//! second resolution); never follow a redirect; cap the size and the time.

use bytes::Bytes;
use futures::StreamExt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// What the guard allows.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Largest body fetched, bytes.
    pub max_bytes: u64,
    /// Whole fetch deadline.
    pub timeout: Duration,
    /// Loopback addresses are allowed (tests serve sources on 127.0.0.1); private, link-local
    /// and the rest stay refused.
    pub allow_loopback: bool,
}

/// Why a fetch was refused or failed; the message is for the caller.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not a URL the guard fetches (scheme, host, address).
    #[error("{0}")]
    Refused(String),
    /// The source is larger than the cap.
    #[error("the source is larger than {0} bytes")]
    TooLarge(u64),
    /// The source could not be fetched.
    #[error("could not fetch url: {0}")]
    Failed(String),
}

/// Fetches `url` under `policy`.
pub async fn fetch(url: &url::Url, policy: Policy) -> Result<Bytes, FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Refused("url must be http or https".into()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::Refused("url has no host".into()))?
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| FetchError::Refused("url has no port".into()))?;
    let addr = resolve(&host, port, policy).await?;
    let client = reqwest::Client::builder()
        // The checked address, and only it: a DNS answer that changes between the check and
        // the connection (rebinding) is never used.
        .resolve(host.trim_start_matches('[').trim_end_matches(']'), addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(policy.timeout)
        .no_proxy()
        .build()
        .map_err(|e| FetchError::Failed(e.to_string()))?;
    let resp = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| FetchError::Failed(e.without_url().to_string()))?;
    if resp.status().is_redirection() {
        return Err(FetchError::Refused(
            "url answered with a redirect; redirects are not followed: give the final URL".into(),
        ));
    }
    if !resp.status().is_success() {
        return Err(FetchError::Failed(format!(
            "the source answered {}",
            resp.status()
        )));
    }
    if resp.content_length().is_some_and(|n| n > policy.max_bytes) {
        return Err(FetchError::TooLarge(policy.max_bytes));
    }
    let mut body = Vec::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| FetchError::Failed(e.without_url().to_string()))?;
        if (body.len() + chunk.len()) as u64 > policy.max_bytes {
            return Err(FetchError::TooLarge(policy.max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

/// The first address of `host`, if every address it resolves to may be fetched.
async fn resolve(host: &str, port: u16, policy: Policy) -> Result<SocketAddr, FetchError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| FetchError::Failed(format!("{bare} does not resolve")))?
            .collect(),
    };
    // One refused address refuses the name: a resolver may pick any of them.
    if let Some(bad) = addrs.iter().find(|a| !allowed(a.ip(), policy)) {
        return Err(FetchError::Refused(format!(
            "url resolves to {}, which is not a public address",
            bad.ip()
        )));
    }
    addrs
        .first()
        .copied()
        .ok_or_else(|| FetchError::Failed(format!("{bare} has no address")))
}

/// A public unicast address (or loopback when `policy` allows it).
fn allowed(ip: IpAddr, policy: Policy) -> bool {
    let ip = match ip {
        // `::ffff:a.b.c.d` and `::a.b.c.d` reach the IPv4 address.
        IpAddr::V6(v6) => match v6.to_ipv4_mapped().or_else(|| compatible(v6)) {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    if ip.is_loopback() {
        return policy.allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

/// `::a.b.c.d` (deprecated IPv4-compatible form), except `::` and `::1`.
fn compatible(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1)).then(|| {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    })
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF 192.0.0/24
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18/15
        || (a == 192 && b == 88 && ip.octets()[2] == 99) // 6to4 relay anycast
        || a >= 240) // reserved
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let first = s[0];
    !(ip.is_unspecified()
        // Forms that carry or reach an IPv4 address: IPv4-translated ::ffff:0:a.b.c.d, 6to4
        // 2002::/16, Teredo 2001::/32; and the discard prefix 100::/64.
        || (s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0)
        || first == 0x2002
        || (first == 0x2001 && s[1] == 0)
        || (first == 0x0100 && s[1..4] == [0; 3])
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 64:ff9b::/96 reaches IPv4
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Policy = Policy {
        max_bytes: 1,
        timeout: Duration::from_secs(1),
        allow_loopback: false,
    };

    #[test]
    fn only_public_addresses_are_fetched() {
        for bad in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::ffff:0:7f00:1",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "100::1",
        ] {
            assert!(!allowed(bad.parse().unwrap(), STRICT), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(allowed(good.parse().unwrap(), STRICT), "{good}");
        }
        let tests = Policy {
            allow_loopback: true,
            ..STRICT
        };
        assert!(allowed("127.0.0.1".parse().unwrap(), tests));
        assert!(
            !allowed("10.0.0.1".parse().unwrap(), tests),
            "loopback only"
        );
    }
}
