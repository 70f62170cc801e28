//! `workflows list|show|validate|schema`: what a workflow is made of,
//! checked before any model call.

use anyhow::{bail, Result};

use super::{library_search, load_workflow, Ctx, LibraryArgs, WorkflowsCommand};
use crate::artifact_schema::{ArtifactSchema, Bounds, SchemaError};
use crate::library::references::{describe, resolve_references, Reference};
use crate::library::validate::{self, LoadError};
use crate::library::Library;
use crate::prompt::PromptAssembler;
use crate::workflow::input::same_label;
use crate::workflow::{self, Diagnostic, InputKind, Workflow};

/// Each artifact's template compiled to a schema; a per-step template is
/// shown as for a step named by its placeholder.
fn artifact_schemas(
    workflow: &Workflow,
    bounds: &Bounds,
) -> Vec<(String, Result<ArtifactSchema, SchemaError>)> {
    workflow
        .phases
        .iter()
        .filter_map(|p| p.output.as_ref())
        .map(|o| {
            (
                o.id.clone(),
                ArtifactSchema::compile(&o.representative_template(), bounds),
            )
        })
        .collect()
}

/// A diagnostic for JSON, its file absolute.
fn diagnostic_json(ctx: &Ctx, d: &Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "file": ctx.cwd.join(&d.file).display().to_string(),
        "line": d.line,
        "severity": if d.is_error() { "error" } else { "warning" },
        "message": d.message,
    })
}

/// `workflows validate --json`: `ok`, the workflow's name and artifacts,
/// and every problem with its file, line and severity; exit 1 when any is
/// an error.
fn validate_json(ctx: &Ctx, file: &str, library: &LibraryArgs) -> Result<u8> {
    let (ok, workflow, diagnostics) = match validate::load(file, library_search(ctx, library)?) {
        Ok(loaded) => {
            let mut diagnostics: Vec<_> = loaded
                .warnings
                .iter()
                .map(|d| diagnostic_json(ctx, d))
                .collect();
            let assembler = PromptAssembler::load(&loaded.library);
            if let Err(e) = &assembler {
                diagnostics.push(serde_json::json!({
                    "file": null, "line": null, "severity": "error", "message": e.to_string(),
                }));
            }
            let w = &loaded.workflow;
            let workflow = serde_json::json!({
                "name": w.name,
                "file": ctx.cwd.join(&w.source).display().to_string(),
                "phases": w.phases.len(),
                "artifacts": w.phases.iter().filter_map(|p| p.artifact_id()).collect::<Vec<_>>(),
            });
            (assembler.is_ok(), Some(workflow), diagnostics)
        }
        Err(LoadError::Invalid(errors)) => (
            false,
            None,
            errors
                .diagnostics
                .iter()
                .map(|d| diagnostic_json(ctx, d))
                .collect(),
        ),
        Err(e) => return Err(e.into()),
    };
    super::json::print_json(&serde_json::json!({
        "ok": ok,
        "workflow": workflow,
        "diagnostics": diagnostics,
    }))?;
    Ok(if ok { 0 } else { 1 })
}

