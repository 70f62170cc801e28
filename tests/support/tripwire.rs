//! The offline tripwire: a listener that counts the connections that reach it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A listener on every interface that counts the connections it accepts and
/// answers each with an HTTP 500. `http://0.0.0.0:PORT/v1` is not loopback
/// by migagent's offline rule, yet a connection to it lands here, so a
/// request that slipped past an offline refusal is counted.
pub struct Tripwire {
    ip: String,
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Tripwire {
    pub fn start() -> Tripwire {
        Tripwire::start_on("0.0.0.0")
    }

    /// A tripwire on one address only, e.g. one added to `lo` inside a
    /// network namespace.
    pub fn start_on(ip: &str) -> Tripwire {
        use std::io::{Read, Write};
        let listener =
            std::net::TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}:0: {e}"));
        let port = listener.local_addr().expect("local addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(200)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        Tripwire {
            ip: ip.to_string(),
            port,
            connections,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A base URL that is not loopback by migagent's rule but reaches this
    /// listener.
    pub fn url(&self) -> String {
        format!("{}/v1", self.origin())
    }

    /// `http://IP:PORT` of the listener, for a redirect's `Location`.
    pub fn origin(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// Connections accepted so far, after giving the accept thread a moment.
    pub fn connections(&self) -> usize {
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.connections.load(Ordering::SeqCst)
    }
}
