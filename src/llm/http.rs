//! The HTTP clients every request to a model server goes through, built in
//! one place so that the offline rule holds for all of them: the models
//! list, the server probes, the structured-output probe, doctor and the
//! drafts themselves.
//!
//! Offline, no redirect is followed (a `Location` could point anywhere,
//! and a 307 would resend the whole prompt there), no proxy is used, and
//! host names are looked up only when they are `localhost` (answered here,
//! without a query) or listed in `offline_allowed_hosts`. Online, a redirect
//! is followed only to the same scheme, host and port, so a key never goes
//! to a host it was not meant for.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Attempt, Policy};

use super::url::{is_loopback, origin_of, origin_of_parsed, redact};
use super::ModelError;

/// Whether requests may leave the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Network {
    /// Anywhere the base URL says; redirects only within its origin.
    #[default]
    Online,
    /// Loopback and the hosts listed here (`offline_allowed_hosts`) only;
    /// no redirect, no proxy, no lookup of any other name.
    Offline { allowed_hosts: Vec<String> },
}

impl Network {
    pub fn offline(allowed_hosts: &[String]) -> Network {
        Network::Offline {
            allowed_hosts: allowed_hosts.to_vec(),
        }
    }

    pub fn is_offline(&self) -> bool {
        matches!(self, Network::Offline { .. })
    }
}

/// Redirects followed online before giving up: enough for a server moved
/// behind a path prefix, few enough that a loop ends quickly.
const MAX_REDIRECTS: usize = 5;

/// What makes one client differ from another: requests to the same origin
/// under the same rules and connect timeout can share a client (and its
/// connections, and the CA certificates it loaded once).
#[derive(PartialEq)]
struct ClientKey {
    origin: (String, String, u16),
    network: Network,
    connect_timeout: Duration,
}

/// The clients built so far in this process. A command talks to one or two
/// servers, so a short list is all it holds.
static CLIENTS: Mutex<Vec<(ClientKey, reqwest::Client)>> = Mutex::new(Vec::new());

/// An HTTP client for `base_url` under `network`'s rules, shared by every
/// request of this process to the same origin under the same rules: the
/// redirect policy and the offline resolver depend only on `network` (a
/// redirect is judged against each request's own first URL), and the proxy
/// choice only on the origin. A whole-request bound is set per request
/// (`RequestBuilder::timeout`) by the small GET requests; drafting requests
/// enforce their idle and overall deadlines themselves.
pub fn client(
    base_url: &str,
    network: &Network,
    connect_timeout: Duration,
) -> Result<reqwest::Client, ModelError> {
    let Some(origin) = origin_of(base_url) else {
        // Not a plain http(s) URL: no origin to share by, and every request
        // to it fails anyway.
        return build(base_url, network, connect_timeout);
    };
    let key = ClientKey {
        origin,
        network: network.clone(),
        connect_timeout,
    };
    // A poisoned list only means a thread panicked while pushing to it:
    // the clients in it are whole.
    let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, c)) = clients.iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let built = build(base_url, network, connect_timeout)?;
    clients.push((key, built.clone()));
    Ok(built)
}

/// A new client under `network`'s rules; see [`client`].
fn build(
    base_url: &str,
    network: &Network,
    connect_timeout: Duration,
) -> Result<reqwest::Client, ModelError> {
    let builder = reqwest::Client::builder().connect_timeout(connect_timeout);
    let builder = match network {
        Network::Offline { allowed_hosts } => builder
            .redirect(Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(OfflineResolver {
                allowed_hosts: allowed_hosts.iter().map(|h| bare_host(h)).collect(),
            })),
        Network::Online => {
            let builder = builder.redirect(Policy::custom(same_origin_only));
            // A local server is reached directly, never through a proxy
            // configured for the internet.
            if is_loopback(base_url) {
                builder.no_proxy()
            } else {
                builder
            }
        }
    };
    builder.build().map_err(|e| ModelError::Unreachable {
        base_url: redact(base_url),
        message: format!("cannot set up an HTTP client: {e}"),
    })
}

