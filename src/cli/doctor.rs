//! `doctor`: prints the setup check and exits 1 when a run would not work.

use anyhow::Result;

use crate::config::Config;
use crate::doctor;
use crate::llm::connect::ConnectOptions;

/// `migagent doctor`: prints the report; exit 0 when a run would work.
pub(super) async fn cmd_doctor(
    config: &Config,
    options: &ConnectOptions,
    json: bool,
) -> Result<u8> {
    let report = doctor::diagnose(config, options).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for c in &report.checks {
            let tag = match c.verdict {
                doctor::Verdict::Ok => "ok  ",
                doctor::Verdict::Warn => "warn",
                doctor::Verdict::Fail => "FAIL",
            };
            println!("{tag} {:<11} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("     {:<11} → {fix}", "");
            }
        }
        println!();
        if report.ok() {
            println!("Ready: migagent can draft with this server.");
        } else {
            println!("Not ready: fix the FAIL lines above, then run `migagent doctor` again.");
        }
    }
    Ok(if report.ok() { 0 } else { 1 })
}
