//! The gate at a terminal: shows the draft, its checks and the workflow's
//! options, and turns the answer into a [`Decision`].

use std::io::{self, BufRead};

use super::wrap::wrap;
use super::{draft_check_lines, print_markdown, rule, use_color, visible, width};
use crate::engine::{
    Decision, DraftCheck, EngineError, EvidenceAnswer, EvidenceView, GateView, OptionDetails,
    PhaseChoice, Reviewer,
};
use crate::evidence::StepCard;
use crate::store::AfterRollback;
use crate::workflow::{GateAction, GateOption};

/// Asks a person at each gate, on the terminal.
pub struct TerminalReviewer {
    /// The name recorded with each decision.
    pub who: String,
    /// Where the questions about a step's evidence have got to.
    pub(super) evidence: super::evidence::Progress,
}

impl TerminalReviewer {
    /// A reviewer who decides, and reports evidence, as `who`.
    pub fn new(who: String) -> TerminalReviewer {
        TerminalReviewer {
            who,
            evidence: Default::default(),
        }
    }
}

enum Choice {
    Option(usize),
    Edit,
    Diff,
    View,
    Quit,
}

pub(super) fn read_line(prompt: &str) -> Result<Option<String>, EngineError> {
    crate::out!("{prompt}");
    super::output::flush_stdout();
    let mut line = String::new();
    let n = io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| EngineError::Review(e.to_string()))?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}

/// Reads lines until an empty line. End of input returns `None`, even after
/// some lines: only a finished answer counts as a decision.
pub(super) fn read_paragraph(prompt: &str) -> Result<Option<String>, EngineError> {
    crate::outln!("{prompt}");
    let mut lines = Vec::new();
    loop {
        match read_line("  | ")? {
            None => return Ok(None),
            Some(l) if l.trim().is_empty() => break,
            Some(l) => lines.push(l),
        }
    }
    Ok(Some(lines.join("\n")))
}

impl TerminalReviewer {
    fn show(&self, view: &GateView<'_>) {
        let d = view.draft;
        let who = match (&d.model, d.source) {
            (_, crate::store::DraftSource::Human) => "edited by a person".to_string(),
            (Some(m), _) => {
                let tokens = d
                    .completion_tokens
                    .map_or("? tokens".into(), |t| format!("{t} tokens"));
                format!(
                    "drafted by {}, {tokens}, {:.1} s",
                    visible(m),
                    d.seconds.unwrap_or(0.0)
                )
            }
            (None, _) => "drafted".to_string(),
        };
        crate::outln!();
        crate::outln!(
            "{}",
            rule(&format!(
                "[{}] {} · {} · {who}",
                view.artifact.id,
                visible(&view.artifact.title),
                crate::engine::describe_draft(d.revision, &d.sha256)
            ))
        );
        print_markdown(&view.draft_text);
        crate::outln!("{}", rule("gate"));
        crate::outln!("Draft file: {}", view.draft_path.display());
        self.checks(view);
    }

    fn checks(&self, view: &GateView<'_>) {
        let d = view.draft;
        // The same words `approve` prints for the draft it approves; the gate
        // also says when nothing is missing.
        let check = DraftCheck::of(d);
        let lines = draft_check_lines(&check);
        let (warning, rest) = lines.split_at(usize::from(check.truncated));
        for line in warning {
            crate::outln!("{}", wrap(line, width()));
        }
        if d.missing_sections.is_empty() {
            crate::outln!("Structure check: every template section is present.");
        }
        for line in rest {
            crate::outln!("{}", wrap(line, width()));
        }
        if !d.cuts.is_empty() {
            crate::outln!("Context: the inputs did not fit the server's context, so migagent cut:");
            for c in &d.cuts {
                item(&visible(c));
            }
        }
        if !d.redactions.is_empty() {
            crate::outln!(
                "Secrets: migagent redacted these from the request (the run's files keep them):"
            );
            for r in &d.redactions {
                item(&visible(&r.to_string()));
            }
        }
        if !view.gate.criteria.is_empty() {
            crate::outln!();
            crate::outln!(
                "{}",
                wrap(
                    &format!("Approval criteria: {}", view.gate.criteria),
                    width()
                )
            );
        }
    }

