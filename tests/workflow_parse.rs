//! The workflow parser and validator against real files: the seed migration
//! workflow, a second workflow in the same format (`fixtures/workflows/upgrade.md`),
//! and copies of a small valid workflow (`fixtures/workflows/small.md`) each
//! broken in one way (`fixtures/workflows/broken/`). Every problem must be
//! reported with the right file and line, and all of them in one pass.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use migagent::library::validate::{self, LoadError, LoadedWorkflow};
use migagent::library::Origin;
use migagent::workflow::step;
use migagent::workflow::{
    self, Diagnostic, DirectiveKind, GateAction, GateKind, InputKind, Phase, Workflow,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One empty folder used as `$MIGAGENT_CONFIG_DIR` (and as the current
/// directory of `validate::load`) by every test in this module, so that a
/// developer's own config folder cannot change what resolves. Set once: the
/// tests run in parallel threads of one process. The variable is set for the
/// whole test binary; commands run through `Sandbox` set their own.
fn empty_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("workflow_parse-empty-config");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .count();
        assert_eq!(entries, 0, "{} must be empty", dir.display());
        std::env::set_var("MIGAGENT_CONFIG_DIR", &dir);
        dir
    })
}

/// The seed workflow, or the repository's verbatim copy when the seed is not
/// checked out next to the repository.
fn seed_path() -> PathBuf {
    let seed = manifest_dir().join("../shared/seeds/migration-workflow.md");
    if seed.is_file() {
        seed
    } else {
        manifest_dir().join("workflows/migration.md")
    }
}

fn fixture(rel: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/workflows").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
}

fn listing(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| format!("  {d}\n")).collect()
}

/// Parses a file that must have no structural problems.
fn parse_clean(path: &Path) -> Workflow {
    let (workflow, diagnostics) = workflow::parse_lenient(&read(path), path);
    assert!(
        diagnostics.is_empty(),
        "{} should parse cleanly, got:\n{}",
        path.display(),
        listing(&diagnostics)
    );
    workflow
}

/// Loads (parses and validates) a file that must be valid.
fn load_ok(path: &Path) -> LoadedWorkflow {
    match validate::load(path_str(path), empty_dir()) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{} should validate, got:\n{e}", path.display()),
    }
}

/// Loads a file that must be invalid, returning its diagnostics.
fn load_invalid(path: &Path) -> Vec<Diagnostic> {
    match validate::load(path_str(path), empty_dir()) {
        Ok(_) => panic!("{} should not validate", path.display()),
        Err(LoadError::Invalid(errors)) => {
            assert_eq!(errors.file, path, "WorkflowErrors.file");
            assert!(
                !errors.diagnostics.is_empty(),
                "WorkflowErrors is never empty"
            );
            errors.diagnostics
        }
        Err(other) => panic!(
            "{} should fail validation, not with a library error: {other}",
            path.display()
        ),
    }
}

/// Asserts `diagnostics` are exactly `expected` (line, phrase of the message),
/// in order, each located in `path` and displayed as `path:line: message`.
fn assert_diagnostics(path: &Path, diagnostics: &[Diagnostic], expected: &[(usize, &str)]) {
    let got: Vec<usize> = diagnostics.iter().map(|d| d.line).collect();
    let want: Vec<usize> = expected.iter().map(|(line, _)| *line).collect();
    assert_eq!(
        got,
        want,
        "lines of the diagnostics for {}:\n{}",
        path.display(),
        listing(diagnostics)
    );
    for (d, (line, phrase)) in diagnostics.iter().zip(expected) {
        assert_eq!(d.file, path, "file of {d}");
        assert!(
            d.message.contains(phrase),
            "the diagnostic at line {line} should contain {phrase:?}, got: {}",
            d.message
        );
        let shown = d.to_string();
        let prefix = format!("{}:{line}: ", path.display());
        assert!(
            shown.starts_with(&prefix),
            "{shown:?} should start with {prefix:?}"
        );
    }
}

fn by_line(diagnostics: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut sorted = diagnostics.to_vec();
    sorted.sort_by_key(|d| d.line);
    sorted
}

/// Where a broken fixture's problem is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// By the parser alone: `workflow::parse` already refuses the file.
    Parse,
    /// Only by the validator: the file parses, `validate::load` refuses it.
    Validate,
}

