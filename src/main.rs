//! The `migagent` binary: everything lives in the library crate.

fn main() -> std::process::ExitCode {
    migagent::cli::main()
}
