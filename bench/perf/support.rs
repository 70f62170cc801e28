//! The test suite's fake OpenAI server and its request readers, reused as
//! they are (not every part is used here).

#[path = "../../tests/support/fake_server.rs"]
pub mod fake_server;
#[path = "../../tests/support/requests.rs"]
pub mod requests;

pub use fake_server::FakeServer;