/// Checks one file of `fixtures/workflows/broken/`.
fn check_broken(name: &str, stage: Stage, expected: &[(usize, &str)]) {
    let path = fixture(&format!("broken/{name}"));
    let (_, parse_diagnostics) = workflow::parse_lenient(&read(&path), &path);
    match stage {
        Stage::Parse => {
            // The parser reports in the order it finds problems; loading
            // sorts them by line.
            assert_diagnostics(&path, &by_line(&parse_diagnostics), expected);
            match workflow::parse(&read(&path), &path) {
                Ok(_) => panic!("workflow::parse should refuse {}", path.display()),
                Err(errors) => assert_eq!(errors.diagnostics, parse_diagnostics),
            }
        }
        Stage::Validate => assert!(
            parse_diagnostics.is_empty(),
            "{} should parse cleanly (its problem is for the validator), got:\n{}",
            path.display(),
            listing(&parse_diagnostics)
        ),
    }
    assert_diagnostics(&path, &load_invalid(&path), expected);
}

fn phase(workflow: &Workflow, number: u32) -> &Phase {
    workflow
        .phases
        .iter()
        .find(|p| p.number == number)
        .unwrap_or_else(|| panic!("workflow '{}' has no phase {number}", workflow.name))
}

fn artifact_ids(workflow: &Workflow) -> Vec<&str> {
    workflow
        .phases
        .iter()
        .map(|p| p.artifact_id().unwrap_or("<none>"))
        .collect()
}

fn overview_gates(workflow: &Workflow) -> Vec<GateKind> {
    workflow.overview.iter().map(|e| e.gate).collect()
}

fn input_kinds(phase: &Phase) -> Vec<InputKind> {
    phase.inputs.iter().map(|i| i.kind.clone()).collect()
}

fn directives(phase: &Phase) -> Vec<(DirectiveKind, &str, usize)> {
    phase
        .directives
        .iter()
        .map(|d| (d.kind, d.path.as_str(), d.line))
        .collect()
}

/// The gate's options as (label, action, line).
fn gate_options(phase: &Phase) -> Vec<(&str, GateAction, usize)> {
    let gate = phase
        .gate
        .as_ref()
        .unwrap_or_else(|| panic!("phase {} has no gate", phase.number));
    gate.options
        .iter()
        .map(|o| (o.label.as_str(), o.action, o.line))
        .collect()
}

fn template_of(phase: &Phase) -> &str {
    phase
        .output
        .as_ref()
        .map(|o| o.template.as_str())
        .unwrap_or_else(|| panic!("phase {} has no output", phase.number))
}

fn step_numbers(template_text: &str) -> Vec<u32> {
    step::steps(template_text)
        .iter()
        .map(|s| s.number)
        .collect()
}

// ---------------------------------------------------------------------------
// The seed workflow
// ---------------------------------------------------------------------------

#[test]
fn seed_parses_into_six_phases_with_their_artifacts() {
    empty_dir();
    let wf = parse_clean(&seed_path());
    assert_eq!(wf.name, "Migration");
    assert!(
        wf.description
            .starts_with("System, dependency, or data migrations"),
        "description: {:?}",
        wf.description
    );
    let numbers: Vec<u32> = wf.phases.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    let names: Vec<&str> = wf.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Assessment",
            "Strategy",
            "Execution Plan",
            "Execute",
            "Validation",
            "Rollback Readiness"
        ]
    );
    let lines: Vec<usize> = wf.phases.iter().map(|p| p.line).collect();
    assert_eq!(lines, [22, 82, 143, 207, 260, 314]);
    assert_eq!(
        artifact_ids(&wf),
        ["MIG-1", "MIG-2", "MIG-3", "MIG-4.N", "MIG-5", "MIG-6"]
    );
    assert_eq!(
        overview_gates(&wf),
        [
            GateKind::Gate,
            GateKind::Gate,
            GateKind::Gate,
            GateKind::PerStep,
            GateKind::Gate,
            GateKind::Gate
        ]
    );
    let per_step: Vec<bool> = wf.phases.iter().map(Phase::is_per_step).collect();
    assert_eq!(per_step, [false, false, false, true, false, false]);
}

