//! Evidence for a step of a per-step phase: the step card read from the
//! approved plan ([`card`]), commands run with a person's yes
//! ([`command`]), and the rule that a result may not claim success without
//! proof ([`claims`]).
//!
//! The engine decides when evidence is asked for and records it; this
//! module only reads plans, runs what it is told to run and checks claims.

pub mod card;
pub mod claims;
pub mod command;

use std::time::Duration;

pub use card::{CardCommand, StepCard};

/// How evidence is gathered and judged, from `[evidence]` in the config.
#[derive(Debug, Clone)]
pub struct EvidenceSettings {
    /// Whether migagent may run the plan's commands at all.
    pub exec: bool,
    /// How long one command may run before its process group is killed.
    pub command_timeout: Duration,
    /// Variables a command never sees: the model's API key and any other
    /// the profile names.
    pub scrub_env: Vec<String>,
    /// Values a result may not pick without proof.
    pub success_words: Vec<String>,
    /// How much of one evidence item a prompt carries; the file on disk
    /// stays whole.
    pub prompt_chars: usize,
    /// The largest file a person may supply as evidence.
    pub max_file_bytes: u64,
}

/// Why a file a person supplied cannot be taken as evidence.
#[derive(Debug, thiserror::Error)]
pub enum SuppliedFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a regular file (a folder, a device or a pipe cannot be evidence); save its content to a file first")]
    NotRegular { path: std::path::PathBuf },
    #[error("{path} is {size} bytes, over the {max}-byte limit for evidence files (max_file_mb under [evidence] in the config)")]
    TooLarge {
        path: std::path::PathBuf,
        size: u64,
        max: u64,
    },
}

/// The bytes of a file a person supplies, read only when it is a regular
/// file within `max` bytes: a FIFO or `/dev/zero` is refused before any
/// read, never read until memory runs out.
pub fn read_supplied(path: &std::path::Path, max: u64) -> Result<Vec<u8>, SuppliedFileError> {
    use std::io::Read;
    let read_err = |source| SuppliedFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(SuppliedFileError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > max {
        return Err(SuppliedFileError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            max,
        });
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read_err)?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > max {
        return Err(SuppliedFileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        EvidenceSettings {
            exec: true,
            command_timeout: Duration::from_secs(600),
            scrub_env: vec!["OPENAI_API_KEY".into()],
            success_words: claims::DEFAULT_SUCCESS_WORDS
                .iter()
                .map(|w| w.to_string())
                .collect(),
            prompt_chars: 4000,
            max_file_bytes: 64 * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.log");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_supplied(&file, 5).unwrap(), b"12345");
        assert!(matches!(
            read_supplied(&file, 4),
            Err(SuppliedFileError::TooLarge {
                size: 5,
                max: 4,
                ..
            })
        ));
        assert!(matches!(
            read_supplied(std::path::Path::new("/dev/zero"), 1 << 20),
            Err(SuppliedFileError::NotRegular { .. })
        ));
        assert!(matches!(
            read_supplied(dir.path(), 1 << 20),
            Err(SuppliedFileError::NotRegular { .. })
        ));
        assert!(matches!(
            read_supplied(&dir.path().join("missing"), 1),
            Err(SuppliedFileError::Read { .. })
        ));
    }
}
