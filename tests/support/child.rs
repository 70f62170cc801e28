//! What the test suite's runner and the benchmark's both do to a child
//! process: keep variables that would change its behaviour out of its
//! environment, and read its piped output while it runs.

use std::io::Read;
use std::process::Child;
use std::thread::JoinHandle;

/// Variables that change what the binary does besides its own settings:
/// the log level, and proxies (so a connection, or its absence, is to the
/// URL under test and nothing else).
pub const UNRELATED_ENV: &[&str] = &[
    "RUST_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// Threads reading `child`'s piped stdout and stderr to their ends, as
/// text; a pipe not piped reads as empty.
pub fn drain(child: &mut Child) -> (JoinHandle<String>, JoinHandle<String>) {
    fn read_all(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    }
    (read_all(child.stdout.take()), read_all(child.stderr.take()))
}