#[test]
fn seed_phase_one_has_its_template_criteria_and_free_text_inputs() {
    empty_dir();
    let wf = parse_clean(&seed_path());
    let p1 = phase(&wf, 1);
    let output = p1.output.as_ref().expect("phase 1 has an output");
    assert_eq!(output.title, "Migration Assessment");
    assert_eq!(output.line, 43);
    assert!(!output.per_step);
    assert!(
        output
            .template
            .contains("## Risk Level\n<Low / Medium / High / Critical>"),
        "MIG-1 template:\n{}",
        output.template
    );
    assert!(
        output.template.starts_with("## Migration\n"),
        "the template is the fenced block without its fences:\n{}",
        output.template
    );
    assert!(!output.template.contains("```"));

    let gate = p1.gate.as_ref().expect("phase 1 has a gate");
    assert!(!gate.per_step);
    assert_eq!(
        gate.criteria,
        "All affected components are identified. Breaking changes are documented. Risk level is assessed."
    );

    assert_eq!(
        input_kinds(p1),
        [
            InputKind::FreeText,
            InputKind::FreeText,
            InputKind::FreeText
        ]
    );
    let texts: Vec<&str> = p1.inputs.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Migration need (what is being migrated and why)",
            "Current system state",
            "Target state"
        ]
    );
    assert_eq!(
        wf.request_label(),
        Some("Migration need (what is being migrated and why)")
    );
    assert_eq!(
        directives(p1),
        [
            (
                DirectiveKind::Persona,
                "personas/specialist/migration-specialist.md",
                24
            ),
            (DirectiveKind::Prompt, "prompts/migrate.md", 25),
        ]
    );
}

#[test]
fn seed_phase_three_has_a_secondary_persona_and_a_plan_with_steps() {
    empty_dir();
    let wf = parse_clean(&seed_path());
    let p3 = phase(&wf, 3);
    assert_eq!(
        directives(p3),
        [
            (
                DirectiveKind::Persona,
                "personas/specialist/migration-specialist.md",
                145
            ),
            (
                DirectiveKind::SecondaryPersona,
                "personas/operations/sre.md",
                146
            ),
        ]
    );
    assert_eq!(step_numbers(template_of(p3)), [1, 2]);
    assert_eq!(
        input_kinds(p3),
        [
            InputKind::Artifact("MIG-1".into()),
            InputKind::Artifact("MIG-2".into())
        ]
    );
}

#[test]
fn seed_phase_four_is_per_step_over_the_execution_plan() {
    empty_dir();
    let wf = parse_clean(&seed_path());
    let p4 = phase(&wf, 4);
    assert!(p4.is_per_step());
    let output = p4.output.as_ref().expect("phase 4 has an output");
    assert_eq!(output.id, "MIG-4.N");
    assert_eq!(output.title, "Step N Result");
    assert!(output.per_step);
    let gate = p4.gate.as_ref().expect("phase 4 has a gate");
    assert!(gate.per_step, "phase 4's gate is '### GATE (per step)'");
    assert_eq!(
        gate.criteria,
        "Verification passes. Health checks are green."
    );

    let plan = wf.plan_for(p4).expect("phase 4 names a plan");
    assert_eq!(plan.kind, InputKind::Artifact("MIG-3".into()));
    assert_eq!(plan.text, "[MIG-3]: Execution Plan");
    assert_eq!(plan.line, 213);
    assert_eq!(
        directives(p4),
        [(DirectiveKind::Prompt, "prompts/migrate.md", 209)]
    );
    assert!(p4.panel().is_none());

    for n in [1, 2, 3, 5, 6] {
        assert!(
            wf.plan_for(phase(&wf, n)).is_none(),
            "phase {n} is not per step and lists no plan"
        );
    }
}

#[test]
fn seed_phase_five_convenes_the_panel_over_all_step_results() {
    empty_dir();
    let wf = parse_clean(&seed_path());
    let p5 = phase(&wf, 5);
    let panel = p5.panel().expect("phase 5 convenes a panel");
    assert_eq!(panel.kind, DirectiveKind::Panel);
    assert_eq!(panel.path, "personas/panels/migration-review.md");
    assert_eq!(panel.line, 262);
    assert!(p5.directive(DirectiveKind::Persona).is_none());
    assert!(p5.directive(DirectiveKind::RoundTable).is_none());

    assert_eq!(
        input_kinds(p5),
        [
            InputKind::Artifact("MIG-1".into()),
            InputKind::Artifact("MIG-2".into()),
            InputKind::AllSteps("MIG-4.N".into()),
            InputKind::FreeText,
        ]
    );
    let texts: Vec<&str> = p5.inputs.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "[MIG-1]: Migration Assessment",
            "[MIG-2]: Migration Strategy",
            "All [MIG-4.N] artifacts",
            "Current system state",
        ]
    );
    let lines: Vec<usize> = p5.inputs.iter().map(|i| i.line).collect();
    assert_eq!(lines, [266, 267, 268, 269]);
}