    fn menu(&self, view: &GateView<'_>) {
        crate::outln!();
        crate::outln!("Decide on [{}]:", view.artifact.id);
        let width = width();
        let line = |text: String| crate::outln!("{}", wrap(&text, width));
        for (i, o) in view.gate.options.iter().enumerate() {
            line(format!("  {}) {} → {}", i + 1, o.label, o.description));
        }
        line("  e) Edit in $EDITOR, then decide".into());
        if view.previous_text.is_some() {
            line("  d) Show the diff against the previous draft".into());
        }
        line("  v) View the draft again".into());
        line("  q) Save and quit (decide later with migagent approve/revise/resume)".into());
    }

    /// What to say after an answer the menu does not offer: only the
    /// choices this gate has.
    fn retry_prompt(&self, view: &GateView<'_>) -> String {
        let numbers = match view.gate.options.len() {
            1 => "1".to_string(),
            n => format!("1 to {n}"),
        };
        let letters = if view.previous_text.is_some() {
            "e, d, v or q"
        } else {
            "e, v or q"
        };
        format!("Please answer with a number from the list ({numbers}), or {letters}.")
    }

    fn parse_choice(&self, view: &GateView<'_>, answer: &str) -> Option<Choice> {
        let a = answer.trim().to_lowercase();
        if a.is_empty() {
            return None;
        }
        if let Ok(n) = a.parse::<usize>() {
            return (1..=view.gate.options.len())
                .contains(&n)
                .then(|| Choice::Option(n - 1));
        }
        match a.as_str() {
            "e" | "edit" => return Some(Choice::Edit),
            // Offered only with a previous draft; never taken for an
            // option whose label starts with "d".
            "d" | "diff" => return view.previous_text.is_some().then_some(Choice::Diff),
            "v" | "view" => return Some(Choice::View),
            "q" | "quit" => return Some(Choice::Quit),
            _ => {}
        }
        let matches: Vec<usize> = view
            .gate
            .options
            .iter()
            .enumerate()
            .filter(|(_, o)| o.label.to_lowercase().starts_with(&a))
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            [one] => Some(Choice::Option(*one)),
            _ => None,
        }
    }

    fn diff(&self, view: &GateView<'_>) {
        let Some(prev) = &view.previous_text else {
            crate::outln!("There is no previous draft to compare with.");
            return;
        };
        let diff = similar::TextDiff::from_lines(prev.as_str(), view.draft_text.as_str());
        let color = use_color();
        let old = format!("revision {}", view.draft.revision.saturating_sub(1));
        let new = format!("revision {}", view.draft.revision);
        for line in diff
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .to_string()
            .lines()
        {
            // The drafts' own text made visible first, then painted.
            let line = visible(line);
            let line = line.as_ref();
            let painted = match line.chars().next() {
                Some('+') if color && !line.starts_with("+++") => format!("\x1b[32m{line}\x1b[0m"),
                Some('-') if color && !line.starts_with("---") => format!("\x1b[31m{line}\x1b[0m"),
                _ => line.to_string(),
            };
            crate::outln!("{painted}");
        }
    }

    fn edit(&self, view: &GateView<'_>) -> Result<Option<String>, EngineError> {
        let edited = dialoguer::Editor::new()
            .extension(".md")
            .require_save(true)
            .edit(&view.draft_text)
            .map_err(|e| {
                EngineError::Review(format!("cannot run the editor ($VISUAL / $EDITOR): {e}"))
            })?;
        Ok(edited.filter(|t| t.trim() != view.draft_text.trim()))
    }
}

/// One entry of a check's list, wrapped under its text.
fn item(text: &str) {
    crate::outln!("{}", wrap(&format!("  - {text}"), width()));
}

impl Reviewer for TerminalReviewer {
    fn evidence(&mut self, view: &EvidenceView<'_>) -> Result<EvidenceAnswer, EngineError> {
        self.ask_evidence(view)
    }

    fn after_rollback(
        &mut self,
        card: &StepCard,
    ) -> Result<Option<(AfterRollback, String)>, EngineError> {
        crate::outln!();
        crate::outln!("Step {} is rolled back.", card.step.number);
        loop {
            match read_line("Continue with the next step, or abort the run? [c/a] ")? {
                None => return Ok(None),
                Some(a) if a.trim().eq_ignore_ascii_case("c") => {
                    return Ok(Some((AfterRollback::Continue, self.who.clone())))
                }
                Some(a) if a.trim().eq_ignore_ascii_case("a") => {
                    return Ok(Some((AfterRollback::Abort, self.who.clone())))
                }
                Some(_) => crate::outln!("Please answer c or a."),
            }
        }
    }

