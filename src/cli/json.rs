//! The one way a command prints JSON: every document is an object whose
//! first field is `"schema_version"`, so a script can tell which shape it
//! reads (docs/json.md describes each shape). A list is wrapped under the
//! name the command gives it, because a bare array has nowhere to carry a
//! version.

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

/// The version of every JSON shape migagent prints. Raise it when a field
/// changes meaning or goes away; new fields do not raise it.
pub const SCHEMA_VERSION: u32 = 1;

/// Prints `value` (an object) with `schema_version` first.
pub(super) fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let doc = versioned(serde_json::to_value(value)?, "items");
    crate::outln!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// `value` (an object) as the document [`print_json`] prints, for a
/// command that writes it to a file instead (`report -o FILE`).
pub(super) fn json_document<T: Serialize>(value: &T) -> Result<String> {
    let doc = versioned(serde_json::to_value(value)?, "items");
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

/// Prints a list, or a map whose keys are data (artifact ids), as
/// `{"schema_version": 1, "<name>": ...}`.
pub(super) fn print_json_under<T: Serialize>(name: &str, value: &T) -> Result<()> {
    let doc = versioned(serde_json::to_value(value)?, name);
    let doc = match doc.get(name) {
        Some(_) => doc,
        None => {
            let mut wrapped = Map::new();
            wrapped.insert("schema_version".into(), Value::from(SCHEMA_VERSION));
            wrapped.insert(name.into(), serde_json::to_value(value)?);
            Value::Object(wrapped)
        }
    };
    crate::outln!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// `value` as an object with `schema_version` as its first field; anything
/// that is not an object is put under `name`.
fn versioned(value: Value, name: &str) -> Value {
    let mut doc = Map::new();
    doc.insert("schema_version".into(), Value::from(SCHEMA_VERSION));
    match value {
        Value::Object(fields) => {
            for (k, v) in fields {
                if k != "schema_version" {
                    doc.insert(k, v);
                }
            }
        }
        other => {
            doc.insert(name.into(), other);
        }
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_gets_the_version_first_and_a_list_is_wrapped() {
        let doc = versioned(json!({"run_id": "r", "schema_version": 7}), "items");
        assert_eq!(
            doc.as_object().unwrap().keys().next().unwrap(),
            "schema_version"
        );
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["run_id"], "r");
        let doc = versioned(json!([1, 2]), "runs");
        assert_eq!(doc, json!({"schema_version": 1, "runs": [1, 2]}));
    }
}
