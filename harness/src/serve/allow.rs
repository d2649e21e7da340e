//! The allowlist: `gonogo serve` only ever sends traffic to an origin
//! (`scheme://host:port`) its configuration names. Hosts are compared as
//! written after URL normalisation, so a DNS name off the list is refused even
//! when it resolves to a listed address (list every name you use); a URL with
//! credentials is refused; and the harness's HTTP client never follows
//! redirects, so a listed target cannot bounce a run elsewhere.

use url::Url;

/// `scheme://host:port` of an allowed target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `scheme://host:port` of a URL (the known default port when none is written).
    pub fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_owned(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The origins `gonogo serve` may send traffic to.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    origins: Vec<Origin>,
}

/// Why a target was refused: one sentence, safe to send back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the target {0}")]
    NotHttp(NotHttp),
    #[error("the target must be a base URL without a query or fragment")]
    QueryOrFragment,
    #[error("the target has no host")]
    NoHost,
    #[error("the target {origin} is not on this server's allowlist (serve.allowed_targets); gonogo serve sends traffic to listed targets only")]
    NotListed { origin: Origin },
}

/// Why `serve.allowed_targets` cannot be used: the entry (counted from 1) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowlistError {
    #[error("serve.allowed_targets entry {entry} {source}")]
    NotHttp { entry: usize, source: NotHttp },
    #[error("serve.allowed_targets entry {entry} ({host}) must be an origin alone (scheme://host:port), without a path or query")]
    NotOrigin { entry: usize, host: String },
}

/// Why a text is not an http(s) URL, as the end of a sentence about it.
/// A URL that does not parse is not echoed: it may carry a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotHttp {
    #[error("is not a URL ({0})")]
    NotAUrl(url::ParseError),
    #[error("is not an http(s) URL (its scheme is {scheme})")]
    Scheme { scheme: String },
    #[error("{host} carries credentials in the URL; give the origin alone")]
    Credentials { host: String },
    #[error("has no host")]
    NoHost,
}

fn http_url(text: &str) -> Result<Url, NotHttp> {
    let url = Url::parse(text.trim()).map_err(NotHttp::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(NotHttp::Scheme {
            scheme: url.scheme().to_owned(),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(NotHttp::Credentials {
            host: url.host_str().unwrap_or("the URL").to_owned(),
        });
    }
    if url.host_str().is_none() {
        return Err(NotHttp::NoHost);
    }
    Ok(url)
}

impl Allowlist {
    /// Parses `serve.allowed_targets`: each entry an origin such as
    /// `http://app-canary.prod.svc:8080`, without path, query or credentials.
    pub fn parse(entries: &[String]) -> Result<Allowlist, AllowlistError> {
        let mut origins = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let url = http_url(entry).map_err(|source| AllowlistError::NotHttp {
                entry: i + 1,
                source,
            })?;
            if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                return Err(AllowlistError::NotOrigin {
                    entry: i + 1,
                    host: url.host_str().unwrap_or_default().to_owned(),
                });
            }
            origins.extend(Origin::of(&url));
        }
        Ok(Allowlist { origins })
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// The listed origins, for the start-up line.
    pub fn origins(&self) -> Vec<String> {
        self.origins.iter().map(Origin::to_string).collect()
    }

    /// The target as a URL when its origin is listed.
    pub fn check(&self, target: &str) -> Result<Url, Refused> {
        let url = http_url(target).map_err(Refused::NotHttp)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Refused::QueryOrFragment);
        }
        let origin = Origin::of(&url).ok_or(Refused::NoHost)?;
        if !self.origins.contains(&origin) {
            return Err(Refused::NotListed { origin });
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Allowlist {
        Allowlist::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn a_listed_origin_passes_with_any_path_and_default_ports_compare_equal() {
        let allow = list(&["http://app-canary.prod.svc:8080", "https://API.example.com"]);
        assert!(allow.check("http://app-canary.prod.svc:8080").is_ok());
        assert!(allow.check("http://app-canary.prod.svc:8080/base/").is_ok());
        assert!(allow.check("https://api.example.com:443/").is_ok());
    }

    #[test]
    fn everything_else_is_refused_in_one_sentence() {
        let allow = list(&["http://127.0.0.1:8080"]);
        for target in [
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
            "http://localhost:8080",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1.nip.io:8080",
        ] {
            let e = allow.check(target).unwrap_err().to_string();
            assert!(
                e.contains("is not on this server's allowlist"),
                "{target}: {e}"
            );
        }
        let e = allow
            .check("http://127.0.0.1:8080@evil.example:8080")
            .unwrap_err()
            .to_string();
        assert!(e.contains("credentials"), "{e}");
        let e = allow.check("file:///etc/passwd").unwrap_err().to_string();
        assert!(e.contains("not an http(s) URL"), "{e}");
        assert!(allow.check("not a url").is_err());
    }

    #[test]
    fn numeric_spellings_of_a_listed_address_are_the_same_origin() {
        // The URL parser normalises IPv4 spellings, so these are the listed
        // address itself, not a way around the list.
        let allow = list(&["http://127.0.0.1:8080"]);
        assert!(allow.check("http://2130706433:8080/").is_ok());
        assert!(allow.check("http://0x7f.0.0.1:8080/").is_ok());
    }

    #[test]
    fn entries_must_be_origins_alone() {
        for bad in [
            "http://a:1/path",
            "ftp://a",
            "http://u:p@a:1",
            "http://a:1/?q=1",
        ] {
            assert!(Allowlist::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
