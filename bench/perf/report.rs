//! What the bench measured, as one Markdown table on stdout and
//! `bench/results.json`: each figure with its samples, its median, its
//! baseline (measured in the same run) and the ratio of the two.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::Result;

/// What a figure counts, for showing it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ms,
    Words,
    Chars,
    /// Peak resident set size, in KiB as `getrusage` gives it.
    Kib,
    /// A share in percent.
    Percent,
    Count,
    /// Bytes written to files, in KiB.
    Written,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Words => "words",
            Unit::Chars => "chars",
            Unit::Kib => "KiB",
            Unit::Percent => "%",
            Unit::Count => "count",
            Unit::Written => "KiB written",
        }
    }

    fn show(self, v: f64) -> String {
        match self {
            Unit::Ms if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
            Unit::Ms if v >= 100.0 => format!("{v:.0} ms"),
            Unit::Ms => format!("{v:.1} ms"),
            Unit::Words => format!("{} words", thousands(v)),
            Unit::Chars => format!("{} chars", thousands(v)),
            Unit::Kib => format!("{:.1} MiB", v / 1024.0),
            Unit::Percent if v < 10.0 => format!("{v:.1} %"),
            Unit::Percent => format!("{v:.0} %"),
            Unit::Count => thousands(v),
            Unit::Written => format!("{v:.1} KiB"),
        }
    }
}

/// `v` rounded, with thousands separated by commas.
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// The median of `samples` (the mean of the middle two for an even count).
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// What a figure is compared with.
pub struct Baseline {
    pub name: String,
    pub samples: Vec<f64>,
}

/// One measured figure.
pub struct Figure {
    /// The part of the bench it belongs to ("1. Orchestration").
    pub group: &'static str,
    pub name: String,
    pub unit: Unit,
    pub samples: Vec<f64>,
    pub baseline: Option<Baseline>,
}

impl Figure {
    pub fn new(
        group: &'static str,
        name: impl Into<String>,
        unit: Unit,
        samples: Vec<f64>,
    ) -> Self {
        Figure {
            group,
            name: name.into(),
            unit,
            samples,
            baseline: None,
        }
    }

    pub fn against(mut self, name: impl Into<String>, samples: Vec<f64>) -> Self {
        self.baseline = Some(Baseline {
            name: name.into(),
            samples,
        });
        self
    }

    fn ratio(&self) -> Option<f64> {
        let b = median(&self.baseline.as_ref()?.samples);
        (b != 0.0).then(|| median(&self.samples) / b)
    }

    fn json(&self) -> Value {
        json!({
            "group": self.group,
            "figure": self.name,
            "unit": self.unit.name(),
            "samples": self.samples,
            "median": median(&self.samples),
            "baseline": self.baseline.as_ref().map(|b| json!({
                "name": b.name,
                "samples": b.samples,
                "median": median(&b.samples),
            })),
            "ratio": self.ratio(),
        })
    }
}

/// Prints the table to stdout: one header, a row per group, a row per
/// figure.
pub fn print_table(figures: &[Figure], notes: &[String], machine: &Machine) {
    println!("| figure | measured | baseline | baseline value | ratio |");
    println!("|---|---:|---|---:|---:|");
    let mut group = "";
    for f in figures {
        if f.group != group {
            group = f.group;
            println!("| **{group}** | | | | |");
        }
        let (name, value) = match &f.baseline {
            Some(b) => (b.name.as_str(), f.unit.show(median(&b.samples))),
            None => ("—", "—".to_string()),
        };
        let ratio = f.ratio().map_or("—".to_string(), |r| format!("{r:.2}×"));
        println!(
            "| {} | {} | {name} | {value} | {ratio} |",
            f.name,
            f.unit.show(median(&f.samples))
        );
    }
    println!();
    println!(
        "machine: {}, {} CPUs; commit {}; {}",
        machine.cpu, machine.cpus, machine.commit, machine.date
    );
    for n in notes {
        println!("- {n}");
    }
}

/// Where and when the figures were taken.
pub struct Machine {
    pub cpu: String,
    pub cpus: usize,
    pub commit: String,
    pub date: String,
}

impl Machine {
    pub fn here(repo: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map_or("unknown CPU".to_string(), |s| s.trim().to_string());
        let listed = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let cpus = if listed > 0 {
            listed
        } else {
            std::thread::available_parallelism().map_or(0, |n| n.get())
        };
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(repo)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = match git(&["rev-parse", "--short", "HEAD"]) {
            Some(c) => {
                // Uncommitted changes to tracked files make the figures
                // those of a tree no commit holds: say so. The results a
                // run writes are no change to what is measured.
                let dirty = git(&[
                    "status",
                    "--porcelain",
                    "--untracked-files=no",
                    "--",
                    ".",
                    ":(exclude)bench/results.json",
                ])
                .is_some_and(|s| !s.is_empty());
                if dirty {
                    format!("{c}+changes")
                } else {
                    c
                }
            }
            None => "unknown".to_string(),
        };
        Machine {
            cpu,
            cpus,
            commit,
            date: migagent::store::now_rfc3339(),
        }
    }
}

/// Writes every figure, the settings and the machine to `path`.
pub fn write_json(
    path: &Path,
    figures: &[Figure],
    notes: &[String],
    settings: Value,
    machine: &Machine,
) -> Result<()> {
    let doc = json!({
        "schema_version": 1,
        "machine": {
            "cpu": machine.cpu,
            "cpus": machine.cpus,
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
        },
        "commit": machine.commit,
        "date": machine.date,
        "settings": settings,
        "figures": figures.iter().map(Figure::json).collect::<Vec<_>>(),
        "notes": notes,
    });
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    std::fs::write(path, text)?;
    Ok(())
}