#[test]
fn seed_phase_six_reads_an_artifact_with_a_trailing_note() {
    empty_dir();
    let wf = parse_clean(&seed_path());
    let p6 = phase(&wf, 6);
    assert_eq!(
        input_kinds(p6),
        [
            InputKind::Artifact("MIG-2".into()),
            InputKind::Artifact("MIG-5".into())
        ]
    );
    assert_eq!(
        p6.inputs[0].text,
        "[MIG-2]: Migration Strategy (rollback strategy)"
    );
}

#[test]
fn seed_gate_options_are_classified_from_their_wording() {
    empty_dir();
    let wf = parse_clean(&seed_path());
    let options: Vec<(u32, &str, GateAction, usize)> = wf
        .phases
        .iter()
        .flat_map(|p| {
            gate_options(p)
                .into_iter()
                .map(move |(label, action, line)| (p.number, label, action, line))
        })
        .collect();
    assert_eq!(
        options,
        [
            (1, "Approved", GateAction::Proceed, 77),
            (1, "Revise", GateAction::Revise, 78),
            (2, "Approved", GateAction::Proceed, 138),
            (2, "Revise", GateAction::Revise, 139),
            (3, "Approved", GateAction::Proceed, 202),
            (3, "Revise", GateAction::Revise, 203),
            (4, "Approved", GateAction::Proceed, 255),
            (4, "Rollback", GateAction::Rollback, 256),
            (5, "Approved", GateAction::Proceed, 309),
            (5, "Issues found", GateAction::Revise, 310),
            (6, "Approved", GateAction::Proceed, 363),
            (6, "Revise", GateAction::Revise, 364),
        ]
    );
    let p5_gate = phase(&wf, 5).gate.as_ref().expect("phase 5 has a gate");
    let issues = p5_gate
        .option_named("\"issues FOUND\"")
        .expect("option_named ignores case and quotes");
    assert_eq!(
        issues.description,
        "address issues, re-validate, re-present `[MIG-5]`"
    );
    assert_eq!(
        p5_gate
            .option_for(GateAction::Revise)
            .map(|o| o.label.as_str()),
        Some("Issues found")
    );
    assert!(p5_gate.option_for(GateAction::Abort).is_none());
}

#[test]
fn seed_validates_against_the_builtin_library() {
    empty_dir();
    let path = seed_path();
    let loaded = load_ok(&path);
    assert_eq!(loaded.workflow.name, "Migration");
    assert_eq!(loaded.workflow.phases.len(), 6);
    assert_eq!(loaded.origin, Origin::File(path.clone()));
    assert_eq!(loaded.text, read(&path));
}

#[test]
fn builtin_migration_workflow_is_the_seed() {
    empty_dir();
    let loaded = match validate::load("migration", empty_dir()) {
        Ok(loaded) => loaded,
        Err(e) => panic!("the built-in 'migration' workflow should validate: {e}"),
    };
    assert_eq!(
        loaded.origin,
        Origin::Builtin("workflows/migration.md".into())
    );
    assert_eq!(
        artifact_ids(&loaded.workflow),
        ["MIG-1", "MIG-2", "MIG-3", "MIG-4.N", "MIG-5", "MIG-6"]
    );
    assert_eq!(
        loaded.text,
        read(&seed_path()),
        "workflows/migration.md should be a verbatim copy of the seed"
    );
}

// ---------------------------------------------------------------------------
// A second workflow in the same format
// ---------------------------------------------------------------------------

#[test]
fn upgrade_workflow_parses_with_its_own_prefix_and_gates() {
    empty_dir();
    let wf = parse_clean(&fixture("upgrade.md"));
    assert_eq!(wf.name, "Dependency Upgrade");
    assert_eq!(artifact_ids(&wf), ["UPG-1", "UPG-2", "UPG-3.N", "UPG-4"]);
    let names: Vec<&str> = wf.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Inventory", "Upgrade Plan", "Apply", "Risk Review"]);
    assert_eq!(
        overview_gates(&wf),
        [
            GateKind::None,
            GateKind::Gate,
            GateKind::PerStep,
            GateKind::Gate
        ]
    );
    let overview_lines: Vec<usize> = wf.overview.iter().map(|e| e.line).collect();
    assert_eq!(overview_lines, [13, 14, 15, 16]);
}

