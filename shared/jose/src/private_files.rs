//! Files only the hub's user may read, for key material: 0600 files in 0700 directories,
//! written atomically (temporary file, fsync, rename, fsync of the directory), and a
//! writers' lock per directory (`.lock`) so that processes sharing it (hub instances, the CLI)
//! never write the same key twice. The signing key ring and the staff TOTP keys live this way.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::util::random_id;

/// The lock file's name in a directory of private files.
pub const LOCK_FILE: &str = ".lock";

/// A file or directory could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot access {path}: {source}")]
pub struct FileError {
    /// The file or directory.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (0700) when absent and makes sure of its mode.
pub fn ensure_private_dir(dir: &Path) -> Result<(), FileError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(at(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(at(dir))
}

/// Takes the writers' exclusive lock on `dir/.lock` (creating `dir`); held until the file is
/// dropped.
pub fn lock_dir(dir: &Path) -> Result<File, FileError> {
    ensure_private_dir(dir)?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(at(&path))?;
    file.lock().map_err(at(&path))?;
    Ok(file)
}

/// Writes `name` in `dir` atomically with mode 0600: temporary file, fsync, rename, fsync of
/// the directory. A failed write leaves no temporary file behind.
pub fn write_private_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), FileError> {
    let tmp = dir.join(format!(".{name}.{}.tmp", random_id(9)));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, dir.join(name))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(at(&dir.join(name))(e));
    }
    sync_dir(dir)
}

/// Makes `dir`'s entries (renames, removals) durable.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_private_files_in_a_private_directory_under_a_lock() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("keys");
        let lock = lock_dir(&dir).unwrap();
        write_private_atomic(&dir, "k.json", b"{}\n").unwrap();
        write_private_atomic(&dir, "k.json", b"{\"v\":2}\n").unwrap();
        drop(lock);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("k.json")), 0o600);
        assert_eq!(fs::read(dir.join("k.json")).unwrap(), b"{\"v\":2}\n");
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".lock", "k.json"], "no temporary file left");
        let missing = write_private_atomic(&root.path().join("absent"), "k.json", b"x");
        assert!(missing.unwrap_err().path.ends_with("absent/k.json"));
    }
}