    fn choose_phase(
        &mut self,
        _view: &GateView<'_>,
        option: &GateOption,
        choices: &[PhaseChoice],
    ) -> Result<Option<u32>, EngineError> {
        crate::outln!();
        crate::outln!("'{}' sends the work back to one of:", option.label);
        for c in choices {
            crate::outln!(
                "  {}) Phase {}: {} [{}]",
                c.number,
                c.number,
                c.name,
                c.artifact
            );
        }
        let numbers: Vec<String> = choices.iter().map(|c| c.number.to_string()).collect();
        loop {
            let prompt = format!("Which phase? [{}] ", numbers.join("/"));
            let Some(answer) = read_line(&prompt)? else {
                crate::outln!();
                return Ok(None);
            };
            let answer = answer.trim().trim_start_matches(['P', 'p']);
            let answer = answer.trim_start_matches("hase").trim();
            match answer.parse::<u32>() {
                Ok(n) if choices.iter().any(|c| c.number == n) => return Ok(Some(n)),
                _ => crate::outln!("Please answer with one of: {}.", numbers.join(", ")),
            }
        }
    }

    fn review(&mut self, view: &GateView<'_>) -> Result<Decision, EngineError> {
        self.show(view);
        loop {
            self.menu(view);
            let Some(answer) = read_line("> ")? else {
                crate::outln!();
                return Ok(Decision::Quit);
            };
            let Some(choice) = self.parse_choice(view, &answer) else {
                crate::outln!("{}", wrap(&self.retry_prompt(view), width()));
                continue;
            };
            let option = match choice {
                Choice::Quit => return Ok(Decision::Quit),
                Choice::View => {
                    self.show(view);
                    continue;
                }
                Choice::Diff => {
                    self.diff(view);
                    continue;
                }
                Choice::Edit => match self.edit(view)? {
                    Some(text) => {
                        return Ok(Decision::Edit {
                            by: self.who.clone(),
                            text,
                        })
                    }
                    None => {
                        crate::outln!("No changes were saved; the draft is unchanged.");
                        continue;
                    }
                },
                Choice::Option(i) => &view.gate.options[i],
            };
            let mut details = OptionDetails::default();
            match option.action {
                GateAction::Proceed => {}
                GateAction::Revise | GateAction::SendBack => {
                    let prompt = if option.action == GateAction::SendBack {
                        "Feedback for the phase the work goes back to (finish with an empty line):"
                    } else {
                        "Feedback for the next draft (finish with an empty line):"
                    };
                    let Some(feedback) = read_paragraph(prompt)? else {
                        return Ok(Decision::Quit);
                    };
                    if feedback.trim().is_empty() {
                        crate::outln!("No feedback given; nothing decided.");
                        continue;
                    }
                    details.feedback = Some(feedback);
                }
                GateAction::Rollback | GateAction::Abort => {
                    let Some(reason) = read_paragraph("Reason (finish with an empty line):")?
                    else {
                        return Ok(Decision::Quit);
                    };
                    if reason.trim().is_empty() {
                        crate::outln!("A reason is required; nothing decided.");
                        continue;
                    }
                    details.reason = Some(reason);
                    // A step's rollback gathers its evidence first; the
                    // choice to continue or abort comes after it.
                    if option.action == GateAction::Rollback && view.artifact.step.is_none() {
                        details.then = Some(loop {
                            match read_line(
                                "Continue with the next step, or abort the run? [c/a] ",
                            )? {
                                None => return Ok(Decision::Quit),
                                Some(a) if a.trim().eq_ignore_ascii_case("c") => {
                                    break AfterRollback::Continue
                                }
                                Some(a) if a.trim().eq_ignore_ascii_case("a") => {
                                    break AfterRollback::Abort
                                }
                                Some(_) => crate::outln!("Please answer c or a."),
                            }
                        });
                    }
                }
            }
            // Every detail the option needs was asked for above, so the
            // mapping cannot miss one; should it, the gate asks again.
            match Decision::for_option(option, self.who.clone(), details) {
                Ok(decision) => return Ok(decision),
                Err(missing) => crate::outln!("This option needs {missing}; nothing decided."),
            }
        }
    }
}
