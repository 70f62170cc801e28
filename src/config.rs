//! Configuration: the documented defaults in the repository's `config.toml`
//! (built into the binary), overlaid by the user's file, overlaid by
//! environment variables and flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::library::{user_config_dir, BUILTIN_CONFIG};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub model: ModelConfig,
    pub run: RunConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub base_url: String,
    pub api_key_env: String,
    pub model: String,
    pub temperature: Option<f32>,
    pub max_tokens: u32,
    pub connect_timeout_secs: u64,
    pub idle_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub state_dir: PathBuf,
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn parse_value(text: &str, path: &str) -> Result<toml::Value, ConfigError> {
    toml::from_str::<toml::Value>(text).map_err(|e| ConfigError::Invalid {
        path: path.to_string(),
        message: e.to_string(),
    })
}

impl Config {
    /// The configuration in effect: defaults, then `explicit` or the user's
    /// `config.toml` in the config folder if it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let mut value = parse_value(BUILTIN_CONFIG, "builtin:config.toml")?;
        let user_file = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => user_config_dir()
                .map(|d| d.join("config.toml"))
                .filter(|p| p.is_file()),
        };
        let mut shown = "builtin:config.toml".to_string();
        if let Some(path) = user_file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            shown = path.display().to_string();
            merge(&mut value, parse_value(&text, &shown)?);
        }
        value
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                path: shown,
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_config_parses() {
        let cfg = Config::load(None).unwrap();
        assert_eq!(cfg.model.api_key_env, "OPENAI_API_KEY");
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[model]\nbase_ulr = \"x\"\n").unwrap();
        let err = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(err.contains("c.toml") && err.contains("base_ulr"), "{err}");
    }

    #[test]
    fn user_file_overrides_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[model]\nmodel = \"local\"\n").unwrap();
        let cfg = Config::load(Some(&p)).unwrap();
        assert_eq!(cfg.model.model, "local");
        assert_eq!(cfg.model.api_key_env, "OPENAI_API_KEY");
    }
}
