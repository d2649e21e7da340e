//! File storage on disk: bytes live at `<STORAGE_DIR>/<uuid>`; uploads stream into a temp file
//! in the same directory (so the final rename is atomic) that is removed on any failure, and
//! temp files left by a crash are swept.

use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use crate::error::StartupError;

const TEMP_PREFIX: &str = ".upload-";
/// A temp file this old belongs to an upload that died without cleaning up (crash, kill).
pub const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// The storage directory.
#[derive(Clone, Debug)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// Creates the directory if needed and removes temp files left by an earlier crash (older than
    /// [`ORPHAN_AGE`]).
    pub async fn open(dir: &Path) -> Result<Storage, StartupError> {
        tokio::fs::create_dir_all(dir).await.map_err(|_| {
            StartupError::Storage(
                "STORAGE_DIR cannot be created: point it at a writable directory.".into(),
            )
        })?;
        let storage = Storage {
            dir: dir.to_path_buf(),
        };
        if !storage.writable().await {
            return Err(StartupError::Storage(
                "STORAGE_DIR is not writable: point it at a writable directory.".into(),
            ));
        }
        // Only old temp files: another replica sharing this directory may be mid-upload.
        storage.sweep(ORPHAN_AGE).await;
        Ok(storage)
    }

    /// Where the bytes of file `id` live.
    pub fn path_of(&self, id: Uuid) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// A fresh temp file path for an upload in progress.
    pub fn temp_path(&self) -> PathBuf {
        self.dir.join(format!("{TEMP_PREFIX}{}", Uuid::new_v4()))
    }

    /// Makes a rename durable by syncing the directory (off the async runtime).
    pub async fn sync_dir(&self) -> std::io::Result<()> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
            .await
            .map_err(std::io::Error::other)?
    }

    /// Creates and removes a probe file (readiness).
    pub async fn writable(&self) -> bool {
        let probe = self.dir.join(format!(".probe-{}", Uuid::new_v4()));
        let ok = tokio::fs::write(&probe, b"ok").await.is_ok();
        let _ = tokio::fs::remove_file(&probe).await;
        ok
    }

    /// Removes temp files older than `min_age` (upload temp files and readiness probes).
    pub async fn sweep(&self, min_age: Duration) -> usize {
        let mut removed = 0;
        let Ok(mut entries) = tokio::fs::read_dir(&self.dir).await else {
            return 0;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(TEMP_PREFIX) || name.starts_with(".probe-")) {
                continue;
            }
            let old_enough = match entry.metadata().await.and_then(|m| m.modified()) {
                Ok(modified) => modified.elapsed().map(|age| age >= min_age).unwrap_or(true),
                Err(_) => false,
            };
            if old_enough && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "swept orphan temp files");
        }
        removed
    }
}

/// The periodic orphan sweep of one [`Storage`]; the task stops when this is dropped, so it
/// lives exactly as long as the [`crate::state::AppState`] that holds it.
pub struct Sweeper(tokio::task::JoinHandle<()>);

/// How often [`Sweeper`] looks for orphans.
const SWEEP_PERIOD: Duration = Duration::from_secs(600);

impl Sweeper {
    /// Sweeps `storage` every [`SWEEP_PERIOD`]. [`Storage::open`] has just swept, so the first
    /// tick waits a whole period.
    pub fn start(storage: Storage) -> Sweeper {
        Sweeper(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + SWEEP_PERIOD;
            let mut tick = tokio::time::interval_at(start, SWEEP_PERIOD);
            loop {
                tick.tick().await;
                // Temp files older than an hour belong to uploads that died without cleanup.
                storage.sweep(ORPHAN_AGE).await;
            }
        }))
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A temp file removed on drop unless [`TempFile::keep`] was called (after the rename).
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// Takes charge of `path`.
    pub fn new(path: PathBuf) -> TempFile {
        TempFile { path: Some(path) }
    }

    /// The temp path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("path present until keep")
    }

    /// The file was renamed away: nothing to clean up.
    pub fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Synchronous on purpose: the bytes must be gone before the refusal is answered, and
            // an unlink is one short metadata operation.
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_sweeps_old_temp_files_but_keeps_stored_files_and_fresh_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let stored = dir.path().join(Uuid::new_v4().to_string());
        std::fs::write(&stored, b"x").unwrap();
        let orphan = dir.path().join(".upload-abc");
        std::fs::write(&orphan, b"half").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&orphan)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        let in_progress = dir.path().join(".upload-def");
        std::fs::write(&in_progress, b"uploading").unwrap();
        let s = Storage::open(dir.path()).await.unwrap();
        assert!(stored.exists());
        assert!(!orphan.exists(), "an old temp file is swept");
        assert!(
            in_progress.exists(),
            "a fresh temp file may be another replica's upload"
        );
        assert!(s.temp_path().starts_with(dir.path()));
    }

    #[test]
    fn temp_file_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".upload-x");
        std::fs::write(&p, b"x").unwrap();
        drop(TempFile::new(p.clone()));
        assert!(!p.exists(), "removed before drop returns");
    }
}
