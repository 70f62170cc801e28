//! The report as one HTML page that stands alone: inline CSS (with a print
//! stylesheet), no script, nothing fetched, readable offline and from an
//! email attachment. Every text is escaped; the artifacts' Markdown is
//! rendered with pulldown-cmark, with raw HTML in it shown as text, and
//! links and images shown as their text and address, never followed or
//! loaded: a model's answer can contain anything.

use std::fmt::Write;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::markdown::{demote, short_usage};
use super::{short_time, thousands, Report, Usage};

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}
h1{border-bottom:2px solid #333;padding-bottom:.3rem}
h2{border-bottom:1px solid #bbb;margin-top:2.5rem}
section.artifact{border:1px solid #ccc;border-radius:6px;padding:0 1rem 1rem;margin:1.5rem 0}
.meta{color:#555;font-size:.9rem}
blockquote{border-left:4px solid #bbb;margin:0;padding:.2rem 1rem;color:#333;white-space:pre-wrap}
pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
code{background:#f4f4f4;padding:0 .2rem}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:left}
td.n,th.n{text-align:right}
tr.total{font-weight:bold}
@media print{
body{max-width:none;margin:0;font-size:10.5pt;color:#000}
section.artifact{border:none;padding:0;page-break-before:always}
h2{page-break-after:avoid}
pre,blockquote,table{page-break-inside:avoid}
}";

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Run report: {}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n",
        esc(&r.run_id)
    );
    let _ = writeln!(out, "<h1>Run report: {}</h1>", esc(&r.run_id));
    out.push_str("<ul class=\"summary\">\n");
    let mut item = |label: &str, value: String| {
        let _ = writeln!(out, "<li><strong>{label}:</strong> {value}</li>");
    };
    item(
        "Workflow",
        format!(
            "{} ({}), sha256 <code>{}</code>",
            esc(&r.workflow.name),
            esc(&r.workflow.source),
            esc(&r.workflow.sha256)
        ),
    );
    if !r.workflow.description.trim().is_empty() {
        item("About", esc(&r.workflow.description));
    }
    item("Status", esc(&r.status));
    item(
        "Model",
        format!(
            "{} at {}{}{}",
            esc(&r.model.model),
            esc(&r.model.base_url),
            r.model
                .profile
                .as_ref()
                .map_or(String::new(), |p| format!(" (profile {})", esc(p))),
            if r.model.offline { ", offline" } else { "" }
        ),
    );
    item("Started", esc(&short_time(&r.created_at)));
    item("Last change", esc(&short_time(&r.updated_at)));
    item("Phases", esc(&r.workflow.phases.join("; ")));
    item("Total", esc(&r.total_usage.describe()));
    out.push_str("</ul>\n");

    out.push_str("<h2 id=\"request\">Request</h2>\n");
    if r.request.is_empty() {
        out.push_str("<p>No request was recorded.</p>\n");
    }
    for input in &r.request {
        let _ = writeln!(
            out,
            "<p><strong>{}:</strong></p>\n<blockquote>{}</blockquote>",
            esc(&input.label),
            esc(input.text.trim_end())
        );
    }

    out.push_str("<h2 id=\"artifacts\">Approved artifacts</h2>\n");
    if r.artifacts.is_empty() {
        out.push_str("<p>Nothing was approved.</p>\n");
    }
    for a in &r.artifacts {
        let _ = writeln!(
            out,
            "<section class=\"artifact\" id=\"artifact-{}\">\n<h3>[{}] {}</h3>",
            attr_id(&a.id),
            esc(&a.id),
            esc(&a.title)
        );
        let by = a
            .approved_by
            .as_ref()
            .map_or(String::new(), |b| format!(" by {}", esc(b)));
        let _ = writeln!(
            out,
            "<p class=\"meta\">{}: {}{by} at {}, revision {}, sha256 <code>{}</code>, file <code>{}</code></p>",
            esc(&a.phase),
            esc(&a.state),
            esc(&short_time(&a.approved_at)),
            a.revision,
            esc(&a.sha256),
            esc(&a.path)
        );
        if let Some(note) = &a.note {
            let _ = writeln!(
                out,
                "<p>Note:</p>\n<blockquote>{}</blockquote>",
                esc(note.trim_end())
            );
        }
        match (&a.markdown, &a.problem) {
            (Some(text), _) => out.push_str(&markdown_html(&demote(text, 3))),
            (None, Some(problem)) => {
                let _ = writeln!(
                    out,
                    "<p><em>The approved text cannot be read: {}</em></p>",
                    esc(problem)
                );
            }
            (None, None) => {}
        }
        out.push_str("</section>\n");
    }

    out.push_str("<h2 id=\"decisions\">Decisions</h2>\n");
    if r.decisions.is_empty() {
        out.push_str("<p>No decision was recorded.</p>\n");
    } else {
        out.push_str("<table class=\"decisions\">\n<thead><tr><th>When</th><th>Artifact</th><th>Option</th><th>Action</th><th>By</th><th>Note</th></tr></thead>\n<tbody>\n");
        for d in &r.decisions {
            let on = match (&d.artifact, d.revision) {
                (Some(a), Some(rev)) => format!("[{}] r{rev}", esc(a)),
                (Some(a), None) => format!("[{}]", esc(a)),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{on}</td><td>{}</td><td>{}</td><td class=\"by\">{}</td><td>{}</td></tr>",
                esc(&short_time(&d.at)),
                esc(&d.option),
                esc(&d.action),
                esc(&d.by),
                esc(d.note.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }

    out.push_str("<h2 id=\"revisions\">Revisions and feedback</h2>\n");
    if r.revisions.is_empty() {
        out.push_str("<p>No draft was made.</p>\n");
    } else {
        out.push_str("<ul class=\"revisions\">\n");
        for v in &r.revisions {
            let usage = v
                .usage
                .map_or(String::new(), |u| format!(", {}", esc(&short_usage(&u))));
            let prompt = v.prompt_path.as_ref().map_or(String::new(), |p| {
                format!(" (prompt <code>{}</code>)", esc(p))
            });
            let _ = write!(
                out,
                "<li>[{}] revision {} at {}, by the {} {}{usage}: <code>{}</code>{prompt}",
                esc(&v.artifact),
                v.revision,
                esc(&short_time(&v.at)),
                esc(&v.source),
                esc(&v.by),
                esc(&v.path)
            );
            if let Some(feedback) = &v.feedback {
                let _ = write!(
                    out,
                    "<blockquote class=\"feedback\">{}</blockquote>",
                    esc(feedback.trim_end())
                );
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }

    out.push_str("<h2 id=\"evidence\">Evidence</h2>\n");
    if r.evidence.is_empty() {
        out.push_str("<p>No evidence was recorded.</p>\n");
    }
    for e in &r.evidence {
        let _ = writeln!(
            out,
            "<h3>[{}] {} ({})</h3>",
            esc(&e.artifact),
            esc(&e.id),
            esc(&e.kind)
        );
        let exit = e.exit_code.map_or(String::new(), |c| format!(", exit {c}"));
        let command = e.command.as_ref().map_or(String::new(), |c| {
            format!(", command <code>{}</code>", esc(c))
        });
        let _ = writeln!(
            out,
            "<p class=\"meta\">By {} at {}, file <code>{}</code>{command}{exit}</p>\n<pre>{}</pre>",
            esc(&e.by),
            esc(&short_time(&e.at)),
            esc(&e.path),
            esc(e.excerpt.trim_end())
        );
        if e.cut {
            out.push_str("<p class=\"meta\">(cut short; the whole file is in the run)</p>\n");
        }
    }

    out.push_str("<h2 id=\"usage\">Tokens and time</h2>\n<table class=\"usage\">\n<thead><tr><th>Phase</th><th class=\"n\">Requests</th><th class=\"n\">Prompt tokens</th><th class=\"n\">Completion tokens</th><th class=\"n\">Seconds</th></tr></thead>\n<tbody>\n");
    for p in &r.usage {
        out.push_str(&usage_row("", &esc(&p.phase), &p.usage));
    }
    out.push_str(&usage_row(" class=\"total\"", "Total", &r.total_usage));
    out.push_str("</tbody>\n</table>\n");
    if r.total_usage.requests_without_counts > 0 {
        let _ = writeln!(
            out,
            "<p>{} request(s) had no token counts from the server and are left out of the token totals.</p>",
            r.total_usage.requests_without_counts
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn usage_row(class: &str, name: &str, u: &Usage) -> String {
    format!(
        "<tr{class}><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td></tr>\n",
        u.requests,
        thousands(u.prompt_tokens),
        thousands(u.completion_tokens),
        u.seconds
    )
}

/// Text safe in HTML content and in quoted attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An artifact id as an element id: letters, digits, `-` and `.`.
fn attr_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Markdown as HTML, with raw HTML shown as text and links and images
/// shown as their text and address: nothing in the page points outside it.
pub(super) fn markdown_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut pending: Vec<String> = Vec::new();
    let mut events = Vec::new();
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                pending.push(dest_url.to_string());
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                if let Some(url) = pending.pop().filter(|u| !u.is_empty()) {
                    events.push(Event::Text(format!(" <{url}>").into()));
                }
            }
            other => events.push(other),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_links_and_images_in_markdown_are_text() {
        let html = markdown_html(
            "## Plan\n\n<script>alert(1)</script>\n\nSee [the runbook](https://evil.example/x) and ![logo](http://evil.example/l.png), inline <img src=x onerror=alert(2)>.\n",
        );
        assert!(html.contains("<h2>Plan</h2>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<a "), "{html}");
        assert!(!html.contains("href=\""), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{html}"
        );
        assert!(
            html.contains("the runbook &lt;https://evil.example/x&gt;"),
            "{html}"
        );
        assert!(
            html.contains("logo &lt;http://evil.example/l.png&gt;"),
            "{html}"
        );
    }

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(attr_id("MIG-4.2"), "MIG-4.2");
        assert_eq!(attr_id("a\"b"), "a_b");
    }
}
