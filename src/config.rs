//! Configuration: the documented defaults in the repository's `config.toml`
//! (built into the binary), overlaid by the user's file, overlaid by
//! environment variables and flags. A profile names one model server and how
//! to use it, so switching between a hosted API and a local server is one flag.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::library::{user_config_dir, BUILTIN_CONFIG};

/// The largest config file read: a config is a page of settings.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file: {0}")]
    File(#[from] crate::files::TextFileError),
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
    #[error("there is no profile '{name}' in the configuration (from {path}); the profiles are: {available}. Add [profiles.{name}] to your config.toml, or pick one of these")]
    NoProfile {
        name: String,
        path: String,
        available: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile used without `--profile` or `--offline`.
    pub profile: String,
    /// The profile `--offline` uses unless `--profile` names another.
    pub offline_profile: String,
    /// Hosts besides loopback that `--offline` may reach: an explicit opt-in.
    pub offline_allowed_hosts: Vec<String>,
    /// The name recorded with decisions when neither `--as` nor
    /// `MIGAGENT_APPROVER` gives one (see `cli::approver` for the order).
    #[serde(default)]
    pub approver: Option<String>,
    pub profiles: BTreeMap<String, Profile>,
    pub run: RunConfig,
    pub evidence: EvidenceConfig,
    pub limits: LimitsConfig,
    pub secrets: SecretsConfig,
    /// Library folders searched first when neither `--library` nor
    /// `MIGAGENT_LIBRARY` is given; made absolute against the folder of
    /// the file that sets them.
    #[serde(default)]
    pub library: Vec<PathBuf>,
    /// Which file the settings came from, for error messages.
    #[serde(skip)]
    pub source: String,
}

/// How an artifact keeps its template's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StructuredMode {
    /// JSON by schema when the server enforces one, else Markdown with one repair.
    #[default]
    Auto,
    /// Always JSON by schema; a server that ignores schemas is an error.
    Schema,
    /// Always Markdown.
    Off,
}

/// One model server and how to use it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub repeat_penalty: Option<f32>,
    #[serde(default = "defaults::max_tokens")]
    pub max_tokens: u32,
    pub context_tokens: Option<u32>,
    /// How many requests a panel sends at once. Left out: the server's
    /// slot count where it says (llama.cpp `/props`), else 4.
    pub max_parallel_requests: Option<usize>,
    #[serde(default)]
    pub structured: StructuredMode,
    #[serde(default = "defaults::max_text_chars")]
    pub max_text_chars: usize,
    #[serde(default = "defaults::max_item_chars")]
    pub max_item_chars: usize,
    #[serde(default = "defaults::max_list_items")]
    pub max_list_items: usize,
    #[serde(default = "defaults::max_steps")]
    pub max_steps: usize,
    #[serde(default = "defaults::connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    #[serde(default = "defaults::idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Longest one request may take in all, however steadily it streams.
    #[serde(default = "defaults::request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Largest answer taken from the server, in bytes of text.
    #[serde(default = "defaults::max_answer_bytes")]
    pub max_answer_bytes: usize,
}

mod defaults {
    pub fn max_tokens() -> u32 {
        4096
    }
    pub fn max_text_chars() -> usize {
        800
    }
    pub fn max_item_chars() -> usize {
        240
    }
    pub fn max_list_items() -> usize {
        8
    }
    pub fn max_steps() -> usize {
        12
    }
    pub fn connect_timeout_secs() -> u64 {
        10
    }
    pub fn idle_timeout_secs() -> u64 {
        300
    }
    pub fn request_timeout_secs() -> u64 {
        1800
    }
    pub fn max_answer_bytes() -> usize {
        1024 * 1024
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Where runs are kept; unset, the nearest `.migagent` folder upward
    /// from the current directory (as git finds `.git`), else `./.migagent`.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
}

/// How a step's evidence is gathered: `[evidence]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    /// Whether migagent may run the plan's commands (each after a yes).
    pub exec: bool,
    /// How long one command may run before it is killed.
    pub command_timeout_secs: u64,
    /// Values that claim success, besides the built-in ones (Pass, Met,
    /// Verified, Complete, Functioning, Migration successful).
    pub success_words: Vec<String>,
    /// How many characters of one evidence item a prompt carries.
    pub prompt_chars: usize,
}

/// Bounds on what migagent reads: `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// The largest file a person names (`--context`, `--need-file`,
    /// `--input @FILE`, `--feedback-file`, `edit --file`, evidence files),
    /// in MiB.
    pub max_file_mb: u64,
}

impl LimitsConfig {
    /// [`max_file_mb`](LimitsConfig::max_file_mb) in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        crate::files::mib(self.max_file_mb)
    }
}

/// When context files, evidence and inputs are scanned for secrets before
/// they are sent: `[secrets]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    pub redact: RedactMode,
}

/// Which model servers get redacted prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedactMode {
    /// Every server that is not on this machine (loopback).
    Remote,
    /// Every server, this machine's too.
    Always,
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

impl Profile {
    /// Refuses limits that would fail every request: a zero timeout or an
    /// answer limit too small for any draft.
    fn check(&self, name: &str, path: &str) -> Result<(), ConfigError> {
        let problem = if self.connect_timeout_secs == 0 {
            Some("connect_timeout_secs must be at least 1")
        } else if self.idle_timeout_secs == 0 {
            Some("idle_timeout_secs must be at least 1")
        } else if self.request_timeout_secs == 0 {
            Some("request_timeout_secs must be at least 1")
        } else if self.max_answer_bytes < 1024 {
            Some("max_answer_bytes must be at least 1024")
        } else if self.max_parallel_requests == Some(0) {
            Some("max_parallel_requests must be at least 1")
        } else {
            None
        };
        match problem {
            Some(p) => Err(ConfigError::Invalid {
                path: path.to_string(),
                message: format!("[profiles.{name}]: {p}"),
            }),
            None => Ok(()),
        }
    }