#[test]
fn upgrade_inventory_phase_has_no_gate() {
    empty_dir();
    let wf = parse_clean(&fixture("upgrade.md"));
    let p1 = phase(&wf, 1);
    assert!(p1.gate.is_none(), "phase 1 has no '### GATE' section");
    assert!(!p1.is_per_step());
    assert_eq!(input_kinds(p1), [InputKind::FreeText, InputKind::FreeText]);
    assert_eq!(wf.request_label(), Some(p1.inputs[0].text.as_str()));
    assert!(template_of(p1).contains("## Changelog Highlights"));
}

#[test]
fn upgrade_plan_phase_has_persona_secondary_persona_and_custom_labels() {
    empty_dir();
    let wf = parse_clean(&fixture("upgrade.md"));
    let p2 = phase(&wf, 2);
    assert_eq!(
        directives(p2),
        [
            (DirectiveKind::Persona, "personas/operations/sre.md", 55),
            (
                DirectiveKind::SecondaryPersona,
                "personas/security/security-reviewer.md",
                56
            ),
        ]
    );
    assert_eq!(step_numbers(template_of(p2)), [1, 2]);
    assert_eq!(
        gate_options(p2),
        [
            ("Go", GateAction::Proceed, 92),
            ("Rework", GateAction::Revise, 93)
        ]
    );
}

#[test]
fn upgrade_apply_phase_iterates_the_plan_not_the_first_artifact_input() {
    empty_dir();
    let wf = parse_clean(&fixture("upgrade.md"));
    let p3 = phase(&wf, 3);
    assert!(p3.is_per_step());
    let output = p3.output.as_ref().expect("phase 3 has an output");
    assert_eq!(
        (output.id.as_str(), output.title.as_str(), output.line),
        ("UPG-3.N", "Step N Outcome", 117)
    );
    let gate = p3.gate.as_ref().expect("phase 3 has a gate");
    assert!(gate.per_step);
    assert_eq!(gate.line, 129);
    assert_eq!(
        input_kinds(p3),
        [
            InputKind::Artifact("UPG-1".into()),
            InputKind::Artifact("UPG-2".into())
        ]
    );
    // UPG-1 is listed first but its template has no '### Step N:' blocks.
    let plan = wf.plan_for(p3).expect("phase 3 names a plan");
    assert_eq!(plan.kind, InputKind::Artifact("UPG-2".into()));
    assert_eq!(plan.line, 105);
    assert_eq!(
        gate_options(p3),
        [
            ("Step verified", GateAction::Proceed, 135),
            ("Roll back step", GateAction::Rollback, 136),
        ]
    );
}

#[test]
fn upgrade_risk_review_convenes_a_round_table_and_offers_abort() {
    empty_dir();
    let wf = parse_clean(&fixture("upgrade.md"));
    let p4 = phase(&wf, 4);
    let table = p4.panel().expect("phase 4 convenes a round table");
    assert_eq!(table.kind, DirectiveKind::RoundTable);
    assert_eq!(table.path, "personas/panels/migration-review.md");
    assert_eq!(table.line, 142);
    assert!(p4.directive(DirectiveKind::Panel).is_none());
    assert_eq!(
        input_kinds(p4),
        [
            InputKind::AllSteps("UPG-3.N".into()),
            InputKind::Artifact("UPG-2".into()),
            InputKind::FreeText,
        ]
    );
    assert_eq!(
        gate_options(p4),
        [
            ("Accepted", GateAction::Proceed, 176),
            ("Mitigation insufficient", GateAction::Revise, 177),
            ("Abort", GateAction::Abort, 178),
        ]
    );
    let gate = p4.gate.as_ref().expect("phase 4 has a gate");
    let revise = gate
        .option_named("mitigation insufficient")
        .expect("option found by label");
    assert_eq!(
        revise.description,
        "revise mitigation, re-present `[UPG-4]`"
    );
    assert_eq!(
        gate.option_for(GateAction::Abort)
            .map(|o| o.description.as_str()),
        Some("abort the upgrade")
    );
}

