//! The test suite's fake OpenAI server, its request readers and its pipe
//! reader, reused as they are (not every part is used here).

#[path = "../../tests/support/fake_server.rs"]
pub mod fake_server;
#[path = "../../tests/support/pipes.rs"]
pub mod pipes;
#[path = "../../tests/support/requests.rs"]
pub mod requests;

pub use fake_server::FakeServer;
