//! Secrets in what people supply: context files, evidence (notes, files,
//! command output) and inputs are scanned for common secret shapes before a
//! draft request carries them to a server that is not on this machine, and
//! each match is replaced by `[REDACTED: kind]`. The copy in the run folder
//! keeps the original; only the request is redacted.
//!
//! A match is named by its kind and line, never by its value, so what is
//! recorded about it (the gate, `status`, the journal) leaks nothing. The
//! shapes favour catching a secret over sparing a harmless look-alike: a
//! redacted look-alike costs the model a few characters, a missed key costs
//! the key. Values that only point at a secret (`${DB_PASSWORD}`,
//! `<password>`, `****`) are left alone.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// One secret found: what it looks like, where, and the bytes to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// What it looks like: "AWS access key", "private key", ...
    pub kind: &'static str,
    /// The line it starts on, from 1.
    pub line: usize,
    /// The bytes of the value, the part that is replaced.
    pub range: Range<usize>,
}

/// A secret shape: a pattern and, when only part of a match is the secret
/// (the value after `password=`), the group that holds it.
struct Shape {
    kind: &'static str,
    pattern: Regex,
    /// The capture group of the value; 0 for the whole match.
    group: usize,
}

fn shape(kind: &'static str, pattern: &str, group: usize) -> Shape {
    Shape {
        kind,
        // The patterns are fixed strings tested below; one that failed to
        // compile would fail every test of this module.
        pattern: Regex::new(pattern).expect("static secret pattern"),
        group,
    }
}

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    vec![
        // A GCP service account's key file: the key is a JSON string with
        // escaped newlines, so the PEM shape above does not see it.
        shape(
            "GCP service account private key",
            r#""private_key"\s*:\s*"((?:[^"\\]|\\.)*)""#,
            1,
        ),
        shape(
            "GCP service account private key id",
            r#""private_key_id"\s*:\s*"([0-9a-fA-F]{16,})""#,
            1,
        ),
        shape(
            "private key",
            r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|\z)",
            0,
        ),
        shape("GCP API key", r"\bAIza[0-9A-Za-z_\-]{35}", 0),
        shape(
            "AWS access key",
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
            0,
        ),
        shape(
            "AWS secret access key",
            r#"(?i)\baws_?secret_?(?:access_?)?key\b["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b"#,
            1,
        ),
        shape(
            "Azure storage key",
            r"(?i)\b(?:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{20,}={0,2})",
            1,
        ),
        shape(
            "Azure shared access signature",
            r"[?&]sig=([A-Za-z0-9%+/]{20,}(?:%3D|=){0,2})",
            1,
        ),
        shape(
            "GitHub token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b",
            0,
        ),
        shape("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0),
        shape(
            "Slack webhook",
            r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+",
            0,
        ),
        shape(
            "API key",
            r"\b(?:sk|rk)[-_](?:live_|test_|proj-)?[A-Za-z0-9_\-]{20,}",
            0,
        ),
        shape(
            "JSON web token",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            0,
        ),
        shape(
            "bearer token",
            r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{12,}=*)",
            1,
        ),
        shape(
            "basic auth credentials",
            r"(?i)\bauthorization\s*:\s*basic\s+([A-Za-z0-9+/]{8,}={0,2})",
            1,
        ),
        shape(
            "URL with credentials",
            r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/:@]+:([^\s/@]+)@",
            1,
        ),
        // `password=VALUE` in any form: an env file, a DSN, a query string.
        shape(
            "password",
            r#"(?i)\b[a-z0-9_.\-]*?(?:password|passwd|passphrase|secret|secret[_-]?key|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)["']?[ \t]*=[ \t]*("[^"\n]*"|'[^'\n]*'|[^\s"',;&]+)"#,
            1,
        ),
        // `password: VALUE` as YAML or a header writes it: a quoted value,
        // or a single word that ends the line, so that prose such as
        // "the password: ask the DBA" is left alone.
        shape(
            "password",
            r#"(?im)\b[a-z0-9_.\-]*?(?:password|passwd|passphrase|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)["']?[ \t]*:[ \t]*("[^"\n]*"|'[^'\n]*'|[^\s"']+)[ \t]*,?[ \t]*\r?$"#,
            1,
        ),
    ]
});

/// Whether a value only points at a secret, or is empty: a variable, a
/// placeholder, a mask.
fn is_reference(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'').trim();
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with('%')
        || v.starts_with("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with("[REDACTED")
        || v.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '•'))
        || [
            "none", "null", "nil", "redacted", "changeme", "true", "false",
        ]
        .iter()
        .any(|w| v.eq_ignore_ascii_case(w))
}

/// Whether a token-shaped value looks like a token rather than a word:
/// "Bearer authentication" names a scheme, "Bearer 9f8e7d6c5b4a3f2e" is
/// one. A real token has a digit or a symbol among its characters.
fn plausible(kind: &str, value: &str) -> bool {
    match kind {
        "bearer token" | "basic auth credentials" => value
            .chars()
            .any(|c| c.is_ascii_digit() || "-._~+/=".contains(c)),
        _ => true,
    }
}

/// Every secret in `text`, in order; overlapping matches are one secret,
/// named by the shape that matched first.
pub fn find(text: &str) -> Vec<Secret> {
    let mut found: Vec<(Range<usize>, &'static str)> = Vec::new();
    for shape in SHAPES.iter() {
        for caps in shape.pattern.captures_iter(text) {
            let Some(range) = value_range(&caps, shape.group) else {
                continue;
            };
            let value = &text[range.clone()];
            if (shape.group != 0 && is_reference(value)) || !plausible(shape.kind, value) {
                continue;
            }
            let overlaps = found
                .iter()
                .any(|(r, _)| r.start < range.end && range.start < r.end);
            if !overlaps {
                found.push((range, shape.kind));
            }
        }
    }
    found.sort_by_key(|(r, _)| r.start);
    found
        .into_iter()
        .map(|(range, kind)| Secret {
            kind,
            line: text[..range.start].matches('\n').count() + 1,
            range,
        })
        .collect()
}

fn value_range(caps: &Captures<'_>, group: usize) -> Option<Range<usize>> {
    let m = caps.get(group)?;
    (!m.range().is_empty()).then(|| m.range())
}

/// `text` with every secret replaced by `[REDACTED: kind]`, and the
/// secrets found.
pub fn redact(text: &str) -> (String, Vec<Secret>) {
    let secrets = find(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in &secrets {
        out.push_str(&text[at..s.range.start]);
        out.push_str(&format!("[REDACTED: {}]", s.kind));
        at = s.range.end;
    }
    out.push_str(&text[at..]);
    (out, secrets)
}

#[cfg(test)]
mod tests;