#[test]
fn upgrade_workflow_validates_in_the_repository_library() {
    empty_dir();
    let path = fixture("upgrade.md");
    let loaded = load_ok(&path);
    assert_eq!(loaded.workflow.name, "Dependency Upgrade");
    // The nearest folder above `tests/fixtures/workflows/upgrade.md` with
    // a `personas/` folder is the repository: its own files serve, and
    // nothing is announced.
    assert_eq!(
        loaded.library.roots(),
        [manifest_dir().to_path_buf(), empty_dir().to_path_buf()]
    );
    let sre = loaded
        .library
        .resolve("personas/operations/sre.md")
        .unwrap_or_else(|e| panic!("sre persona should resolve: {e}"));
    assert_eq!(
        sre.origin,
        Origin::File(manifest_dir().join("personas/operations/sre.md"))
    );
    assert!(loaded.warnings.is_empty(), "{}", listing(&loaded.warnings));
}

#[test]
fn another_workflow_gets_the_builtin_copies_announced() {
    empty_dir();
    // The same workflow outside any library: only the built-in copies have
    // its files, and they were written for the Migration workflow.
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("upgrade.md");
    std::fs::write(&path, read(&fixture("upgrade.md"))).expect("copy the fixture");
    let loaded = load_ok(&path);
    assert_eq!(loaded.library.roots(), [empty_dir().to_path_buf()]);
    let sre = loaded
        .library
        .resolve("personas/operations/sre.md")
        .unwrap_or_else(|e| panic!("sre persona should resolve: {e}"));
    assert_eq!(
        sre.origin,
        Origin::Builtin("personas/operations/sre.md".into())
    );
    let lines: Vec<usize> = loaded.warnings.iter().map(|d| d.line).collect();
    assert_eq!(
        lines,
        [22, 23, 55, 56, 99, 100, 142],
        "{}",
        listing(&loaded.warnings)
    );
    for w in &loaded.warnings {
        assert!(!w.is_error());
        assert_eq!(w.file, path);
        assert!(
            w.message.contains("is not in this workflow's library; using migagent's built-in copy, written for the Migration workflow"),
            "{w}"
        );
    }
    assert!(
        loaded.warnings[1].message.starts_with("prompts/plan.md "),
        "{}",
        loaded.warnings[1]
    );
    // The seed, titled like the built-in workflow, runs without them.
    let seed = tmp.path().join("seed.md");
    std::fs::write(&seed, read(&seed_path())).expect("copy the seed");
    let loaded = load_ok(&seed);
    assert!(loaded.warnings.is_empty(), "{}", listing(&loaded.warnings));
}

// ---------------------------------------------------------------------------
// Broken workflows: one problem each
// ---------------------------------------------------------------------------

#[test]
fn small_base_workflow_is_valid() {
    empty_dir();
    let path = fixture("small.md");
    parse_clean(&path);
    let loaded = load_ok(&path);
    assert_eq!(
        artifact_ids(&loaded.workflow),
        ["SML-1", "SML-2", "SML-3.N"]
    );
}

#[test]
fn missing_title() {
    empty_dir();
    check_broken(
        "missing-title.md",
        Stage::Parse,
        &[(
            2,
            "expected the title line '# Workflow: NAME', found '# Small Upgrade'",
        )],
    );
}

#[test]
fn unknown_directive() {
    empty_dir();
    check_broken(
        "unknown-directive.md",
        Stage::Parse,
        &[(15, "unknown directive 'Adopt personna'")],
    );
}

#[test]
fn persona_file_that_does_not_exist() {
    empty_dir();
    check_broken(
        "missing-persona.md",
        Stage::Validate,
        &[(
            45,
            "Adopt persona: 'personas/operations/night-shift.md' was not found",
        )],
    );
}

#[test]
fn input_that_no_phase_produces() {
    empty_dir();
    check_broken(
        "unproduced-input.md",
        Stage::Validate,
        &[(50, "input '[SML-7]' is not produced by any phase")],
    );
}

#[test]
fn input_produced_by_a_later_phase() {
    empty_dir();
    check_broken(
        "later-input.md",
        Stage::Validate,
        &[(
            20,
            "input '[SML-2]' is produced by phase 2, which does not come before phase 1",
        )],
    );
}

#[test]
fn duplicate_artifact_id() {
    empty_dir();
    check_broken(
        "duplicate-artifact.md",
        Stage::Validate,
        &[(56, "artifact id 'SML-1' is already produced at line 26")],
    );
}

#[test]
fn artifact_without_a_fenced_template() {
    empty_dir();
    check_broken(
        "no-template.md",
        Stage::Parse,
        &[(27, "artifact 'SML-1' has no template")],
    );
}

