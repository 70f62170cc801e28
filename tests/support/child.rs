//! Reading a child's piped stdout and stderr while it runs, so that
//! neither pipe fills and blocks it: the test suite's runner and the
//! benchmark's both need it.

use std::io::Read;
use std::process::Child;
use std::thread::JoinHandle;

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
