//! Reading a file a person names: `--context`, `--need-file`, `--input
//! LABEL=@FILE`, `--feedback-file`, `edit --file`, an evidence file or
//! note file, `workflows validate FILE`, a library file, the config.
//!
//! Whatever the path turns out to be, the read is bounded and never blocks:
//! only a regular file is read, and only when it is within its limit. The
//! file is opened without blocking (`O_NONBLOCK`), so a FIFO with no writer
//! cannot hang a command (one that holds a run's lock, say), and its type
//! and size are taken from the open file itself, so a path swapped between
//! a check and the read cannot slip a device past the check. `/dev/zero`,
//! a pipe, a socket or a folder is refused before a single byte is read.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a named file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is {kind}, not a regular file; only a regular file is read (save the content to a file first)")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path} is {size} bytes, over the limit of {max} bytes ({limit})")]
    TooLarge {
        path: PathBuf,
        size: u64,
        max: u64,
        /// Where the limit comes from, so the message says what to change.
        limit: &'static str,
    },
}

/// The limit every file a person names is held to, unless a tighter one
/// applies: `max_file_mb` under `[limits]` in the config.
pub const LIMIT_SETTING: &str = "max_file_mb under [limits] in the config";

/// Opens `path` for reading if it is a regular file, without blocking;
/// returns the file and its size.
pub fn open_regular(path: &Path) -> Result<(File, u64), FileError> {
    let read_err = |source| FileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO opened for reading blocks until a writer comes, unless
        // opened non-blocking; a terminal must not become ours.
        options.custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&meta.file_type()),
        });
    }
    Ok((file, meta.len()))
}

/// The bytes of the regular file at `path`, at most `max` of them: a larger
/// file is refused before it is read, and one that grows past `max` while
/// being read is refused too. `limit` names the setting behind `max`.
pub fn read_regular(path: &Path, max: u64, limit: &'static str) -> Result<Vec<u8>, FileError> {
    let too_large = |size| FileError::TooLarge {
        path: path.to_path_buf(),
        size,
        max,
        limit,
    };
    let (file, size) = open_regular(path)?;
    if size > max {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_regular`] for a file that must be UTF-8 text (a request, an
/// input, feedback, an edited draft).
pub fn read_text(path: &Path, max: u64, limit: &'static str) -> Result<String, TextFileError> {
    let bytes = read_regular(path, max, limit)?;
    String::from_utf8(bytes).map_err(|e| TextFileError::NotUtf8 {
        path: path.to_path_buf(),
        at: e.utf8_error().valid_up_to(),
    })
}

/// Why a named text file was not read.
#[derive(Debug, thiserror::Error)]
pub enum TextFileError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path} is not UTF-8 text (the first invalid byte is at offset {at}); convert it, e.g. `iconv -f LATIN1 -t UTF-8`")]
    NotUtf8 { path: PathBuf, at: usize },
}

/// A file type in words, for the error.
fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// A limit in MiB from the config as bytes.
pub fn mib(mb: u64) -> u64 {
    mb.saturating_mul(1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.log");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_regular(&file, 5, LIMIT_SETTING).unwrap(), b"12345");
        let err = read_regular(&file, 4, LIMIT_SETTING).unwrap_err();
        assert!(
            matches!(
                err,
                FileError::TooLarge {
                    size: 5,
                    max: 4,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("[limits]"), "{err}");
        for (path, kind) in [
            (Path::new("/dev/zero"), "character device"),
            (dir.path(), "folder"),
        ] {
            let err = read_regular(path, 1 << 20, LIMIT_SETTING).unwrap_err();
            assert!(
                matches!(err, FileError::NotRegular { .. }) && err.to_string().contains(kind),
                "{err}"
            );
        }
        assert!(matches!(
            read_regular(&dir.path().join("missing"), 1, LIMIT_SETTING),
            Err(FileError::Read { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Without O_NONBLOCK this open would wait for a writer forever.
        let err = read_regular(&fifo, 1 << 20, LIMIT_SETTING).unwrap_err();
        assert!(err.to_string().contains("named pipe"), "{err}");
    }

    #[test]
    fn text_files_must_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latin1.txt");
        std::fs::write(&file, b"caf\xe9").unwrap();
        let err = read_text(&file, 100, LIMIT_SETTING).unwrap_err();
        assert!(
            err.to_string().contains("not UTF-8") && err.to_string().contains("offset 3"),
            "{err}"
        );
        std::fs::write(&file, "café").unwrap();
        assert_eq!(read_text(&file, 100, LIMIT_SETTING).unwrap(), "café");
    }
}
