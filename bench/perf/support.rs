//! The test suite's fake OpenAI server, its request readers and its
//! child-process helpers, reused as they are (not every part is used here).

#[path = "../../tests/support/child.rs"]
pub mod child;
#[path = "../../tests/support/fake_server.rs"]
pub mod fake_server;
#[path = "../../tests/support/requests.rs"]
pub mod requests;

pub use fake_server::FakeServer;
