//! `report`: one document about a run (see `crate::report`), in Markdown,
//! HTML or JSON, on stdout or written atomically to a file outside the run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::runs::open_read_only;
use super::{Ctx, ReportArgs, ReportFormat};
use crate::report::Report;

pub(super) fn cmd_report(ctx: &Ctx, args: &ReportArgs) -> Result<u8> {
    let engine = open_read_only(ctx, &args.run)?;
    let dir = engine.run_dir().to_path_buf();
    // Checked before the report is built, so a refused file costs nothing.
    let target = match &args.output {
        Some(path) => Some(output_path(&ctx.cwd, path, &dir)?),
        None => None,
    };
    let events = ctx.store.open_read_only(&args.run)?.read_journal()?;
    let report = Report::build(&dir, engine.state(), engine.workflow(), &events)?;
    let text = match args.format {
        ReportFormat::Md => report.to_markdown(),
        ReportFormat::Html => report.to_html(),
        ReportFormat::Json => super::json::json_document(&report)?,
    };
    match target {
        None => crate::out!("{text}"),
        Some(path) => {
            crate::store::write_atomic(&path, text.as_bytes())
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
            crate::errln!("Wrote the report of run {} to {}", args.run, path.display());
        }
    }
    Ok(0)
}

/// Where `-o FILE` writes: an absolute path in a folder that exists, and
/// never inside the run's own folder, whose files are its record.
fn output_path(cwd: &Path, path: &Path, run_dir: &Path) -> Result<PathBuf> {
    let path = cwd.join(path);
    let Some(name) = path.file_name() else {
        bail!("-o {}: name a file, not a folder", path.display());
    };
    let parent = path.parent().unwrap_or(cwd);
    let parent = parent.canonicalize().with_context(|| {
        format!(
            "-o {}: its folder {} does not exist; create it first",
            path.display(),
            parent.display()
        )
    })?;
    let target = parent.join(name);
    if target.is_dir() {
        bail!("-o {}: is a folder; name a file", target.display());
    }
    let run_dir = run_dir
        .canonicalize()
        .with_context(|| format!("cannot read the run folder {}", run_dir.display()))?;
    if target.starts_with(&run_dir) {
        bail!(
            "-o {}: is inside the run's folder {}, whose files are its record; write the report elsewhere",
            target.display(),
            run_dir.display()
        );
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_goes_anywhere_but_into_the_run() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("runs/r1");
        std::fs::create_dir_all(run.join("artifacts")).unwrap();
        let ok = output_path(root.path(), Path::new("report.html"), &run).unwrap();
        assert_eq!(ok, root.path().canonicalize().unwrap().join("report.html"));
        for inside in [
            "runs/r1/run.json",
            "runs/r1/artifacts/MIG-1.md",
            "runs/r1/../r1/x.md",
        ] {
            let err = output_path(root.path(), Path::new(inside), &run).unwrap_err();
            assert!(
                err.to_string().contains("inside the run"),
                "{inside}: {err}"
            );
        }
        let err = output_path(root.path(), Path::new("nowhere/r.md"), &run).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = output_path(root.path(), Path::new("runs"), &run).unwrap_err();
        assert!(err.to_string().contains("is a folder"), "{err}");
    }
}
