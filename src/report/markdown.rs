//! The report as Markdown: one `##` section per part, each approved
//! artifact under its own `###` heading with its own headings moved below
//! it, so the document keeps one outline.

use std::fmt::Write;

use super::{short_time, thousands, Report, Usage};

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    // `write!` to a String cannot fail.
    let _ = writeln!(out, "# Run report: {}\n", flat(&r.run_id));
    let _ = writeln!(
        out,
        "- **Workflow:** {} ({}), sha256 `{}`",
        flat(&r.workflow.name),
        flat(&r.workflow.source),
        r.workflow.sha256
    );
    if !r.workflow.description.trim().is_empty() {
        let _ = writeln!(out, "- **About:** {}", flat(&r.workflow.description));
    }
    let _ = writeln!(out, "- **Status:** {}", r.status);
    let _ = writeln!(
        out,
        "- **Model:** {} at {}{}{}",
        flat(&r.model.model),
        flat(&r.model.base_url),
        r.model
            .profile
            .as_ref()
            .map_or(String::new(), |p| format!(" (profile {})", flat(p))),
        if r.model.offline { ", offline" } else { "" }
    );
    let _ = writeln!(out, "- **Started:** {}", short_time(&r.created_at));
    let _ = writeln!(out, "- **Last change:** {}", short_time(&r.updated_at));
    let _ = writeln!(out, "- **Phases:** {}", flat(&r.workflow.phases.join("; ")));
    let _ = writeln!(out, "- **Total:** {}\n", r.total_usage.describe());

    out.push_str("## Request\n\n");
    if r.request.is_empty() {
        out.push_str("No request was recorded.\n\n");
    }
    for input in &r.request {
        let _ = writeln!(
            out,
            "**{}:**\n\n{}\n",
            flat(&input.label),
            quote(&input.text)
        );
    }

    out.push_str("## Approved artifacts\n\n");
    if r.artifacts.is_empty() {
        out.push_str("Nothing was approved.\n\n");
    }
    for a in &r.artifacts {
        let _ = writeln!(out, "### [{}] {}\n", flat(&a.id), flat(&a.title));
        let by = a
            .approved_by
            .as_ref()
            .map_or(String::new(), |b| format!(" by {}", flat(b)));
        let _ = writeln!(
            out,
            "*{}: {}{by} at {}, revision {}, sha256 `{}`, file `{}`*\n",
            flat(&a.phase),
            a.state,
            short_time(&a.approved_at),
            a.revision,
            a.sha256,
            a.path
        );
        if let Some(note) = &a.note {
            let _ = writeln!(out, "Note:\n\n{}\n", quote(note));
        }
        match (&a.markdown, &a.problem) {
            (Some(text), _) => {
                let _ = writeln!(out, "{}\n", demote(text.trim_end(), 3));
            }
            (None, Some(problem)) => {
                let _ = writeln!(
                    out,
                    "*The approved text cannot be read: {}*\n",
                    flat(problem)
                );
            }
            (None, None) => {}
        }
    }

    out.push_str("## Decisions\n\n");
    if r.decisions.is_empty() {
        out.push_str("No decision was recorded.\n\n");
    }
    for d in &r.decisions {
        let on = match (&d.artifact, d.revision) {
            (Some(a), Some(rev)) => format!(" on [{}] revision {rev}", flat(a)),
            (Some(a), None) => format!(" on [{}]", flat(a)),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "- {}: **{}** ({}){on} by {}",
            short_time(&d.at),
            flat(&d.option),
            d.action,
            flat(&d.by)
        );
        match &d.note {
            Some(note) => {
                let _ = writeln!(out, ": {}", flat(note));
            }
            None => out.push('\n'),
        }
    }
    out.push('\n');

    out.push_str("## Revisions and feedback\n\n");
    if r.revisions.is_empty() {
        out.push_str("No draft was made.\n\n");
    }
    for v in &r.revisions {
        let usage = v
            .usage
            .map_or(String::new(), |u| format!(", {}", short_usage(&u)));
        let _ = writeln!(
            out,
            "- [{}] revision {} at {}, by the {} {}{usage}: `{}`{}",
            flat(&v.artifact),
            v.revision,
            short_time(&v.at),
            v.source,
            flat(&v.by),
            v.path,
            v.prompt_path
                .as_ref()
                .map_or(String::new(), |p| format!(" (prompt `{p}`)"))
        );
        if let Some(feedback) = &v.feedback {
            let _ = writeln!(out, "  - answers the feedback: {}", flat(feedback));
        }
    }
    out.push('\n');

    out.push_str("## Evidence\n\n");
    if r.evidence.is_empty() {
        out.push_str("No evidence was recorded.\n\n");
    }
    for e in &r.evidence {
        let _ = writeln!(
            out,
            "### [{}] {} ({})\n",
            flat(&e.artifact),
            flat(&e.id),
            e.kind
        );
        let exit = e.exit_code.map_or(String::new(), |c| format!(", exit {c}"));
        let command = e
            .command
            .as_ref()
            .map_or(String::new(), |c| format!(", command `{}`", flat(c)));
        let _ = writeln!(
            out,
            "By {} at {}, file `{}`{command}{exit}\n",
            flat(&e.by),
            short_time(&e.at),
            e.path
        );
        let _ = writeln!(out, "{}", fenced(&e.excerpt));
        if e.cut {
            out.push_str("*(cut short; the whole file is in the run)*\n");
        }
        out.push('\n');
    }

    out.push_str("## Tokens and time\n\n");
    out.push_str("| Phase | Requests | Prompt tokens | Completion tokens | Seconds |\n");
    out.push_str("|---|---:|---:|---:|---:|\n");
    for p in &r.usage {
        let _ = writeln!(
            out,
            "{}",
            usage_row(&flat(&p.phase).replace('|', "\\|"), &p.usage)
        );
    }
    let _ = writeln!(out, "{}", usage_row("**Total**", &r.total_usage));
    if r.total_usage.requests_without_counts > 0 {
        let _ = writeln!(
            out,
            "\n{} request(s) had no token counts from the server and are left out of the token totals.",
            r.total_usage.requests_without_counts
        );
    }
    out
}

fn usage_row(name: &str, u: &Usage) -> String {
    format!(
        "| {name} | {} | {} | {} | {:.1} |",
        u.requests,
        thousands(u.prompt_tokens),
        thousands(u.completion_tokens),
        u.seconds
    )
}

pub(super) fn short_usage(u: &Usage) -> String {
    format!("{} tokens, {:.1} s", thousands(u.total_tokens()), u.seconds)
}

/// Text on one line, for list items and headings.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text as a block quote, every line of it.
fn quote(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| format!("> {l}").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text in a code fence longer than any run of backticks in it.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}", text.trim_end())
}

/// An artifact's headings moved `by` levels down (to at most `######`),
/// outside code fences, so they sit under the artifact's own heading.
pub(super) fn demote(text: &str, by: usize) -> String {
    let mut fence: Option<String> = None;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let marker: String = trimmed
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .collect();
            if marker.len() >= 3 {
                match &fence {
                    Some(open) if marker.starts_with(open.as_str()) => fence = None,
                    None => fence = Some(marker),
                    _ => {}
                }
                return line.to_string();
            }
            if fence.is_some() {
                return line.to_string();
            }
            let hashes = trimmed.chars().take_while(|c| *c == '#').count();
            let rest = &trimmed[hashes..];
            if (1..=6).contains(&hashes) && (rest.is_empty() || rest.starts_with(' ')) {
                format!("{}{rest}", "#".repeat((hashes + by).min(6)))
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
