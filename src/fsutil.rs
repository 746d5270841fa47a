//! Atomic file writes, shared by [`crate::io`], [`crate::plot`] and [`crate::data`]: a file is
//! written to a new temporary file beside it, synced, then renamed over it, so a reader or a
//! crash sees either the old file whole or the new one whole, never half of one.

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
    let tmp = create_temp(dir, &name.to_string_lossy()).map_err(&io_error)?;
    let result = write(&tmp)
        .and_then(|()| {
            File::open(&tmp)
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
}
