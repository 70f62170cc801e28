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
        super::json::print_json(&report)?;
    } else {
        for c in &report.checks {
            let tag = match c.verdict {
                doctor::Verdict::Ok => "ok  ",
                doctor::Verdict::Warn => "warn",
                doctor::Verdict::Fail => "FAIL",
            };
            crate::outln!("{tag} {:<11} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                crate::outln!("     {:<11} → {fix}", "");
            }
        }
        crate::outln!();
        if report.ok() {
            crate::outln!("Ready: migagent can draft with this server.");
        } else {
            crate::outln!("Not ready: fix the FAIL lines above, then run `migagent doctor` again.");
        }
    }
    Ok(if report.ok() { 0 } else { 1 })
}
