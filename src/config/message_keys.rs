//! Every setting a message tells people to change is one the config
//! accepts: messages are read off the source, config keys off the
//! documented `config.toml`. (The idle timeout's message once named
//! `model.idle_timeout_secs`, which the config refused.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::library::BUILTIN_CONFIG;

/// Endings of names that are settings; other snake_case words in messages
/// are field names of the API or of JSON records.
const SETTING_SUFFIXES: &[&str] = &[
    "_secs", "_bytes", "_mb", "_chars", "_items", "_steps", "_hosts", "_env", "_dir", "_words",
    "_profile", "_tokens", "_url", "_timeout",
];

/// Keys and tables `config.toml` documents, set or commented out
/// (`# context_tokens = 8192` documents a key without setting it).
fn documented() -> (BTreeSet<String>, BTreeSet<String>) {
    let key = regex::Regex::new(r"^#?\s*([a-z][a-z0-9_]*)\s*=").unwrap();
    let table = regex::Regex::new(r"^#?\s*\[([a-z][a-z0-9_.]*)\]").unwrap();
    let mut keys = BTreeSet::new();
    let mut tables = BTreeSet::new();
    for line in BUILTIN_CONFIG.lines() {
        let line = line.trim();
        if let Some(c) = key.captures(line) {
            keys.insert(c[1].to_string());
        }
        if let Some(c) = table.captures(line) {
            let name = c[1].to_string();
            tables.insert(name.split('.').next().unwrap_or_default().to_string());
            tables.insert(name);
        }
    }
    (keys, tables)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && !matches!(name, "tests.rs" | "test_support.rs") {
            out.push(path);
        }
    }
}

/// The setting names in message strings of the library's code (not its
/// tests): literals with a space in them, placeholders left out.
fn named_in_messages() -> Vec<(String, PathBuf)> {
    // `(?s)`: a `\` that continues a literal on the next line is part of it.
    let literal = regex::Regex::new(r#"(?s)"(?:[^"\\]|\\.)*""#).unwrap();
    let placeholder = regex::Regex::new(r"\{[^{}]*\}").unwrap();
    // Raw strings (regexes) and character literals first: a `"` in them
    // would open a string.
    let raw = regex::Regex::new(r##"(?s)r#".*?"#"##).unwrap();
    let character = regex::Regex::new(r"'(?:\\.|[^'\\])'").unwrap();
    let name = regex::Regex::new(
        r"(?:^|[^A-Za-z0-9_.])((?:[a-z][a-z0-9_]*\.)*[a-z][a-z0-9]*(?:_[a-z0-9]+)+)",
    )
    .unwrap();
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let code = raw.replace_all(code, "\"\"");
        let code = character.replace_all(&code, "' '");
        for lit in literal.find_iter(&code) {
            let lit = placeholder.replace_all(lit.as_str(), "");
            if !lit.contains(' ') {
                continue;
            }
            for c in name.captures_iter(&lit) {
                let named = c[1].to_string();
                let last = named.rsplit('.').next().unwrap_or_default();
                if SETTING_SUFFIXES.iter().any(|s| last.ends_with(s)) {
                    out.push((named, file.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_setting_a_message_names_is_in_config_toml() {
    let (keys, tables) = documented();
    let named = named_in_messages();
    assert!(
        named.iter().any(|(n, _)| n == "idle_timeout_secs"),
        "the scan found no setting names, so it proves nothing: {named:?}"
    );
    let mut wrong = Vec::new();
    for (name, file) in &named {
        let mut parts: Vec<&str> = name.split('.').collect();
        let key = parts.pop().unwrap_or_default();
        let table_ok = parts.is_empty()
            || tables.contains(&parts.join("."))
            || (parts.first() == Some(&"profiles") && parts.len() == 2);
        if !keys.contains(key) || !table_ok {
            wrong.push(format!("{name} (in {})", file.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "messages name settings config.toml does not have: {wrong:?}"
    );
}

#[test]
fn a_setting_that_does_not_exist_is_caught() {
    let (keys, tables) = documented();
    assert!(keys.contains("request_timeout_secs") && keys.contains("context_tokens"));
    assert!(tables.contains("profiles") && !tables.contains("model"));
    assert!(!keys.contains("model_timeout_secs"));
}
