//! Part 1, orchestration: the whole seed run, command by command, against an
//! instant fake server: each command's wall time, the run's total, the
//! peak RSS, and the prompt the server was sent against the full-history
//! layout computed from the same run. Then a step's prompt in a plan of
//! few steps and of many.

use std::path::Path;

use super::flow::{self, Sent, Step};
use super::place::Place;
use super::report::{median, Figure, Unit};
use super::support::FakeServer;
use super::{Ctx, Result};

const GROUP: &str = "1. Orchestration (instant fake server)";

/// The config of a place whose runs go to `base_url`, with `extra` lines
/// in its profile.
pub fn config(base_url: &str, extra: &str) -> String {
    format!(
        "profile = \"bench\"\n\n[profiles.bench]\nbase_url = \"{base_url}\"\nmodel = \"fake-model\"\n{extra}"
    )
}

/// One whole seed run by `bin` in a new place under `name`.
fn seed_run(ctx: &Ctx, bin: &Path, name: &str) -> Result<(Vec<Step>, Sent)> {
    let fake = ctx.rt.block_on(FakeServer::new().start());
    let place = Place::new(ctx.work.join(name))?;
    place.write_config(&config(&fake.base_url(), ""))?;
    let mut steps = vec![flow::start(&place, bin, "seed")?];
    steps.extend(flow::drive(&place, bin, "seed", |_| false)?);
    let sent = flow::sent(&fake.exchanges());
    std::fs::remove_dir_all(&place.dir)?;
    Ok((steps, sent))
}

pub fn measure(ctx: &Ctx, figures: &mut Vec<Figure>, notes: &mut Vec<String>) -> Result<()> {
    let mut bins = vec![("current", ctx.bin.clone())];
    if let Some(b) = &ctx.baseline_bin {
        bins.push(("baseline", b.clone()));
    }
    // runs[k][r]: binary k, repeat r; the binaries take turns.
    let mut runs: Vec<Vec<(Vec<Step>, Sent)>> = bins.iter().map(|_| Vec::new()).collect();
    for r in 0..ctx.repeats {
        for (k, (which, bin)) in bins.iter().enumerate() {
            eprintln!(
                "orchestration: seed run {}/{} ({which}) ...",
                r + 1,
                ctx.repeats
            );
            runs[k].push(seed_run(ctx, bin, &format!("seed-{which}-{r}"))?);
        }
    }
    let labels =
        |k: usize| -> Vec<String> { runs[k][0].0.iter().map(|s| s.label.clone()).collect() };
    let current = labels(0);
    for (r, (steps, _)) in runs[0].iter().enumerate() {
        let these: Vec<String> = steps.iter().map(|s| s.label.clone()).collect();
        if these != current {
            return Err(format!(
                "seed run {} took other commands than the first:\n{these:?}\n{current:?}",
                r + 1
            )
            .into());
        }
    }
    let baseline = (runs.len() > 1).then(|| labels(1));
    if let Some(b) = &baseline {
        if *b != current {
            notes.push(format!(
                "the baseline binary took other commands ({}) than the current one ({}); per-command ratios are given where the command at the same place has the same label",
                b.len(),
                current.len()
            ));
        }
    }
    let column = |k: usize, f: &dyn Fn(&[Step]) -> f64| -> Vec<f64> {
        runs[k].iter().map(|(steps, _)| f(steps)).collect()
    };
    for (i, label) in current.iter().enumerate() {
        let mut fig = Figure::new(
            GROUP,
            format!("{:02}. `{label}`", i + 1),
            Unit::Ms,
            column(0, &|s| s[i].m.ms()),
        );
        if baseline.as_ref().and_then(|b| b.get(i)) == Some(label) {
            fig = fig.against("same command, baseline binary", column(1, &|s| s[i].m.ms()));
        }
        figures.push(fig);
    }
    // Each command's peak RSS against the baseline binary's.
    if let Some(b) = &baseline {
        for (i, label) in current.iter().enumerate() {
            if b.get(i) == Some(label) {
                figures.push(
                    Figure::new(
                        GROUP,
                        format!("{:02}. `{label}`, peak RSS", i + 1),
                        Unit::Kib,
                        column(0, &|s| s[i].m.rss_kib as f64),
                    )
                    .against(
                        "same command, baseline binary",
                        column(1, &|s| s[i].m.rss_kib as f64),
                    ),
                );
            }
        }
    }
    let total = |s: &[Step]| s.iter().map(|x| x.m.ms()).sum::<f64>();
    let peak = |s: &[Step]| s.iter().map(|x| x.m.rss_kib).max().unwrap_or(0) as f64;
    let mut fig = Figure::new(
        GROUP,
        format!(
            "whole seed run: {} commands, sum of their wall times",
            current.len()
        ),
        Unit::Ms,
        column(0, &total),
    );
    let mut rss = Figure::new(
        GROUP,
        "peak RSS, largest of any command",
        Unit::Kib,
        column(0, &peak),
    );
    if baseline.is_some() {
        fig = fig.against("baseline binary", column(1, &total));
        rss = rss.against("baseline binary", column(1, &peak));
    }
    figures.push(fig);
    figures.push(rss);

    let sent = |k: usize, f: &dyn Fn(&Sent) -> usize| -> Vec<f64> {
        runs[k].iter().map(|(_, s)| f(s) as f64).collect()
    };
    let requests = median(&sent(0, &|s| s.requests));
    let mut words = Figure::new(
        GROUP,
        format!("prompt words sent, whole run ({requests:.0} requests, probes left out)"),
        Unit::Words,
        sent(0, &|s| s.prompts.words),
    )
    .against(
        "full-history layout of the same run",
        sent(0, &|s| s.full_history.words),
    );
    let mut chars = Figure::new(
        GROUP,
        "prompt characters sent, whole run",
        Unit::Chars,
        sent(0, &|s| s.prompts.chars),
    )
    .against(
        "full-history layout of the same run",
        sent(0, &|s| s.full_history.chars),
    );
    figures.push(words);
    figures.push(chars);
    if baseline.is_some() {
        words = Figure::new(
            GROUP,
            "prompt words sent, whole run",
            Unit::Words,
            sent(0, &|s| s.prompts.words),
        )
        .against("baseline binary", sent(1, &|s| s.prompts.words));
        chars = Figure::new(
            GROUP,
            "prompt characters sent, whole run",
            Unit::Chars,
            sent(0, &|s| s.prompts.chars),
        )
        .against("baseline binary", sent(1, &|s| s.prompts.chars));
        figures.push(words);
        figures.push(chars);
    }
    step_growth(ctx, figures)
}

