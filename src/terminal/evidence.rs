//! A step's evidence at the terminal: the card, the point of no return, a
//! yes or no for each of the plan's commands, a note, and only then the
//! draft. Nothing runs without a typed yes.

use super::gate::{read_line, read_paragraph, TerminalReviewer};
use super::{rule, visible};
use crate::engine::{EngineError, EvidenceAnswer, EvidenceView};

/// Which questions a step's card has been through.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// The artifact whose card is on screen, and whether for its rollback.
    artifact: Option<(String, bool)>,
    /// Evidence items already reported on screen.
    shown_items: usize,
    note_asked: bool,
}

impl TerminalReviewer {
    pub(super) fn ask_evidence(
        &mut self,
        view: &EvidenceView<'_>,
    ) -> Result<EvidenceAnswer, EngineError> {
        let card = view.card;
        let shown = (card.artifact.clone(), view.rollback);
        if self.evidence.artifact.as_ref() != Some(&shown) {
            self.evidence = Progress {
                artifact: Some(shown),
                shown_items: view.items.len(),
                note_asked: false,
            };
            crate::outln!();
            if view.rollback {
                crate::outln!(
                    "{}",
                    rule(&format!("rolling back step {}", card.step.number))
                );
                crate::outln!(
                    "The plan's rollback: {}",
                    visible(card.field("Rollback").unwrap_or("(the plan gives none)"))
                );
                crate::outln!("Roll the step back, then record what the rollback did.");
            } else {
                crate::outln!(
                    "{}",
                    rule(&format!("step {} of the plan", card.step.number))
                );
                crate::out!("{}", visible(&card.text()));
                crate::outln!(
                    "Run the step, then record what happened; the result is drafted from it."
                );
            }
        }
        for item in &view.items[self.evidence.shown_items.min(view.items.len())..] {
            match item.command_outcome() {
                Some(outcome) => crate::outln!(
                    "  {}: {outcome}, {:.1} s; output in {}",
                    item.id,
                    item.seconds.unwrap_or_default(),
                    item.path
                ),
                None => crate::outln!("  {} recorded ({})", item.id, item.path),
            }
        }
        self.evidence.shown_items = view.items.len();
        let by = self.who.clone();
        if view.point_of_no_return_pending {
            let n = card.step.number;
            crate::outln!();
            crate::outln!(
                "Step {n} is the plan's POINT OF NO RETURN: after it the change cannot be undone."
            );
            loop {
                match read_line(&format!("Type {n} to go on, or q to stop here: "))? {
                    None => return Ok(EvidenceAnswer::Quit),
                    Some(a) if a.trim() == n.to_string() => {
                        return Ok(EvidenceAnswer::ConfirmPointOfNoReturn { by })
                    }
                    Some(a) if a.trim().eq_ignore_ascii_case("q") => {
                        return Ok(EvidenceAnswer::Quit)
                    }
                    Some(_) => crate::outln!("That is not {n}; nothing was confirmed."),
                }
            }
        }
        let offered = card.commands_for(view.rollback);
        if let Some((k, c)) = view
            .next_command
            .and_then(|k| offered.get(k).map(|c| (k, c)))
        {
            crate::outln!();
            crate::outln!(
                "Command {} [{}], in {}:",
                k + 1,
                c.source,
                view.cwd.display()
            );
            crate::outln!("  {}", visible(&c.command));
            loop {
                match read_line("Run it now? [y/n, q to stop] ")? {
                    None => return Ok(EvidenceAnswer::Quit),
                    Some(a) if a.trim().eq_ignore_ascii_case("y") => {
                        return Ok(EvidenceAnswer::RunCommand { index: k, by })
                    }
                    Some(a) if a.trim().eq_ignore_ascii_case("n") => {
                        return Ok(EvidenceAnswer::SkipCommand { index: k })
                    }
                    Some(a) if a.trim().eq_ignore_ascii_case("q") => {
                        return Ok(EvidenceAnswer::Quit)
                    }
                    Some(_) => crate::outln!("Please answer y, n or q."),
                }
            }
        }
        if !self.evidence.note_asked {
            self.evidence.note_asked = true;
            let question = if view.rollback {
                "What did the rollback do? (finish with an empty line; an empty answer adds nothing)"
            } else {
                "What did you do and see at this step? (finish with an empty line; an empty answer adds nothing)"
            };
            let Some(text) = read_paragraph(question)? else {
                return Ok(EvidenceAnswer::Quit);
            };
            if !text.trim().is_empty() {
                return Ok(EvidenceAnswer::Note { text, by });
            }
        }
        // A rollback may end without evidence; a step's result may not be
        // drafted without some, or a reason.
        if view.items.is_empty() && !view.rollback {
            let Some(reason) = read_paragraph(
                "Nothing is recorded for this step. Why draft it without evidence? (an empty answer stops here)",
            )?
            else {
                return Ok(EvidenceAnswer::Quit);
            };
            if reason.trim().is_empty() {
                return Ok(EvidenceAnswer::Quit);
            }
            return Ok(EvidenceAnswer::NoEvidence { reason, by });
        }
        Ok(EvidenceAnswer::Done)
    }
}