pub(super) fn cmd_workflows(ctx: &Ctx, cmd: WorkflowsCommand) -> Result<u8> {
    match cmd {
        WorkflowsCommand::List { library, json } => {
            let library = library_search(ctx, &library)?.build();
            let mut listed = Vec::new();
            for (name, origin) in library.workflows() {
                let title = library
                    .find_workflow(&name)
                    .ok()
                    .and_then(|f| {
                        workflow::parse_lenient(&f.text, &origin.as_path())
                            .0
                            .name
                            .into()
                    })
                    .unwrap_or_default();
                if !json {
                    crate::outln!("{name:<24} {title:<24} {origin}");
                }
                listed.push(serde_json::json!({
                    "name": name,
                    "title": title,
                    "origin": super::workflow_json::origin_text(&ctx.cwd, &origin),
                }));
            }
            if json {
                super::json::print_json_under("workflows", &listed)?;
            }
            Ok(0)
        }
        WorkflowsCommand::Validate {
            file,
            library,
            json: true,
        } => validate_json(ctx, &file, &library),
        WorkflowsCommand::Validate {
            file,
            library,
            json: false,
        } => match validate::load(&file, library_search(ctx, &library)?) {
            Ok(loaded) => {
                if let Err(e) = PromptAssembler::load(&loaded.library) {
                    crate::outln!("{e}");
                    return Ok(1);
                }
                for warning in &loaded.warnings {
                    crate::outln!("{warning}");
                }
                let w = &loaded.workflow;
                crate::outln!(
                    "{}: ok: workflow '{}', {} phases, artifacts {}",
                    w.source.display(),
                    w.name,
                    w.phases.len(),
                    w.phases
                        .iter()
                        .filter_map(|p| p.artifact_id())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for (id, schema) in artifact_schemas(w, &Bounds::default()) {
                    match schema {
                        Ok(schema) => {
                            let enums: Vec<String> = schema
                                .choices()
                                .iter()
                                .map(|(path, values)| format!("{path} ({})", values.join(" / ")))
                                .collect();
                            let n = schema.sections().len();
                            crate::outln!(
                                "  [{id}] JSON schema: {n} section{}{}",
                                if n == 1 { "" } else { "s" },
                                if enums.is_empty() {
                                    String::new()
                                } else {
                                    format!("; choices: {}", enums.join(", "))
                                }
                            );
                        }
                        Err(e) => crate::outln!(
                            "  [{id}] no JSON schema ({e}); drafted as Markdown with a section check"
                        ),
                    }
                }
                Ok(0)
            }
            Err(LoadError::Invalid(errors)) => {
                for d in &errors.diagnostics {
                    crate::outln!("{d}");
                }
                let n = errors.diagnostics.iter().filter(|d| d.is_error()).count();
                crate::errln!("{} problem{} found.", n, if n == 1 { "" } else { "s" });
                Ok(1)
            }
            Err(e) => Err(e.into()),
        },
        WorkflowsCommand::Schema {
            name,
            artifact,
            profile,
            library,
        } => {
            let loaded = load_workflow(ctx, &name, &library)?;
            let profile = ctx
                .config
                .profile(profile.as_deref().unwrap_or(&ctx.config.profile))?;
            let mut out = serde_json::Map::new();
            for (id, schema) in artifact_schemas(&loaded.workflow, &profile.bounds()) {
                if artifact.as_ref().is_some_and(|a| a != &id) {
                    continue;
                }
                let value = match schema {
                    Ok(s) => s.json_schema(),
                    Err(e) => serde_json::json!({"error": e.to_string()}),
                };
                out.insert(id, value);
            }
            if let (Some(a), true) = (&artifact, out.is_empty()) {
                bail!("workflow '{}' has no artifact '{a}'", loaded.workflow.name);
            }
            super::json::print_json_under("schemas", &out)?;
            Ok(0)
        }
        WorkflowsCommand::Show {
            name,
            library,
            json,
        } => {
            let loaded = load_workflow(ctx, &name, &library)?;
            if json {
                let doc = super::workflow_json::workflow_json(
                    &ctx.cwd,
                    &loaded.workflow,
                    &loaded.library,
                );
                super::json::print_json(&doc)?;
            } else {
                print_workflow(&loaded.workflow, &loaded.library);
            }
            Ok(0)
        }
    }
}

fn print_workflow(w: &Workflow, library: &Library) {
    crate::outln!("Workflow: {}", w.name);
    crate::outln!("Source:   {}", w.source.display());
    crate::outln!("Library roots, first hit wins:");
    let mut n = 0;
    for (root, kind) in library.described_roots() {
        n += 1;
        crate::outln!("  {n}. {} ({kind})", root.display());
    }
    crate::outln!("  {}. migagent's built-in files", n + 1);
    let (references, _) = resolve_references(w, library);
    if !w.description.is_empty() {
        crate::outln!();
        // The first paragraph, however the author wrapped it.
        let first: Vec<&str> = w
            .description
            .lines()
            .map(str::trim)
            .take_while(|l| !l.is_empty())
            .collect();
        crate::outln!("{}", first.join(" "));
    }
    for phase in &w.phases {
        crate::outln!();
        let gate = match &phase.gate {
            None => "no gate".to_string(),
            Some(g) if g.per_step => "per-step GATE".to_string(),
            Some(_) => "GATE".to_string(),
        };
        crate::outln!(
            "Phase {}: {} → [{}] {} ({gate})",
            phase.number,
            phase.name,
            phase.artifact_id().unwrap_or("?"),
            phase.output.as_ref().map_or("", |o| o.title.as_str())
        );
        for r in references.iter().filter(|r| r.phase == phase.number) {
            print_reference(r);
        }
        let request = w.request_label();
        for i in &phase.inputs {
            let kind = match &i.kind {
                InputKind::Artifact(_) => "artifact".to_string(),
                InputKind::AllSteps(_) => "all steps".to_string(),
                InputKind::FreeText if request.is_some_and(|r| same_label(r, &i.text)) => {
                    format!("the request: --need TEXT, or --input \"{}=TEXT\"", i.text)
                }
                InputKind::FreeText => format!(
                    "--input \"{}=TEXT\", else the run's --context files",
                    i.text
                ),
            };
            crate::outln!("  input: {} [{kind}]", i.text);
        }
        if let Some(g) = &phase.gate {
            let labels: Vec<&str> = g.options.iter().map(|o| o.label.as_str()).collect();
            crate::outln!("  options: {}", labels.join(" / "));
            for o in &g.options {
                crate::outln!("    {}: {}", o.label, w.option_effect(phase, o));
            }
        }
    }
}

/// One directive: where its file resolved, and for a panel, each member and
/// the moderator; for a persona, the files it links to.
fn print_reference(r: &Reference) {
    match &r.found {
        Ok(found) => crate::outln!("  {}: {} ({})", r.kind.label(), r.path, describe(found)),
        Err(e) => crate::outln!("  {}: {} (UNRESOLVED: {e})", r.kind.label(), r.path),
    }
    let links_of = |path: &str| {
        r.links
            .iter()
            .filter(|(p, _)| p == path)
            .flat_map(|(_, files)| files.iter())
            .map(|f| format!("      links to: {} ({})", f.rel, f.origin))
            .collect::<Vec<_>>()
    };
    if let Some(panel) = &r.panel {
        for m in &panel.participants {
            let how = match (&m.moved_from, m.by_name) {
                (Some(asked), _) => format!("; moved: {asked} is not in the library"),
                (None, true) => "; found by its name".to_string(),
                (None, false) => String::new(),
            };
            crate::outln!(
                "    participant: {} → {} ({}{how})",
                m.name,
                m.path,
                m.origin
            );
            for line in links_of(&m.path) {
                crate::outln!("{line}");
            }
        }
        let m = &panel.moderator;
        crate::outln!(
            "    moderator: {} → {} ({}; {})",
            m.name,
            m.path,
            m.origin,
            m.describe()
        );
        for line in links_of(&m.path) {
            crate::outln!("{line}");
        }
    } else if let Ok(found) = &r.found {
        for line in links_of(&found.rel) {
            crate::outln!("    {}", line.trim_start());
        }
    }
}