/// The online redirect rule: follow only to the origin of the first
/// request, never to a URL that carries a user name or password, and at
/// most [`MAX_REDIRECTS`] times. A redirect not followed comes back as the
/// 3xx answer itself, which [`redirect_refusal`] turns into an error.
fn same_origin_only(attempt: Attempt) -> reqwest::redirect::Action {
    let first = attempt.previous().first().and_then(origin_of_parsed);
    let next = attempt.url();
    let same = first.is_some() && first == origin_of_parsed(next);
    let credentials = !next.username().is_empty() || next.password().is_some();
    if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
    } else if same && !credentials {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

/// An error for a 3xx answer, which reaches the caller only when it was not
/// followed; `None` for any other answer.
pub fn redirect_refusal(
    base_url: &str,
    network: &Network,
    answer: &reqwest::Response,
) -> Option<ModelError> {
    let status = answer.status();
    if !status.is_redirection() {
        return None;
    }
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let location = match location {
        Some(l) => {
            // Say where, fully resolved against the request URL, but never
            // a password, and never a page of text.
            let resolved = answer
                .url()
                .join(l.trim())
                .map_or_else(|_| l.clone(), |u| u.to_string());
            let shown: String = redact(&resolved).chars().take(300).collect();
            shown
        }
        None => "(no Location given)".to_string(),
    };
    Some(ModelError::Redirected {
        base_url: redact(base_url),
        status: status.as_u16(),
        location,
        offline: network.is_offline(),
    })
}

/// Reads an answer's body, at most `max` bytes of it; says whether more
/// was sent. The body of a server error or a models list is never read
/// whole just because the server keeps sending.
pub async fn read_bounded(
    answer: &mut reqwest::Response,
    max: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        let room = max - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// An error with its causes, one line: reqwest's own message ("error
/// sending request") hides the reason in its sources.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn bare_host(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Name lookups in offline mode: `localhost` is answered here, names in
/// `offline_allowed_hosts` go to the system resolver, anything else is
/// refused without a query. IP literals never reach a resolver.
struct OfflineResolver {
    allowed_hosts: Vec<String>,
}

impl Resolve for OfflineResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = bare_host(name.as_str());
        let allowed = self.allowed_hosts.contains(&host);
        Box::pin(async move {
            if host == "localhost" {
                let addrs: Addrs = Box::new(
                    [
                        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                        SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
                    ]
                    .into_iter(),
                );
                return Ok(addrs);
            }
            if !allowed {
                return Err(format!(
                    "offline mode does not look up '{host}': only loopback and offline_allowed_hosts may be reached"
                )
                .into());
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(resolver: &OfflineResolver, name: &str) -> Result<Vec<SocketAddr>, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            resolver
                .resolve(name.parse().unwrap())
                .await
                .map(|a| a.collect())
                .map_err(|e| e.to_string())
        })
    }

    #[test]
    fn offline_lookups_answer_localhost_and_refuse_other_names() {
        let resolver = OfflineResolver {
            allowed_hosts: vec![bare_host("GPU-box.internal.")],
        };
        let local = resolve(&resolver, "LOCALHOST").unwrap();
        assert!(local.iter().all(|a| a.ip().is_loopback()), "{local:?}");
        let err = resolve(&resolver, "evil.example").unwrap_err();
        assert!(
            err.contains("evil.example") && err.contains("offline_allowed_hosts"),
            "{err}"
        );
        assert!(resolve(&resolver, "localhost.evil.example").is_err());
    }

    /// A raw HTTP listener: answers `/start` with a 307 to `location` and
    /// anything else with 200; keeps every request head it got.
    async fn redirecting(location: Option<String>) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                seen.lock().unwrap().push(head.clone());
                let answer = match (&location, head.starts_with("get /start")) {
                    (Some(to), true) => format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    ),
                    _ => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_string(),
                };
                let _ = s.write_all(answer.as_bytes()).await;
            }
        });
        (port, heads)
    }

    #[test]
    fn redirects_stay_on_the_origin_online_and_are_never_followed_offline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (other, other_heads) = redirecting(None).await;
            let (away, _) = redirecting(Some(format!("http://127.0.0.1:{other}/x"))).await;
            let url = format!("http://127.0.0.1:{away}/start");
            for network in [Network::Online, Network::offline(&[])] {
                let http = client(&url, &network, Duration::from_secs(5)).unwrap();
                let answer = http.get(&url).bearer_auth("sk-k").send().await.unwrap();
                assert_eq!(answer.status().as_u16(), 307, "{network:?}");
                let err = redirect_refusal(&url, &network, &answer)
                    .unwrap()
                    .to_string();
                assert!(err.contains(&format!("127.0.0.1:{other}/x")), "{err}");
            }
            assert!(
                other_heads.lock().unwrap().is_empty(),
                "another origin was contacted"
            );

            // Same origin: followed online, with the key; not offline.
            let (port, heads) = redirecting(Some("/moved".to_string())).await;
            let url = format!("http://127.0.0.1:{port}/start");
            let online = client(&url, &Network::Online, Duration::from_secs(5)).unwrap();
            let answer = online.get(&url).bearer_auth("sk-k").send().await.unwrap();
            assert_eq!(answer.status().as_u16(), 200);
            let seen = heads.lock().unwrap().clone();
            assert!(
                seen.len() == 2 && seen[1].starts_with("get /moved"),
                "{seen:?}"
            );
            assert!(seen[1].contains("authorization: bearer sk-k"), "{seen:?}");
            let offline = client(&url, &Network::offline(&[]), Duration::from_secs(5)).unwrap();
            let answer = offline.get(&url).send().await.unwrap();
            assert_eq!(answer.status().as_u16(), 307);
        });
    }

    #[test]
    fn clients_are_shared_only_under_the_same_origin_rules_and_timeout() {
        let url = "http://share-test.invalid:4242/v1";
        let entries = || {
            let clients = CLIENTS.lock().unwrap();
            clients
                .iter()
                .filter(|(k, _)| k.origin.1 == "share-test.invalid")
                .count()
        };
        let five = Duration::from_secs(5);
        client(url, &Network::Online, five).unwrap();
        client(&format!("{url}/other/path"), &Network::Online, five).unwrap();
        assert_eq!(entries(), 1, "one client for one origin");
        client(url, &Network::offline(&[]), five).unwrap();
        client(url, &Network::offline(&["gpu".into()]), five).unwrap();
        client(url, &Network::Online, Duration::from_secs(6)).unwrap();
        client("https://share-test.invalid:4242/v1", &Network::Online, five).unwrap();
        assert_eq!(entries(), 5, "each rule, timeout and origin its own");
    }

    #[test]
    fn bounded_reads_stop_at_the_limit() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let body = "x".repeat(5000);
                let _ = s
                    .write_all(
                        format!("HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n{body}").as_bytes(),
                    )
                    .await;
            });
            let url = format!("http://127.0.0.1:{port}/v1");
            let http = client(&url, &Network::Online, Duration::from_secs(5)).unwrap();
            let mut answer = http.get(&url).send().await.unwrap();
            let (body, more) = read_bounded(&mut answer, 100).await.unwrap();
            assert_eq!(body.len(), 100);
            assert!(more);
        });
    }
}
