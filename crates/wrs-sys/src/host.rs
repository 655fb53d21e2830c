//! Whether a host names this machine, for the places that allow plain
//! `http` or a local listener only there: the redirect URI of a profile
//! (wrs-config), endpoint URLs and the loopback listener (wrs-oauth, whose
//! endpoint check `wrs-tokend probe`, and through it `wrs-token doctor`,
//! reports on). Anything else that must tell loopback apart asks here.
//!
//! Loopback is the IP literals of 127.0.0.0/8 and `::1` (with or without
//! the brackets of a URL), and the name `localhost` in any case. Nothing
//! else: never a prefix match (`127.evil.example` is a public name), and
//! no other name that may resolve to loopback, since a resolver can be
//! told otherwise.

use std::net::{IpAddr, Ipv4Addr};

/// Whether `host` (a URL's host, as `url::Url::host_str` gives it, or a
/// bare host) is this machine. See the module doc.
pub fn is_loopback(host: &str) -> bool {
    loopback_ip(host).is_some()
}

/// The address a loopback `host` stands for, to listen on: the literal
/// itself, or 127.0.0.1 for `localhost`. `None` when `host` is not
/// loopback ([`is_loopback`]).
pub fn loopback_ip(host: &str) -> Option<IpAddr> {
    if host.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    literal.parse::<IpAddr>().ok().filter(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_literals_and_localhost_are_loopback() {
        for host in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "::1",
            "[::1]",
            "[0:0:0:0:0:0:0:1]",
            "localhost",
            "LocalHost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
    }

    /// Regression: doctor's network check took any host starting with
    /// `127.` for loopback, so plain http to `127.evil.example` passed as
    /// "plain http on loopback".
    #[test]
    fn names_that_merely_start_like_loopback_are_not() {
        for host in [
            "127.evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "localhost.",
            "evil-localhost",
            "128.0.0.1",
            "::2",
            "[::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn the_listening_address_is_the_literal_or_127_0_0_1_for_localhost() {
        assert_eq!(loopback_ip("localhost"), "127.0.0.1".parse().ok());
        assert_eq!(loopback_ip("127.0.0.5"), "127.0.0.5".parse().ok());
        assert_eq!(loopback_ip("[::1]"), "::1".parse().ok());
        assert_eq!(loopback_ip("example.com"), None);
    }
}
