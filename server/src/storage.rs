//! File storage on disk: bytes live at `<STORAGE_DIR>/<uuid>`; uploads stream into a temp file
//! in the same directory (so the final rename is atomic) that is removed on any failure.
//!
//! What a crash (`kill -9`, power loss) can leave behind is swept, at start-up and every
//! [`sweep_period`]:
//! - a temp file of an upload that died mid-body: untouched for the grace period
//!   (`ORPHAN_GRACE_SECS`), it is removed;
//! - a stored `<uuid>` whose row never committed (or whose delete committed but whose bytes were
//!   not yet unlinked). Before the rename (upload) or the commit (delete) a *pending marker*
//!   `.pending-<uuid>.<owner>` is written and the directory synced with the rename; it is removed
//!   once the outcome is known. A marker older than the grace period means the process died in
//!   between: the sweeper asks the database, as the owner, whether the row exists, removes the
//!   bytes if it does not and then the marker. Nothing without a marker is ever removed, so a
//!   stored file is only deleted on its own owner's missing row.

use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use crate::auth::Claims;
use crate::db::Db;
use crate::error::StartupError;

const TEMP_PREFIX: &str = ".upload-";
const PENDING_PREFIX: &str = ".pending-";
/// The database check of one pending marker gives up after this long (left for the next sweep).
const PENDING_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often [`Sweeper`] sweeps with a grace period of `grace`: a quarter of it, between 1 s and
/// a minute, so an orphan goes at most a minute after its grace period.
pub fn sweep_period(grace: Duration) -> Duration {
    (grace / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// The storage directory.
#[derive(Clone, Debug)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// Creates the directory if needed and checks that it is writable.
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

    /// Writes the pending marker of file `id` owned by `owner` (see the module docs); it becomes
    /// durable with the next [`Storage::sync_dir`].
    pub async fn mark_pending(&self, id: Uuid, owner: Uuid) -> std::io::Result<()> {
        tokio::fs::write(self.pending_path(id, owner), b"").await
    }

    /// Removes the pending marker once the row's outcome is known.
    pub async fn clear_pending(&self, id: Uuid, owner: Uuid) {
        remove_if_present(&self.pending_path(id, owner)).await;
    }

    fn pending_path(&self, id: Uuid, owner: Uuid) -> PathBuf {
        self.dir.join(format!("{PENDING_PREFIX}{id}.{owner}"))
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

    /// Removes temp files untouched for `grace` (upload temp files and readiness probes) and
    /// settles pending markers older than `grace` (see the module docs). A younger file may be
    /// an upload in progress here or in another replica sharing the directory.
    pub async fn sweep(&self, db: &Db, grace: Duration) -> Swept {
        let mut swept = Swept {
            temp: self.sweep_temp(grace).await,
            pending: 0,
        };
        for name in self
            .old_entries(grace, |n| n.starts_with(PENDING_PREFIX))
            .await
        {
            let parsed = name.strip_prefix(PENDING_PREFIX).and_then(parse_pending);
            if let Some((id, owner)) = parsed {
                match self.settle(db, id, owner).await {
                    Settled::Done => swept.pending += 1,
                    Settled::InFlight => {}
                    // The database did not answer: the others wait for the next sweep rather
                    // than a timeout each (start-up waits for this sweep).
                    Settled::Unanswered => break,
                }
            }
        }
        if swept.temp > 0 || swept.pending > 0 {
            tracing::info!(
                temp_files = swept.temp,
                pending = swept.pending,
                "swept what dead uploads and deletes left"
            );
        }
        swept
    }

    /// Removes temp files (uploads, readiness probes) untouched for `grace`; returns how many.
    pub async fn sweep_temp(&self, grace: Duration) -> usize {
        let mut removed = 0;
        let temp = |n: &str| n.starts_with(TEMP_PREFIX) || n.starts_with(".probe-");
        for name in self.old_entries(grace, temp).await {
            if tokio::fs::remove_file(self.dir.join(name)).await.is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Names in the directory that `wanted` selects and that were last modified `grace` ago or
    /// earlier.
    async fn old_entries(&self, grace: Duration, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let mut found = Vec::new();
        let Ok(mut entries) = tokio::fs::read_dir(&self.dir).await else {
            return found;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !wanted(&name) {
                continue;
            }
            let old_enough = match entry.metadata().await.and_then(|m| m.modified()) {
                // A modification time in the future (a clock stepped back) is not old: a marker of an
                // upload still in flight must never be settled early.
                Ok(modified) => modified.elapsed().is_ok_and(|age| age >= grace),
                Err(_) => false,
            };
            if old_enough {
                found.push(name);
            }
        }
        found
    }

    /// Settles one old pending marker: the bytes go if `owner` has no row `id`, then the marker.
    /// An upload whose transaction is still open is left alone however old its marker.
    async fn settle(&self, db: &Db, id: Uuid, owner: Uuid) -> Settled {
        let claims = Claims::acting_for(owner);
        let exists = tokio::time::timeout(PENDING_CHECK_TIMEOUT, db.settled_row(&claims, id));
        match exists.await {
            Ok(Ok(Some(true))) => {}
            Ok(Ok(None)) => return Settled::InFlight,
            Ok(Ok(Some(false))) => {
                tracing::info!(file_id = %id, "removing the bytes of an upload that never committed");
                remove_if_present(&self.path_of(id)).await;
            }
            Ok(Err(_)) | Err(_) => return Settled::Unanswered,
        }
        self.clear_pending(id, owner).await;
        Settled::Done
    }
}

/// What became of one pending marker in a sweep.
enum Settled {
    /// Its bytes kept or removed, the marker gone.
    Done,
    /// Its upload's transaction is still open: left for the next sweep.
    InFlight,
    /// The database did not answer: left for the next sweep.
    Unanswered,
}

/// What one [`Storage::sweep`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Temp files (dead uploads, probes).
    pub temp: usize,
    /// Pending markers settled (with the bytes, when their row was missing).
    pub pending: usize,
}

/// `<uuid>.<owner>` of a pending marker's name.
fn parse_pending(rest: &str) -> Option<(Uuid, Uuid)> {
    let (id, owner) = rest.split_once('.')?;
    Some((id.parse().ok()?, owner.parse().ok()?))
}

async fn remove_if_present(path: &Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(error = %e, path = %path.display(), "could not remove a file"),
    }
}

/// The periodic orphan sweep of one [`Storage`]; the task stops when this is dropped, so it
/// lives exactly as long as the [`crate::state::AppState`] that holds it.
pub struct Sweeper(tokio::task::JoinHandle<()>);

impl Sweeper {
    /// Sweeps `storage` every [`sweep_period`] of `grace`. `App::build` has just swept, so the
    /// first tick waits a whole period.
    pub fn start(storage: Storage, db: Db, grace: Duration) -> Sweeper {
        let period = sweep_period(grace);
        Sweeper(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + period;
            let mut tick = tokio::time::interval_at(start, period);
            loop {
                tick.tick().await;
                storage.sweep(&db, grace).await;
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
    async fn the_temp_sweep_removes_old_temp_files_but_keeps_stored_files_and_fresh_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let stored = dir.path().join(Uuid::new_v4().to_string());
        std::fs::write(&stored, b"x").unwrap();
        let orphan = dir.path().join(".upload-abc");
        std::fs::write(&orphan, b"half").unwrap();
        let ten_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(600);
        for old in [&orphan, &stored] {
            std::fs::File::options()
                .write(true)
                .open(old)
                .unwrap()
                .set_modified(ten_minutes_ago)
                .unwrap();
        }
        let in_progress = dir.path().join(".upload-def");
        std::fs::write(&in_progress, b"uploading").unwrap();
        let s = Storage::open(dir.path()).await.unwrap();
        assert_eq!(s.sweep_temp(Duration::from_secs(300)).await, 1);
        assert!(
            stored.exists(),
            "stored bytes are never swept as temp files"
        );
        assert!(!orphan.exists(), "an old temp file is swept");
        assert!(
            in_progress.exists(),
            "a fresh temp file may be another replica's upload"
        );
        assert!(s.temp_path().starts_with(dir.path()));
    }

    #[test]
    fn pending_markers_name_the_file_and_its_owner() {
        let storage = Storage {
            dir: PathBuf::from("/s"),
        };
        let (id, owner) = (Uuid::new_v4(), Uuid::new_v4());
        let path = storage.pending_path(id, owner);
        let name = path.file_name().unwrap().to_str().unwrap();
        let rest = name.strip_prefix(PENDING_PREFIX).unwrap();
        assert_eq!(parse_pending(rest), Some((id, owner)));
        assert_eq!(parse_pending("not-a-uuid.also-not"), None);
        assert_eq!(parse_pending(&id.to_string()), None);
    }

    #[test]
    fn the_sweep_period_is_a_quarter_of_the_grace_within_a_second_and_a_minute() {
        assert_eq!(
            sweep_period(Duration::from_secs(300)),
            Duration::from_secs(60)
        );
        assert_eq!(
            sweep_period(Duration::from_secs(40)),
            Duration::from_secs(10)
        );
        assert_eq!(sweep_period(Duration::from_secs(2)), Duration::from_secs(1));
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