    /// The bounds of the schemas compiled for this profile's server.
    pub fn bounds(&self) -> crate::artifact_schema::Bounds {
        crate::artifact_schema::Bounds {
            max_text: self.max_text_chars,
            max_item: self.max_item_chars,
            max_items: self.max_list_items,
            max_steps: self.max_steps,
        }
    }
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
        let mut base_dir = None;
        if let Some(path) = user_file {
            let text =
                crate::files::read_text(&path, MAX_CONFIG_BYTES, "a config file's bound of 1 MiB")?;
            shown = path.display().to_string();
            base_dir = Some(path.parent().map(Path::to_path_buf).unwrap_or_default());
            let over = parse_value(&text, &shown)?;
            if over.get("model").is_some_and(toml::Value::is_table) {
                return Err(ConfigError::Invalid {
                    path: shown,
                    message: "the [model] table of migagent 0.1 is now a profile: rename it to \
                              [profiles.openai] (or [profiles.NAME] with `profile = \"NAME\"`)"
                        .into(),
                });
            }
            if over
                .get("evidence")
                .and_then(|e| e.get("max_file_mb"))
                .is_some()
            {
                return Err(ConfigError::Invalid {
                    path: shown,
                    message: "max_file_mb has moved from [evidence] to [limits], where it bounds \
                              every file you name (context, request, input, feedback, edit and \
                              evidence files): move the line under [limits]"
                        .into(),
                });
            }
            merge(&mut value, over);
        }
        let mut config: Config =
            value
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
        config.source = shown;
        for (name, profile) in &config.profiles {
            profile.check(name, &config.source)?;
        }
        // Relative library folders are relative to the file that names
        // them, not to wherever migagent runs; the built-in file names none.
        if let Some(dir) = base_dir {
            let dir = std::path::absolute(&dir).unwrap_or(dir);
            for p in &mut config.library {
                *p = dir.join(&*p);
            }
        }
        Ok(config)
    }

    /// The profile called `name`, or an error listing the ones there are.
    pub fn profile(&self, name: &str) -> Result<&Profile, ConfigError> {
        self.profiles
            .get(name)
            .ok_or_else(|| ConfigError::NoProfile {
                name: name.to_string(),
                path: self.source.clone(),
                available: self.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_config_parses_with_both_profiles() {
        let cfg = Config::load(None).unwrap();
        let openai = cfg.profile("openai").unwrap();
        assert_eq!(openai.api_key_env.as_deref(), Some("OPENAI_API_KEY"));
        let local = cfg.profile("local").unwrap();
        assert!(local.base_url.is_none() && local.api_key_env.is_none() && local.model.is_none());
        assert_eq!(cfg.offline_profile, "local");
        assert!(cfg.offline_allowed_hosts.is_empty());
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[profiles.openai]\nbase_ulr = \"x\"\n").unwrap();
        let err = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(err.contains("c.toml") && err.contains("base_ulr"), "{err}");
    }

    #[test]
    fn user_file_overrides_one_key_and_adds_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[profiles.openai]\nmodel = \"gpt-x\"\n[profiles.gpu]\nbase_url = \"http://10.0.0.12:8000/v1\"\n",
        )
        .unwrap();
        let cfg = Config::load(Some(&p)).unwrap();
        assert_eq!(
            cfg.profile("openai").unwrap().model.as_deref(),
            Some("gpt-x")
        );
        assert_eq!(
            cfg.profile("openai").unwrap().api_key_env.as_deref(),
            Some("OPENAI_API_KEY")
        );
        let gpu = cfg.profile("gpu").unwrap();
        assert_eq!(gpu.max_tokens, 4096);
        assert_eq!(gpu.structured, StructuredMode::Auto);
        let err = cfg.profile("nope").unwrap_err().to_string();
        assert!(err.contains("gpu, local, openai"), "{err}");
    }

    #[test]
    fn library_folders_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "library = [\"../team-lib\", \"/abs/lib\"]\n").unwrap();
        let cfg = Config::load(Some(&p)).unwrap();
        assert_eq!(
            cfg.library,
            [dir.path().join("../team-lib"), PathBuf::from("/abs/lib")]
        );
    }

    #[test]
    fn the_old_model_table_gets_a_migration_hint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[model]\nmodel = \"local\"\n").unwrap();
        let err = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(err.contains("[profiles.openai]"), "{err}");
    }

    #[test]
    fn max_file_mb_lives_under_limits() {
        let cfg = Config::load(None).unwrap();
        assert_eq!(cfg.limits.max_file_bytes(), 64 * 1024 * 1024);
        assert_eq!(cfg.secrets.redact, RedactMode::Remote);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[limits]\nmax_file_mb = 2\n[secrets]\nredact = \"always\"\n",
        )
        .unwrap();
        let cfg = Config::load(Some(&p)).unwrap();
        assert_eq!(cfg.limits.max_file_bytes(), 2 * 1024 * 1024);
        assert_eq!(cfg.secrets.redact, RedactMode::Always);
        std::fs::write(&p, "[evidence]\nmax_file_mb = 2\n").unwrap();
        let err = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(err.contains("moved from [evidence] to [limits]"), "{err}");
        // The config itself is read like any named file: not a folder.
        let err = Config::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("folder"), "{err}");
    }

    #[test]
    fn a_bad_structured_value_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[profiles.local]\nstructured = \"always\"\n").unwrap();
        let err = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(err.contains("always"), "{err}");
    }
}

#[cfg(test)]
mod message_keys;