#[test]
fn unclosed_template_fence() {
    empty_dir();
    // The unclosed fence swallows the rest of the file, including phase 3's
    // '### GATE (per step)', so the gate cross-check also fires.
    check_broken(
        "unclosed-fence.md",
        Stage::Parse,
        &[
            (
                75,
                "phase 3 has gate 'none' but the '## Phases' list (line 9) says 'per-step GATE'",
            ),
            (
                91,
                "the template of 'SML-3.N' opens a fence that is never closed",
            ),
        ],
    );
}

#[test]
fn per_step_phase_without_a_plan() {
    empty_dir();
    check_broken(
        "per-step-no-plan.md",
        Stage::Validate,
        &[(75, "per-step phase 3 names no plan to iterate over")],
    );
}

#[test]
fn gate_option_that_cannot_be_classified() {
    empty_dir();
    check_broken(
        "unclassified-gate-option.md",
        Stage::Parse,
        &[(40, "cannot tell what gate option 'Maybe' does")],
    );
}

#[test]
fn listed_phase_without_a_section() {
    empty_dir();
    check_broken(
        "listed-phase-missing.md",
        Stage::Parse,
        &[(
            10,
            "phase 4 ('Verify') is listed but has no '## Phase 4: Verify' section",
        )],
    );
}

#[test]
fn gate_kind_differs_between_list_and_section() {
    empty_dir();
    check_broken(
        "gate-kind-mismatch.md",
        Stage::Parse,
        &[(
            43,
            "phase 2 has gate 'GATE' but the '## Phases' list (line 8) says 'none'",
        )],
    );
}

// ---------------------------------------------------------------------------
// Every problem in one pass
// ---------------------------------------------------------------------------

#[test]
fn every_problem_is_reported_not_only_the_first() {
    empty_dir();
    let path = fixture("broken/many-problems.md");
    let expected: [(usize, &str); 6] = [
        (
            10,
            "phase 4 ('Verify') is listed but has no '## Phase 4: Verify' section",
        ),
        (16, "unknown directive 'Adopt personna'"),
        (41, "cannot tell what gate option 'Maybe' does"),
        (
            47,
            "Adopt persona: 'personas/operations/night-shift.md' was not found",
        ),
        (52, "input '[SML-7]' is not produced by any phase"),
        (78, "per-step phase 3 names no plan to iterate over"),
    ];

    // The parser alone finds its three...
    let (_, parsed) = workflow::parse_lenient(&read(&path), &path);
    assert_diagnostics(&path, &by_line(&parsed), &expected[..3]);

    // ...and loading adds the validator's three, sorted by line.
    let errors = match validate::load(path_str(&path), empty_dir()) {
        Err(LoadError::Invalid(errors)) => errors,
        Err(other) => panic!("expected validation errors, got: {other}"),
        Ok(_) => panic!("{} should not validate", path.display()),
    };
    assert_diagnostics(&path, &errors.diagnostics, &expected);

    let shown = errors.to_string();
    assert!(
        shown.starts_with(&format!("{} has 6 problems:\n", path.display())),
        "{shown}"
    );
    for d in &errors.diagnostics {
        assert!(
            shown.contains(&format!("  {d}\n")),
            "{shown} should list {d}"
        );
    }
}

// ---------------------------------------------------------------------------
// Gate wording
// ---------------------------------------------------------------------------

/// `small.md` with phase 1's options replaced by `options`.
fn small_with_phase_one_options(options: &str) -> String {
    let base = read(&fixture("small.md"));
    let old = "- **Approved** → proceed to Phase 2\n- **Revise** → re-present `[SML-1]`\n";
    assert_eq!(base.matches(old).count(), 1, "small.md's phase 1 options");
    base.replace(old, options)
}

#[test]
fn an_option_that_says_do_not_proceed_does_not_proceed() {
    let text = small_with_phase_one_options(
        "- **Approved** → proceed to Phase 2\n- **Rejected** → do not proceed; rework and re-present `[SML-1]`\n",
    );
    let path = Path::new("inline/rejected.md");
    let (wf, diagnostics) = workflow::parse_lenient(&text, path);
    assert!(diagnostics.is_empty(), "{}", listing(&diagnostics));
    let labels: Vec<(&str, GateAction)> = gate_options(phase(&wf, 1))
        .into_iter()
        .map(|(label, action, _)| (label, action))
        .collect();
    assert_eq!(
        labels,
        [
            ("Approved", GateAction::Proceed),
            ("Rejected", GateAction::Revise)
        ],
        "'do not proceed … re-present' must not be read as proceeding"
    );
}