/// A plan in the template's format (`### Step N: Name` blocks with their
/// five fields) of `n` steps.
pub fn plan(n: usize) -> String {
    let mut text = String::from(
        "## Pre-Migration Checklist\n- [ ] A fresh base backup of the orders database exists\n- [ ] The PostgreSQL 16 replica is in sync\n\n## Steps\n",
    );
    for i in 1..=n {
        text.push_str(&format!(
            "\n### Step {i}: Move table group {i} to the new primary\n\
             - **Action:** Copy table group {i} with logical replication and switch its readers\n\
             - **Pre-condition:** Group {} is verified and replication lag is under 5 seconds\n\
             - **Verification:** Row counts and checksums of group {i} match on both sides\n\
             - **Rollback:** Point group {i}'s readers back at the old primary\n\
             - **Duration estimate:** {} minutes\n",
            i.saturating_sub(1),
            5 + i % 7
        ));
    }
    text.push_str(
        "\n## Point of No Return\nNone — fully reversible\n\n## Monitoring Plan\n- Replication lag\n- Error rate of the orders API\n\n## Communication Plan\n- **Before:** notify the orders team\n- **During:** update #ops every 15 minutes\n- **After:** confirm to the orders team\n",
    );
    text
}

/// The prompt of the first two step requests (MIG-4.1, MIG-4.2) with a
/// plan of few steps and one of many: the issue asks that a step's prompt
/// not grow with the number of steps.
fn step_growth(ctx: &Ctx, figures: &mut Vec<Figure>) -> Result<()> {
    let mut sizes = Vec::new();
    for n in [ctx.steps_small, ctx.steps_big] {
        eprintln!("orchestration: a plan of {n} steps, to the second step's draft ...");
        let fake = ctx
            .rt
            .block_on(FakeServer::new().answer("MIG-3", &plan(n)).start());
        let place = Place::new(ctx.work.join(format!("steps-{n}")))?;
        place.write_config(&config(&fake.base_url(), ""))?;
        flow::start(&place, &ctx.bin, "steps")?;
        flow::drive(&place, &ctx.bin, "steps", |st| {
            flow::pending(st) == "MIG-4.2"
        })?;
        let exchanges = fake.exchanges();
        let of = |id: &str| {
            flow::draft_prompt(&exchanges, id)
                .ok_or_else(|| format!("no request drafted {id} in the plan of {n} steps"))
        };
        sizes.push((of("MIG-4.1")?, of("MIG-4.2")?));
        std::fs::remove_dir_all(&place.dir)?;
    }
    let (small, big) = (ctx.steps_small, ctx.steps_big);
    let row = |name: String, unit: Unit, f: &dyn Fn(usize) -> usize| {
        Figure::new(GROUP, name, unit, vec![f(1) as f64])
            .against(format!("same, plan of {small} steps"), vec![f(0) as f64])
    };
    figures.push(row(
        format!("prompt of step request MIG-4.1, plan of {big} steps"),
        Unit::Words,
        &|k| sizes[k].0.words,
    ));
    figures.push(row(
        format!("prompt of step request MIG-4.2, plan of {big} steps"),
        Unit::Words,
        &|k| sizes[k].1.words,
    ));
    figures.push(row(
        format!("prompt of step request MIG-4.2, plan of {big} steps"),
        Unit::Chars,
        &|k| sizes[k].1.chars,
    ));
    Ok(())
}
