//! Atomic file writes, shared by [`crate::io`], [`crate::plot`] and [`crate::data`]: a file is
//! written to a new temporary file beside it, synced, then renamed over it, so a reader or a
//! crash sees either the old file whole or the new one whole, never half of one.
//!
//! Replacing a file keeps its permissions (a `0600` file stays `0600`), and a file that could not
//! be written in place is refused rather than replaced (renaming over a file needs only the right
//! to write its directory): see [`write_atomic_with`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers the temporary files of this process apart.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `path` through a temporary file in the same directory: `write` fills the temporary
/// file (given its path; it exists, empty), which is then synced and renamed over `path`. On any
/// error the temporary file is removed and `path` is untouched. `io_error` turns the I/O errors
/// of these steps into the caller's error type.
///
/// If `path` is a regular file, the new file gets its permissions (set on the temporary file
/// before `write` fills it, and again after, in case `write` replaced it), and it must be
/// writable (see [`check_writable`]), or nothing is written and the error is an
/// [`io::ErrorKind::PermissionDenied`] that says why. Otherwise (no file yet, or a symbolic
/// link, which is replaced rather than followed) the new file gets the usual mode of a new file,
/// `0666` less the umask. The file's owner and group are not copied: they are the writer's.
pub(crate) fn write_atomic_with<E>(
    path: &Path,
    io_error: impl Fn(io::Error) -> E,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let Some(name) = path.file_name() else {
        return Err(io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        )));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let permissions = check_writable(path).map_err(&io_error)?;
    let tmp = create_temp(dir, &name.to_string_lossy()).map_err(&io_error)?;
    let keep_permissions = || match &permissions {
        Some(p) => fs::set_permissions(&tmp, p.clone()),
        None => Ok(()),
    };
    let result = keep_permissions()
        .map_err(&io_error)
        .and_then(|()| write(&tmp))
        .and_then(|()| {
            keep_permissions()
                // Opened for writing: a kept mode may deny reading (`0200`), never writing.
                .and_then(|()| OpenOptions::new().write(true).open(&tmp))
                .and_then(|f| f.sync_all())
                .map_err(&io_error)
        })
        .and_then(|()| fs::rename(&tmp, path).map_err(&io_error));
    match result {
        Ok(()) => {
            // Makes the rename itself durable; a failure here loses nothing that was written.
            #[cfg(unix)]
            let _ = File::open(dir).and_then(|d| d.sync_all());
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The permissions of the regular file at `path`, which the new file keeps, or `None` if there
/// is none (nothing there, or a symbolic link, a directory, …: the rename replaces a link and
/// fails on a directory). Refuses, with an [`io::ErrorKind::PermissionDenied`] error saying what
/// to do, a file that could not be written in place:
///
/// - a read-only file ([`fs::Permissions::readonly`]: on Unix, no write bit in its mode, as
///   `0444`). This is the rule for root, who may write any file whatever its mode: the mode
///   bits alone decide;
/// - on Unix, a file this process may not open for writing (the kernel's own check, which counts
///   the owner, the groups and any access control list); it is opened without truncating, and
///   closed at once, so it is not changed.
fn check_writable(path: &Path) -> io::Result<Option<fs::Permissions>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let permissions = meta.permissions();
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        format!(" (mode {:04o})", permissions.mode() & 0o7777)
    };
    #[cfg(not(unix))]
    let mode = "";
    if permissions.readonly() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the file is read-only{mode}: make it writable (`chmod u+w`) to replace it, or \
                 write elsewhere"
            ),
        ));
    }
    #[cfg(unix)]
    if let Err(e) = OpenOptions::new().write(true).open(path)
        && e.kind() == io::ErrorKind::PermissionDenied
    {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the file is not writable by this user{mode}: change its permissions to replace \
                 it, or write elsewhere"
            ),
        ));
    }
    Ok(Some(permissions))
}

/// [`write_atomic_with`] for bytes already in memory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(
        path,
        |e| e,
        |tmp| {
            let mut file = OpenOptions::new().write(true).truncate(true).open(tmp)?;
            file.write_all(bytes)?;
            file.flush()
        },
    )
}

/// Creates a new, empty temporary file in `dir` named `.{name}.{pid}-{n}.tmp` (the name cut to
/// 64 characters so the temporary one stays short), never an existing one.
fn create_temp(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let name: String = name.chars().take(64).collect();
    let mut attempts = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(_) => return Ok(tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_get_fresh_short_names() {
        let dir = std::env::temp_dir();
        let long = "x".repeat(200);
        let a = create_temp(&dir, "bpnet-fsutil-unit").unwrap();
        let b = create_temp(&dir, "bpnet-fsutil-unit").unwrap();
        let c = create_temp(&dir, &long).unwrap();
        assert_ne!(a, b);
        let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name(&a).starts_with(".bpnet-fsutil-unit."));
        assert!(name(&c).len() < 100, "{}", name(&c));
        for p in [a, b, c] {
            fs::remove_file(p).unwrap();
        }
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = std::env::temp_dir().join(format!("bpnet-fsutil-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        write_atomic(&path, b"old").unwrap();
        let failed: Result<(), io::Error> =
            write_atomic_with(&path, |e| e, |_| Err(io::Error::other("no")));
        assert!(failed.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "a temporary file was left"
        );
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn replacing_keeps_the_mode_even_when_the_writer_replaces_the_temporary_file() {
        let dir = std::env::temp_dir().join(format!("bpnet-fsutil-mode-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        write_atomic(&path, b"old").unwrap();
        set_mode(&path, 0o600);
        write_atomic(&path, b"new").unwrap();
        assert_eq!(mode(&path), 0o600);
        // A writer that puts a new file in the temporary file's place, as the plots do.
        set_mode(&path, 0o640);
        write_atomic_with(
            &path,
            |e| e,
            |tmp| {
                let other = tmp.with_extension("other");
                fs::write(&other, b"newer")?;
                fs::rename(&other, tmp)
            },
        )
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"newer");
        assert_eq!(mode(&path), 0o640);
        // Write-only for its owner: still replaced, still write-only.
        set_mode(&path, 0o200);
        write_atomic(&path, b"newest").unwrap();
        assert_eq!(mode(&path), 0o200);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_file_is_refused_and_left_as_it_was() {
        let dir = std::env::temp_dir().join(format!("bpnet-fsutil-ro-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        write_atomic(&path, b"old").unwrap();
        set_mode(&path, 0o444);
        let err = write_atomic(&path, b"new").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(
            err.to_string(),
            "the file is read-only (mode 0444): make it writable (`chmod u+w`) to replace it, \
             or write elsewhere"
        );
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(mode(&path), 0o444);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "a temporary file was left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