#[test]
fn a_gate_without_a_proceeding_option_is_refused() {
    let text = small_with_phase_one_options("- **Revise** → re-present `[SML-1]`\n");
    let path = Path::new("inline/no-proceed.md");
    let (_, diagnostics) = workflow::parse_lenient(&text, path);
    assert_diagnostics(
        path,
        &diagnostics,
        &[(35, "the gate has no option that proceeds")],
    );
}

// ---------------------------------------------------------------------------
// Library root
// ---------------------------------------------------------------------------

const CUSTOM_WORKFLOW: &str = r#"# Workflow: Custom

## Phases

1. **Only** → `[CUS-1]` — **GATE**

## Phase 1: Only

> **Adopt persona:** `personas/custom.md`

### Input

- Need

### Output

**Artifact `[CUS-1]: Result`**

```
## Result
<text>
```

### GATE

**Approval criteria:** Done.

- **Approved** → proceed
"#;

const CUSTOM_DIRECTIVE_LINE: usize = 9;

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

#[test]
fn personas_resolve_against_the_folder_above_workflows() {
    empty_dir();
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    let workflow_path = root.join("workflows/x.md");
    let persona_path = root.join("personas/custom.md");
    write(&workflow_path, CUSTOM_WORKFLOW);
    write(&persona_path, "# Persona: Custom\n\nYou are custom.\n");
    // A file in the library root also wins over the built-in copy.
    write(
        &root.join("personas/operations/sre.md"),
        "# Persona: Local SRE\n",
    );

    let loaded = load_ok(&workflow_path);
    assert_eq!(loaded.library.roots()[0], root);
    let persona = phase(&loaded.workflow, 1)
        .directive(DirectiveKind::Persona)
        .expect("phase 1 adopts a persona");
    assert_eq!(persona.line, CUSTOM_DIRECTIVE_LINE);
    let found = loaded
        .library
        .resolve(&persona.path)
        .unwrap_or_else(|e| panic!("custom persona should resolve: {e}"));
    assert_eq!(found.origin, Origin::File(persona_path.clone()));
    assert_eq!(found.text, "# Persona: Custom\n\nYou are custom.\n");
    let sre = loaded
        .library
        .resolve("personas/operations/sre.md")
        .unwrap_or_else(|e| panic!("sre persona should resolve: {e}"));
    assert_eq!(
        sre.origin,
        Origin::File(root.join("personas/operations/sre.md"))
    );

    std::fs::remove_file(&persona_path)
        .unwrap_or_else(|e| panic!("cannot remove {}: {e}", persona_path.display()));
    let diagnostics = load_invalid(&workflow_path);
    assert_diagnostics(
        &workflow_path,
        &diagnostics,
        &[(
            CUSTOM_DIRECTIVE_LINE,
            "Adopt persona: 'personas/custom.md' was not found",
        )],
    );
    let message = &diagnostics[0].message;
    assert!(
        message.contains(&persona_path.display().to_string()),
        "the error should name where it looked: {message}"
    );
    assert!(
        message.contains("builtin:personas/custom.md"),
        "the error should name the built-in copy it looked for: {message}"
    );
}

// ---------------------------------------------------------------------------
// Headings as CommonMark reads them
// ---------------------------------------------------------------------------

#[test]
fn headings_are_read_by_commonmark_rules() {
    let base = read(&fixture("small.md"));
    // Up to three spaces of indent still make a heading, as every viewer
    // shows it; four make code, and a quoted or listed one is not a
    // section; a paragraph over `---` is not a setext heading here.
    let text = base
        .replace("## Phase 2: Plan", "   ## Phase 2: Plan")
        .replace(
            "1. Order the work into steps\n",
            "1. Order the work into steps\n\n    ## Phase 9: Ghost\n\n> ## Phase 8: Quoted\n\n- ### GATE\n\nA paragraph\n---\n",
        );
    let path = Path::new("commonmark.md");
    let (wf, diagnostics) = workflow::parse_lenient(&text, path);
    assert!(diagnostics.is_empty(), "{}", listing(&diagnostics));
    let numbers: Vec<u32> = wf.phases.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(
        phase(&wf, 2).process.contains("## Phase 9: Ghost"),
        "{}",
        phase(&wf, 2).process
    );
    assert!(phase(&wf, 2).gate.is_some());
}
