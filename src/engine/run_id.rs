//! Run ids people can read.

use crate::store;

/// `s` in lower case with each run of other characters as one `-`, at most
/// 40 characters: safe in file names and run ids.
pub(super) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(40).collect()
}

/// A readable run id: date, a slug of the need, and a short hash so two runs
/// started the same day on the same need do not collide.
pub fn make_run_id(need: Option<&str>) -> String {
    let date = time::OffsetDateTime::now_utc().date();
    let words: Vec<String> = need
        .unwrap_or("run")
        .split_whitespace()
        .take(5)
        .map(slug)
        .filter(|w| !w.is_empty())
        .collect();
    let base = if words.is_empty() {
        "run".to_string()
    } else {
        words.join("-")
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let hash = store::sha256_hex(format!("{nanos}{}{base}", std::process::id()).as_bytes());
    format!(
        "{date}-{}-{}",
        base.chars()
            .take(40)
            .collect::<String>()
            .trim_end_matches('-'),
        &hash[..4]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_readable() {
        let id = make_run_id(Some("Upgrade PostgreSQL 12 to 16!"));
        assert!(id.contains("-upgrade-postgresql-12-to-16-"), "{id}");
        assert!(store::validate_run_id(&id).is_ok());
    }
}
