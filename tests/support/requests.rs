//! Reading the chat requests the fake server received: their messages, and
//! the parts of migagent's assembly templates a test or the fake model looks
//! for.

use serde_json::Value;

/// The content of the first message with `role` in a chat request body.
pub fn message(body: &Value, role: &str) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["role"] == role))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The user message of a chat request body.
pub fn user_message(body: &Value) -> String {
    message(body, "user")
}

/// The system message of a chat request body.
pub fn system_message(body: &Value) -> String {
    message(body, "system")
}

/// The artifact id a request drafts, from the `# Task: ID: Title` or
/// `# Panel review: ID: Title` line of the assembly templates.
pub fn requested_artifact(user: &str) -> String {
    let rest = user
        .lines()
        .find_map(|l| {
            l.strip_prefix("# Task: ")
                .or_else(|| l.strip_prefix("# Panel review: "))
        })
        .unwrap_or("");
    rest.split(':').next().unwrap_or("").trim().to_string()
}

/// The template block of a draft request: the fenced block after
/// "## Artifact template".
pub fn template_in(user: &str) -> Option<String> {
    let after = user.split("## Artifact template").nth(1)?;
    let start = after.find("````markdown\n")? + "````markdown\n".len();
    let end = after[start..].find("\n````")?;
    Some(after[start..start + end].to_string())
}
