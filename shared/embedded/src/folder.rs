//! The data folder is private (SPEC §14): the folder and every folder in it
//! 0700, every file 0600, including those of data folders made before this
//! rule (tightened when local mode opens them).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

/// The mode of a private folder.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) if missing and makes it private.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    set_mode(dir, DIR_MODE)
}

/// Writes `bytes` to `path` as a private file, atomically (a temporary file
/// renamed over it), so a reader never sees half a file.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, false)
}

/// [`write_private`], and on disk before it returns (keys and secrets: a
/// power loss must not leave an empty one behind).
pub fn write_private_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, true)
}

fn write(path: &Path, bytes: &[u8], durably: bool) -> io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    let mut file = options.open(&tmp)?;
    // A temporary file left behind by an earlier version may be wider.
    set_mode(&tmp, FILE_MODE)?;
    file.write_all(bytes)?;
    if durably {
        file.sync_all()?;
    }
    drop(file);
    fs::rename(&tmp, path)
}

/// Creates `path` private with `bytes`, durably, only if it does not exist:
/// `false` (and `path` untouched) when it does. The bytes go to a temporary
/// file of this call's own, linked into place whole, so two processes
/// creating it at once never see half a file, and one of them wins.
pub fn create_private_durably(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.{}.new", std::process::id(), unique()));
    let tmp = path.with_file_name(name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    let mut file = options.open(&tmp)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// A number no other call of this process has had.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Creates `path` empty and private if it does not exist (so that SQLite,
/// which gives its WAL and shared-memory files the database file's mode,
/// makes them private too), and makes it private if it does.
pub fn private_file(path: &Path) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    drop(options.open(path)?);
    set_mode(path, FILE_MODE)
}

/// Makes `dir` private, and every file and folder in it, at any depth.
/// Symbolic links are left alone (never followed).
pub fn tighten(dir: &Path) -> io::Result<()> {
    set_mode(dir, DIR_MODE)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            tighten(&path)?;
        } else if kind.is_file() {
            set_mode(&path, FILE_MODE)?;
        }
    }
    Ok(())
}

/// Sets the permission bits of `path` when they differ (no write otherwise).
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let current = fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    if current != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> io::Result<()> {
    Ok(())
}
