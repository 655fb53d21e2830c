//! Which profile a URL belongs to: a URL (from `curl`'s arguments, or
//! git's `protocol`/`host`/`path`) is matched against each profile's
//! `resource`, the Windchill OData root its tokens are for.
//!
//! A profile matches when scheme, host and port agree (the URL's own port,
//! else the scheme's default). Among the matches, one whose resource path
//! is a prefix of the URL's path wins over one on the same origin with
//! another path, and the longer prefix wins; a tie goes to the default
//! profile, else to the first by name. A URL on another origin matches no
//! profile: a token is never offered to a host nobody configured for it.
//!
//! A small parser of our own rather than the `url` crate: the client only
//! needs scheme, host, port and path, and stays small.

use wrs_config::Config;

/// The parts of a URL that matching looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Lower-case scheme; `None` for a scheme-less curl URL (`host/path`).
    pub scheme: Option<String>,
    /// Lower-case host, without brackets for IPv6.
    pub host: String,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// The path, starting with `/` (`/` when the URL has none), without
    /// query or fragment.
    pub path: String,
}

impl Location {
    /// Parses `scheme://[user@]host[:port][/path][?query][#fragment]`, or
    /// the same without `scheme://` as curl accepts. `None` when there is
    /// no host or the port is not a number.
    pub fn parse(url: &str) -> Option<Location> {
        let url = url.trim();
        let (scheme, rest) = match url.split_once("://") {
            Some((s, rest)) if is_scheme(s) => (Some(s.to_ascii_lowercase()), rest),
            Some(_) => return None,
            None => (None, url),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        // Userinfo may itself hold ':' and '@'; the host follows the last '@'.
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = split_host_port(host_port)?;
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let path = match &tail[..path_end] {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Some(Location {
            scheme,
            host,
            port,
            path,
        })
    }

    /// The location git describes with `protocol`, `host` (which may carry
    /// `:port`) and an optional `path` (sent only with
    /// `credential.useHttpPath`; without a leading `/`).
    pub fn from_git(protocol: &str, host: &str, path: Option<&str>) -> Option<Location> {
        let (host, port) = split_host_port(host)?;
        let path = match path.map(|p| p.trim_start_matches('/')) {
            Some(p) => format!("/{p}"),
            None => "/".to_owned(),
        };
        Some(Location {
            scheme: Some(protocol.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            host,
            port,
            path,
        })
    }

    /// The port in use: the explicit one, else the scheme's default.
    pub fn effective_port(&self) -> Option<u16> {
        self.port
            .or_else(|| self.scheme.as_deref().and_then(default_port))
    }

    /// Whether `self` (a profile's resource) and `url` are on one origin.
    /// A scheme-less `url` takes the resource's scheme.
    fn same_origin(&self, url: &Location) -> bool {
        if !self.host.eq_ignore_ascii_case(&url.host) {
            return false;
        }
        let scheme = match (&self.scheme, &url.scheme) {
            (Some(a), Some(b)) if a != b => return false,
            (Some(a), _) | (None, Some(a)) => Some(a.as_str()),
            (None, None) => None,
        };
        let port_of = |l: &Location| l.port.or_else(|| scheme.and_then(default_port));
        port_of(self) == port_of(url)
    }

    /// Whether `url` lies under this location: same origin, and its path
    /// under this path (see [`Location::covers_path`]).
    pub fn contains(&self, url: &Location) -> bool {
        self.same_origin(url) && self.covers_path(url)
    }

    /// Whether `url`'s path lies under this location's path, segment-wise:
    /// `/a/b/` and `/a/b` both cover `/a/b` and `/a/b/c`, not `/a/bc`.
    pub fn covers_path(&self, url: &Location) -> bool {
        let base = self.path.trim_end_matches('/');
        match url.path.strip_prefix(base) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` → lower-case host and port.
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse().ok()?),
    };
    Some((host.to_ascii_lowercase(), port))
}

/// The profile whose `resource` best matches `url` (see the module doc),
/// or `None` when no profile's resource is on `url`'s origin.
pub fn profile_for<'a>(config: &'a Config, url: &Location) -> Option<&'a str> {
    // Rank: (resource path covers the URL's, length of that path).
    let mut best: Option<((bool, usize), Vec<&'a str>)> = None;
    for (name, profile) in &config.profiles {
        let Some(resource) = profile.resource.as_deref().and_then(Location::parse) else {
            continue;
        };
        if !resource.same_origin(url) {
            continue;
        }
        let covers = resource.covers_path(url);
        let rank = (covers, if covers { resource.path.len() } else { 0 });
        match &mut best {
            Some((r, names)) if *r == rank => names.push(name),
            Some((r, _)) if *r > rank => {}
            _ => best = Some((rank, vec![name.as_str()])),
        }
    }
    let (_, names) = best?;
    let default = config.default.as_deref();
    names
        .iter()
        .copied()
        .find(|n| Some(*n) == default)
        .or_else(|| names.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wrs_config::Profile;

    fn loc(url: &str) -> Location {
        Location::parse(url).unwrap()
    }

    #[test]
    fn parses_scheme_userinfo_host_port_and_path() {
        let l = loc("HTTPS://user:p@ss@PLM.Example.com:8443/Windchill/x?y=1#z");
        assert_eq!(l.scheme.as_deref(), Some("https"));
        assert_eq!(l.host, "plm.example.com");
        assert_eq!(l.port, Some(8443));
        assert_eq!(l.path, "/Windchill/x");
        let l = loc("http://[::1]:9031");
        assert_eq!(
            (l.host.as_str(), l.port, l.path.as_str()),
            ("::1", Some(9031), "/")
        );
        let l = loc("plm.example.com/Windchill");
        assert_eq!(l.scheme, None);
        assert_eq!(l.effective_port(), None);
        assert_eq!(loc("https://h").effective_port(), Some(443));
        assert!(Location::parse("https://:80/x").is_none());
        assert!(Location::parse("https://h:port/x").is_none());
        assert!(Location::parse("1nvalid://h/").is_none());
    }

    #[test]
    fn git_fields_make_a_location() {
        let l = Location::from_git("https", "plm.example.com:8443", Some("git/repo.git")).unwrap();
        assert_eq!(l, loc("https://plm.example.com:8443/git/repo.git"));
        let l = Location::from_git("http", "127.0.0.1", None).unwrap();
        assert_eq!(l, loc("http://127.0.0.1"));
    }

    #[test]
    fn path_cover_is_segment_wise() {
        let base = loc("https://h/Windchill/oauth/");
        assert!(base.covers_path(&loc("https://h/Windchill/oauth/servlet")));
        assert!(base.covers_path(&loc("https://h/Windchill/oauth")));
        assert!(!base.covers_path(&loc("https://h/Windchill/oauthx")));
        assert!(loc("https://h").covers_path(&loc("https://h/anything")));
    }

    fn config(profiles: &[(&str, Option<&str>)], default: Option<&str>) -> Config {
        let mut config = Config {
            default: default.map(str::to_owned),
            ..Config::default()
        };
        for (name, resource) in profiles {
            let profile = Profile {
                client_id: "c".into(),
                token_endpoint: Some("https://sso/as/token.oauth2".into()),
                resource: resource.map(str::to_owned),
                ..Profile::default()
            };
            config.profiles.insert((*name).to_owned(), profile);
        }
        config
    }

    #[test]
    fn the_longest_covering_resource_wins_on_the_same_origin() {
        let c = config(
            &[
                ("root", Some("https://plm.example.com/")),
                (
                    "odata",
                    Some("https://plm.example.com/Windchill/oauth/servlet/odata/"),
                ),
                ("other", Some("https://qa.example.com/Windchill/")),
                ("none", None),
            ],
            None,
        );
        let odata = loc("https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts");
        assert_eq!(profile_for(&c, &odata), Some("odata"));
        assert_eq!(
            profile_for(&c, &loc("https://plm.example.com/git/repo.git")),
            Some("root")
        );
        assert_eq!(
            profile_for(&c, &loc("https://qa.example.com/elsewhere")),
            Some("other")
        );
        assert_eq!(profile_for(&c, &loc("https://evil.example.com/")), None);
    }

    #[test]
    fn scheme_and_port_must_agree() {
        let c = config(&[("p", Some("https://plm.example.com/W/"))], None);
        assert_eq!(
            profile_for(&c, &loc("https://plm.example.com:443/W/x")),
            Some("p")
        );
        assert_eq!(profile_for(&c, &loc("http://plm.example.com/W/x")), None);
        assert_eq!(
            profile_for(&c, &loc("https://plm.example.com:8443/W/x")),
            None
        );
        // curl's scheme-less URLs take the resource's scheme.
        assert_eq!(profile_for(&c, &loc("plm.example.com/W/x")), Some("p"));
        let git = Location::from_git("https", "PLM.example.com", None).unwrap();
        assert_eq!(profile_for(&c, &git), Some("p"));
    }

    #[test]
    fn a_tie_goes_to_the_default_then_to_the_first_name() {
        let same = Some("https://plm.example.com/W/");
        let c = config(&[("b", same), ("c", same)], Some("c"));
        assert_eq!(
            profile_for(&c, &loc("https://plm.example.com/W/")),
            Some("c")
        );
        let c = config(&[("b", same), ("c", same)], None);
        assert_eq!(
            profile_for(&c, &loc("https://plm.example.com/W/")),
            Some("b")
        );
    }
}
