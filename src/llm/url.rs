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

/// Where a URL's requests go, as far as a key or a redirect is concerned:
/// scheme, host and port (the scheme's default when none is written).
/// `None` for anything that is not a plain http(s) URL.
pub fn origin_of(url: &str) -> Option<(String, String, u16)> {
    let parsed = reqwest::Url::parse(url.trim()).ok()?;
    origin_of_parsed(&parsed)
}

/// [`origin_of`] for an already parsed URL (a redirect's target).
pub fn origin_of_parsed(url: &reqwest::Url) -> Option<(String, String, u16)> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some((
        url.scheme().to_string(),
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?,
    ))
}

/// Whether two URLs go to the same scheme, host and port. A key bound to a
/// host is sent only where this holds, so `http://` never gets a key meant
/// for `https://` of the same name.
pub fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin_of(a), origin_of(b)), (Some(x), Some(y)) if x == y)
}

/// `text` with the user name and password of every URL in it replaced by
/// `***`, so a password typed into `--base-url` or sent back in a
/// `Location` never reaches a message, a log or a record. Works on whole
/// messages, not only on one URL, and on text that does not parse.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends where the path, query or fragment starts, or
        // at a character that cannot be part of a URL in a message.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '\\')
                    || c.is_whitespace()
                    || c == '"'
                    || c == '\''
                    || c == '>'
                    || c == ')'
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A base URL as a refusal may show it: redacted by [`redact`], and when it
/// does not even parse (`http://u:pa/ss@h` reads as host `u`, port `pa`),
/// with everything between `://` and its last `@` hidden, since which part
/// is a password cannot be told.
pub fn redact_base_url(base_url: &str) -> String {
    let parses = reqwest::Url::parse(base_url.trim()).is_ok();
    match (parses, base_url.find("://"), base_url.rfind('@')) {
        (false, Some(start), Some(at)) if at > start => {
            format!("{}***{}", &base_url[..start + 3], &base_url[at..])
        }
        _ => redact(base_url),
    }
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

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert!(same_origin(
            "https://api.openai.com/v1",
            "https://API.openai.com:443/other"
        ));
        assert!(!same_origin(
            "https://api.openai.com/v1",
            "http://api.openai.com/v1"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8081/v1"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8080/v1",
            "http://localhost:8080/v1"
        ));
        assert!(!same_origin("not a url", "not a url"));
    }

    #[test]
    fn user_info_is_redacted_wherever_a_url_appears() {
        assert_eq!(
            redact("http://bob:hunter2@10.0.0.5:8080/v1"),
            "http://***@10.0.0.5:8080/v1"
        );
        assert_eq!(
            redact("cannot reach https://k@h/v1: error sending request for url (http://a:b@c:1/x?y=@z)"),
            "cannot reach https://***@h/v1: error sending request for url (http://***@c:1/x?y=@z)"
        );
        // A `@` after the host is not user info: the host stays visible.
        assert_eq!(
            redact("http://0.0.0.0:9?@127.0.0.1/v1"),
            "http://0.0.0.0:9?@127.0.0.1/v1"
        );
        assert_eq!(redact("http://u:p@h"), "http://***@h");
        assert_eq!(redact("no url here"), "no url here");
        assert_eq!(redact_base_url("http://u:pa/ss@h/v1"), "http://***@h/v1");
        assert_eq!(
            redact_base_url("http://u:pw@127.0.0.1:8/v1"),
            "http://***@127.0.0.1:8/v1"
        );
        assert!(!redact("'http://x:secret@h:1/v1'").contains("secret"));
    }
}
