//! Files a service keeps on disk: folders only its own user can enter (0700) and files only
//! its own user can read (0600).
//!
//! A data directory holds stores with password hashes and signing keys, e-mails with
//! addresses, and logs; nothing in it is for other users of the machine. Folders and files are
//! created private from the start, so there is no moment at which they are readable; folders
//! that already exist are left as their owner set them.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `path` and any missing parents, each with mode 0700.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Opens `path` for writing, creating it with mode 0600; `append` keeps what is there,
/// otherwise it is truncated. A file that was there already (an older log, a half-written
/// left-over) is made 0600 too.
pub fn open_private(path: &Path, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

/// Makes the existing file `path` readable by its owner only (mode 0600), for files that a
/// library creates (a SQLite database); a missing file is not an error.
pub fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("data/logs");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        assert_eq!(mode(&nested), 0o700);

        let log = nested.join("catalog.log");
        open_private(&log, true)
            .unwrap()
            .write_all(b"one\n")
            .unwrap();
        open_private(&log, true)
            .unwrap()
            .write_all(b"two\n")
            .unwrap();
        assert_eq!(mode(&log), 0o600);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");

        let old_log = nested.join("written-before.log");
        std::fs::write(&old_log, b"old\n").unwrap();
        std::fs::set_permissions(&old_log, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_private(&old_log, true)
            .unwrap()
            .write_all(b"new\n")
            .unwrap();
        assert_eq!(mode(&old_log), 0o600);
        assert_eq!(std::fs::read_to_string(&old_log).unwrap(), "old\nnew\n");

        let shared = nested.join("made-by-a-library");
        std::fs::write(&shared, b"x").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict(&shared).unwrap();
        assert_eq!(mode(&shared), 0o600);
        restrict(&nested.join("missing")).unwrap();
    }
}
