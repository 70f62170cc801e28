//! Base URLs: which host a request really goes to, and which URLs are
//! refused because they could hide where requests go.

/// The host a request to this base URL connects to, parsed the way the HTTP
/// client parses it (so `http://a?@b/` is host `a`), with IPv6 literals in
/// brackets. `None` for anything that is not a plain http(s) URL.
pub fn host_of(base_url: &str) -> Option<String> {
    let url = reqwest::Url::parse(base_url.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.host_str().map(str::to_ascii_lowercase)
}

/// Why a base URL cannot be used, if it cannot: a base URL is a scheme, a
/// host, a port and a path, nothing that would hide where requests go.
pub fn base_url_problem(base_url: &str) -> Option<&'static str> {
    let Ok(url) = reqwest::Url::parse(base_url.trim()) else {
        return Some("it is not a URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some("it must start with http:// or https://");
    }
    if url.host().is_none() {
        return Some("it names no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("it must not carry a user name or password (the key comes from api_key_env)");
    }
    if url.query().is_some() || url.fragment().is_some() || base_url.contains('\\') {
        return Some("it must not contain '?', '#' or '\\'");
    }
    None
}

pub fn is_openai_host(base_url: &str) -> bool {
    host_of(base_url).as_deref() == Some("api.openai.com")
}

/// Whether a base URL points at this machine.
pub fn is_loopback(base_url: &str) -> bool {
    if base_url_problem(base_url).is_some() {
        return false;
    }
    match host_of(base_url).as_deref() {
        Some("localhost") | Some("[::1]") => true,
        Some(host) => host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_base_urls() {
        assert!(is_loopback("http://127.0.0.1:8080/v1"));
        assert!(is_loopback("http://127.8.9.10/v1"));
        assert!(is_loopback("http://localhost:11434/v1"));
        assert!(is_loopback("http://[::1]:8000/v1"));
        assert!(!is_loopback("http://10.0.0.5:8080/v1"));
        assert!(!is_loopback("http://127.0.0.1.evil.example/v1"));
        assert!(!is_loopback("http://localhost@evil.example/v1"));
        assert!(!is_loopback("http://0.0.0.0:9?@127.0.0.1/v1"));
        assert!(!is_loopback("http://0.0.0.0:9#@127.0.0.1/v1"));
        assert!(!is_loopback("http://0.0.0.0:9\\@127.0.0.1/v1"));
        assert!(is_loopback("http://LOCALHOST:8080/v1"));
        assert_eq!(
            host_of("http://0.0.0.0:9?@127.0.0.1/v1").as_deref(),
            Some("0.0.0.0")
        );
        assert_eq!(host_of("http://[::1]:8000/v1").as_deref(), Some("[::1]"));
        assert!(base_url_problem("http://user:pw@host/v1").is_some());
        assert!(base_url_problem("ftp://host/v1").is_some());
        assert!(base_url_problem("http://127.0.0.1:8080/v1").is_none());
        assert!(is_openai_host("https://api.openai.com/v1"));
        assert!(!is_openai_host("https://api.openai.com.example/v1"));
    }
}
