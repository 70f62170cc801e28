//! The journal read as a timeline: one entry per line with its time, event,
//! artifact, who and a short summary, and the tokens and time the model
//! spent. `migagent log` prints it; the report and `list` add up its usage.
//!
//! It reads the journal's JSON values rather than [`EventKind`]
//! (which is only written): lines of earlier versions, and kinds this
//! version does not know, still read, summarised by their name.
//!
//! [`EventKind`]: crate::store::EventKind

use serde::Serialize;
use serde_json::Value;

/// One journal line as a person reads it.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// The journal line, from 1.
    pub line: usize,
    pub at: String,
    /// The event's name as the journal writes it (`drafted`, `approved`).
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// The person (or model) behind the event, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// A one-line summary of what happened.
    pub summary: String,
    /// The model's usage, for the events that asked it something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// Tokens and time spent asking the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Requests answered (a draft, a repair, a panel member's review).
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Requests whose server did not report its token counts: the totals
    /// leave them out.
    pub requests_without_counts: u64,
    /// Wall time waiting for answers, in seconds.
    pub seconds: f64,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    pub fn add(&mut self, other: &Usage) {
        self.requests += other.requests;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.requests_without_counts += other.requests_without_counts;
        self.seconds += other.seconds;
    }

    /// The usage a journal line records: drafts, repairs and panel reviews
    /// each asked the model once.
    pub fn of_event(event: &Value) -> Option<Usage> {
        let kind = event.get("event").and_then(Value::as_str)?;
        if !matches!(kind, "drafted" | "repair_requested" | "panel_finding") {
            return None;
        }
        let prompt = event.get("prompt_tokens").and_then(Value::as_u64);
        let completion = event.get("completion_tokens").and_then(Value::as_u64);
        Some(Usage {
            requests: 1,
            prompt_tokens: prompt.unwrap_or(0),
            completion_tokens: completion.unwrap_or(0),
            requests_without_counts: u64::from(prompt.is_none() && completion.is_none()),
            seconds: event.get("seconds").and_then(Value::as_f64).unwrap_or(0.0),
        })
    }

    /// The usage of a whole journal.
    pub fn of_journal(events: &[Value]) -> Usage {
        let mut total = Usage::default();
        for u in events.iter().filter_map(Usage::of_event) {
            total.add(&u);
        }
        total
    }

    /// "1,234 tokens (1,000 in, 234 out), 3 requests, 12.5 s".
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} tokens ({} in, {} out), {} request{}, {:.1} s",
            thousands(self.total_tokens()),
            thousands(self.prompt_tokens),
            thousands(self.completion_tokens),
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            self.seconds
        );
        if self.requests_without_counts > 0 {
            text.push_str(&format!(
                "; {} without token counts from the server",
                self.requests_without_counts
            ));
        }
        text
    }
}

/// An RFC 3339 time from the journal to the second, for people:
/// `2026-01-02T03:04:05.123456789Z` as `2026-01-02 03:04:05Z`. Anything
/// else is shown as it is.
pub fn short_time(at: &str) -> String {
    let bytes = at.as_bytes();
    let shaped = at.len() >= 19
        && at.is_char_boundary(19)
        && bytes.get(10) == Some(&b'T')
        && bytes.get(4) == Some(&b'-')
        && bytes.get(13) == Some(&b':');
    if !shaped {
        return at.to_string();
    }
    let zone = if at.ends_with('Z') { "Z" } else { "" };
    format!("{} {}{zone}", &at[..10], &at[11..19])
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The journal's events (in order, as read) as a timeline.
pub fn timeline(events: &[Value]) -> Vec<TimelineEntry> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| entry(i + 1, e))
        .collect()
}

