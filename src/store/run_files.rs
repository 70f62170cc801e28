//! Reading and writing the files inside a run folder: drafts, evidence,
//! copies of approved artifacts. Every write is atomic, and a file a
//! journal line will name never replaces another.

use std::fs::{self, File};

use super::run_dir::{sync_dir, RunDir};
use super::{io_err, write_atomic, StoreError};

impl RunDir {
    /// Writes a file inside the run, returning its run-relative path.
    pub fn write(&self, rel: &str, text: &str) -> Result<String, StoreError> {
        self.write_bytes(rel, text.as_bytes())
    }

    /// Writes raw bytes inside the run (evidence is kept as it was given,
    /// not as text), returning its run-relative path.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> Result<String, StoreError> {
        self.require_writable()?;
        write_atomic(&self.path().join(rel), bytes)?;
        Ok(rel.to_string())
    }

    /// Writes a file the journal will name (a draft, evidence), never over
    /// another: a file already there with other content was written by a
    /// command killed before it journalled it, and is set aside first. The
    /// same content is kept as it is.
    pub fn write_new(&self, rel: &str, bytes: &[u8]) -> Result<String, StoreError> {
        self.require_writable()?;
        let path = self.path().join(rel);
        match fs::read(&path) {
            Ok(existing) if existing == bytes => return Ok(rel.to_string()),
            Ok(_) => {
                self.set_aside(rel)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("read", &path)(e)),
        }
        write_atomic(&path, bytes)?;
        Ok(rel.to_string())
    }

    /// Moves a file no journal line records out of the way of a new one:
    /// `drafts/A.r2.md` becomes `drafts/A.r2.unrecorded-1.md`. Returns the
    /// new name, or `None` when there was no file.
    pub fn set_aside(&self, rel: &str) -> Result<Option<String>, StoreError> {
        self.require_writable()?;
        let path = self.path().join(rel);
        if !path.exists() {
            return Ok(None);
        }
        let (stem, ext) = match rel.rsplit_once('.') {
            Some((stem, ext)) if !ext.contains('/') => (stem, format!(".{ext}")),
            _ => (rel, String::new()),
        };
        let aside = (1..)
            .map(|n| format!("{stem}.unrecorded-{n}{ext}"))
            .find(|p| !self.path().join(p).exists())
            .unwrap_or_else(|| format!("{rel}.unrecorded"));
        fs::rename(&path, self.path().join(&aside)).map_err(io_err("set aside", &path))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir);
        }
        self.notice(format!(
            "run '{}': {rel} was written by a command killed before it journalled it; moved to {aside}",
            self.run_id()
        ));
        Ok(Some(aside))
    }

    /// The first `max` bytes of a file inside the run, and whether there
    /// was more: evidence files are kept whole, but only their head is read.
    pub fn read_head(&self, rel: &str, max: usize) -> Result<(Vec<u8>, bool), StoreError> {
        use std::io::Read;
        let path = self.path().join(rel);
        let file = File::open(&path).map_err(io_err("read", &path))?;
        let mut head = Vec::new();
        file.take(max as u64 + 1)
            .read_to_end(&mut head)
            .map_err(io_err("read", &path))?;
        let more = head.len() > max;
        head.truncate(max);
        Ok((head, more))
    }

    /// The sha256 of a file inside the run, read in pieces, so a large
    /// command output is hashed without holding it in memory.
    pub fn sha256_of(&self, rel: &str) -> Result<String, StoreError> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let path = self.path().join(rel);
        let mut file = File::open(&path).map_err(io_err("read", &path))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(io_err("read", &path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    /// The bytes of a file inside the run, as stored (a context file need
    /// not be UTF-8).
    pub fn read_bytes(&self, rel: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path().join(rel);
        fs::read(&path).map_err(io_err("read", &path))
    }

    pub fn read(&self, rel: &str) -> Result<String, StoreError> {
        let path = self.path().join(rel);
        fs::read_to_string(&path).map_err(io_err("read", &path))
    }
}