fn entry(line: usize, e: &Value) -> TimelineEntry {
    let s = |key: &str| e.get(key).and_then(Value::as_str).map(str::to_string);
    let t = |key: &str| s(key).unwrap_or_default();
    let event = t("event");
    let by = s("by")
        .or_else(|| s("approver"))
        .or_else(|| match event.as_str() {
            "drafted" | "panel_finding" | "repair_requested" => s("model"),
            _ => None,
        });
    let usage = Usage::of_event(e);
    let tokens = usage.map_or(String::new(), |u| {
        format!(
            ", {} tokens, {:.1} s",
            thousands(u.total_tokens()),
            u.seconds
        )
    });
    let summary = match event.as_str() {
        "run_started" => format!(
            "started workflow {} with model {}",
            t("workflow"),
            t("model")
        ),
        "context_added" => format!("context file {} stored as {}", t("original"), t("stored")),
        "input_supplied" => format!("input '{}' given as {}", t("label"), t("given_as")),
        "drafted" => {
            let mut text = format!("draft {}{tokens}", t("path"));
            if e.get("truncated").and_then(Value::as_bool) == Some(true) {
                text.push_str(", stopped at the token limit");
            }
            let missing = list(e, "missing_sections");
            if !missing.is_empty() {
                text.push_str(&format!(", missing {}", missing.join(", ")));
            }
            text
        }
        "secrets_redacted" => format!(
            "{} secret(s) left out of the request",
            e.get("redactions")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        ),
        "repair_requested" => format!("asked again: {}{tokens}", t("reason")),
        "panel_finding" => format!("{}'s findings {}{tokens}", t("member"), t("path")),
        "edited" => format!("a person's edit became {}", t("path")),
        "decided" => format!("chose '{}'", t("option")),
        "revised" => format!("feedback: {}", t("feedback")),
        "approved" => match s("note") {
            Some(note) => format!("approved, note: {note}"),
            None => "approved".into(),
        },
        "accepted" => format!("accepted: {}", t("reason")),
        "rolled_back" => format!("rolled back ({}), then {}", t("reason"), t("then")),
        "aborted" => format!("aborted: {}", t("reason")),
        "awaiting_evidence" => "waiting for evidence".into(),
        "evidence_added" => {
            let what = s("command").unwrap_or_else(|| t("path"));
            let exit = e
                .get("exit_code")
                .and_then(Value::as_i64)
                .map_or(String::new(), |c| format!(", exit {c}"));
            format!("{} {}: {what}{exit}", t("kind"), t("evidence"))
        }
        "rollback_started" => format!("rollback started with '{}': {}", t("option"), t("reason")),
        "sent_back" => format!("sent back to {}: {}", t("to_artifact"), t("reason")),
        "marked_stale" => format!("to be redrafted: {}", t("because")),
        "point_of_no_return_confirmed" => "went past the point of no return".into(),
        "completed" => "workflow complete".into(),
        "" => "(a line without an event name)".into(),
        other => other.replace('_', " "),
    };
    TimelineEntry {
        line,
        at: t("at"),
        artifact: s("artifact").or_else(|| s("from_artifact")),
        revision: e
            .get("revision")
            .and_then(Value::as_u64)
            .and_then(|r| u32::try_from(r).ok()),
        event,
        by,
        summary: one_line(&summary),
        usage,
    }
}

fn list(e: &Value, key: &str) -> Vec<String> {
    e.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A summary on one line, cut short: feedback and reasons can run to
/// paragraphs, which `show` and the report give whole.
fn one_line(text: &str) -> String {
    const MAX: usize = 160;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX {
        return flat;
    }
    let cut: String = flat.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_adds_drafts_repairs_and_panel_reviews_and_counts_the_unreported() {
        let events = vec![
            json!({"event": "run_started"}),
            json!({"event": "drafted", "prompt_tokens": 1000, "completion_tokens": 200, "seconds": 2.5}),
            json!({"event": "repair_requested", "prompt_tokens": 10, "completion_tokens": 5, "seconds": 0.5}),
            json!({"event": "panel_finding", "seconds": 1.0}),
            json!({"event": "approved", "prompt_tokens": 99}),
        ];
        let u = Usage::of_journal(&events);
        assert_eq!(u.requests, 3);
        assert_eq!(u.prompt_tokens, 1010);
        assert_eq!(u.completion_tokens, 205);
        assert_eq!(u.requests_without_counts, 1);
        assert_eq!(u.total_tokens(), 1215);
        assert!((u.seconds - 4.0).abs() < 1e-9);
        assert_eq!(
            u.describe(),
            "1,215 tokens (1,010 in, 205 out), 3 requests, 4.0 s; 1 without token counts from the server"
        );
    }

    #[test]
    fn each_line_gets_who_and_a_one_line_summary() {
        let long = "word ".repeat(100);
        let entries = timeline(&[
            json!({"event": "approved", "at": "t1", "artifact": "MIG-1", "revision": 2, "approver": "ana", "note": "fine"}),
            json!({"event": "revised", "at": "t2", "artifact": "MIG-2", "by": "bo", "feedback": long}),
            json!({"event": "drafted", "model": "m", "path": "drafts/A.r1.md", "prompt_tokens": 1200, "completion_tokens": 34, "seconds": 1.5}),
            json!({"event": "something_new"}),
        ]);
        assert_eq!(entries[0].line, 1);
        assert_eq!(entries[0].by.as_deref(), Some("ana"));
        assert_eq!(entries[0].revision, Some(2));
        assert_eq!(entries[0].summary, "approved, note: fine");
        assert!(entries[1].summary.ends_with('…'));
        assert!(entries[1].summary.chars().count() <= 160);
        assert_eq!(entries[2].by.as_deref(), Some("m"));
        assert_eq!(
            entries[2].summary,
            "draft drafts/A.r1.md, 1,234 tokens, 1.5 s"
        );
        assert_eq!(entries[3].summary, "something new");
    }

    #[test]
    fn times_are_shown_to_the_second() {
        assert_eq!(
            short_time("2026-12-06T19:57:21.807365618Z"),
            "2026-12-06 19:57:21Z"
        );
        assert_eq!(
            short_time("2026-12-06T19:57:21+02:00"),
            "2026-12-06 19:57:21"
        );
        assert_eq!(short_time("unknown-time"), "unknown-time");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
