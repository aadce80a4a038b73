//! A Maildir folder, the mailbox format of qmail, Dovecot and mutt: each message is a file.
//!
//! Delivery follows the Maildir rules: the message is written under a unique name into
//! `tmp/`, flushed to disk, then renamed into `new/`, so a reader never sees half a message.
//! A reader that has seen a message moves it to `cur/` as `<name>:2,<flags>`.
//!
//! Names here are not random: they derive from the notification (`<seconds>.<id>.bazaar`),
//! so delivering the same notification again (after a crash between writing the file and
//! recording that it was written) finds the file already in `new/` or `cur/` and writes
//! nothing, or, if it had not reached `new/`, overwrites the same file in `tmp/`. A message
//! is never in the folder twice.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A Maildir folder.
#[derive(Clone, Debug)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// The folder at `root`; nothing is touched until [`Maildir::create`].
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates `tmp/`, `new/` and `cur/` (and the folder) if they are missing, readable by
    /// this service's user only: the messages hold customers' addresses.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in ["tmp", "new", "cur"] {
            chassis::files::create_private_dir(&self.root.join(dir))?;
        }
        Ok(())
    }

    /// The file name of notification `id` sent at `send_time_ms`.
    pub fn file_name(id: &str, send_time_ms: i64) -> String {
        format!("{}.{id}.bazaar", send_time_ms.div_euclid(1000))
    }

    /// Puts `message` into `new/` as `name`, unless a message of that name is already in
    /// `new/` or `cur/`. Blocking: call it from a blocking thread.
    pub fn deliver(&self, name: &str, message: &[u8]) -> std::io::Result<Delivery> {
        if self.root.join("new").join(name).exists() || self.in_cur(name)? {
            return Ok(Delivery::AlreadyThere);
        }
        self.deliver_new(name, message)
    }

    /// Puts `message` into `new/` as `name` without looking for it first: for a message
    /// recorded just now, of which no copy can exist (a message's file is only written
    /// after it is recorded). It spares reading `cur/`, which grows with the mail a reader
    /// has taken. Blocking: call it from a blocking thread.
    pub fn deliver_new(&self, name: &str, message: &[u8]) -> std::io::Result<Delivery> {
        let new = self.root.join("new").join(name);
        let tmp = self.root.join("tmp").join(name);
        let mut file = chassis::files::open_private(&tmp, false)?;
        file.write_all(message)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &new)?;
        // Make the rename itself durable.
        fs::File::open(self.root.join("new"))?.sync_all()?;
        Ok(Delivery::Written)
    }

    /// Whether a reader has moved message `name` to `cur/` (as `name` or `name:2,...`).
    fn in_cur(&self, name: &str) -> std::io::Result<bool> {
        for entry in fs::read_dir(self.root.join("cur"))? {
            let file = entry?.file_name();
            let file = file.to_string_lossy();
            if file == name || file.strip_prefix(name).is_some_and(|r| r.starts_with(':')) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// What [`Maildir::deliver`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The message is now in `new/`.
    Written,
    /// It was there already: nothing was written.
    AlreadyThere,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_message_is_written_without_reading_cur() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::new(dir.path().join("mail"));
        maildir.create().unwrap();
        // `cur/` that cannot be read as a directory: looking into it fails.
        fs::remove_dir(dir.path().join("mail/cur")).unwrap();
        fs::write(dir.path().join("mail/cur"), b"").unwrap();
        let name = Maildir::file_name("abc", 0);
        assert!(maildir.deliver(&name, b"one").is_err());
        assert_eq!(
            maildir.deliver_new(&name, b"one").unwrap(),
            Delivery::Written
        );
        assert_eq!(
            fs::read(dir.path().join("mail/new").join(&name)).unwrap(),
            b"one"
        );
        assert_eq!(
            fs::read_dir(dir.path().join("mail/tmp")).unwrap().count(),
            0
        );
    }

    #[test]
    fn delivers_once_even_after_a_reader_moved_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::new(dir.path().join("mail"));
        maildir.create().unwrap();
        let name = Maildir::file_name("abc", 1_700_000_000_123);
        assert_eq!(name, "1700000000.abc.bazaar");
        assert_eq!(maildir.deliver(&name, b"one").unwrap(), Delivery::Written);
        assert_eq!(
            maildir.deliver(&name, b"one").unwrap(),
            Delivery::AlreadyThere
        );
        assert_eq!(
            fs::read(dir.path().join("mail/new").join(&name)).unwrap(),
            b"one"
        );
        assert_eq!(
            fs::read_dir(dir.path().join("mail/tmp")).unwrap().count(),
            0
        );
        // A reader reads it.
        fs::rename(
            dir.path().join("mail/new").join(&name),
            dir.path().join("mail/cur").join(format!("{name}:2,S")),
        )
        .unwrap();
        assert_eq!(
            maildir.deliver(&name, b"one").unwrap(),
            Delivery::AlreadyThere
        );
        assert_eq!(
            fs::read_dir(dir.path().join("mail/new")).unwrap().count(),
            0
        );
        // A left-over from a crash in tmp/ is overwritten, not duplicated.
        let other = Maildir::file_name("def", 0);
        fs::write(dir.path().join("mail/tmp").join(&other), b"half").unwrap();
        assert_eq!(
            maildir.deliver(&other, b"whole").unwrap(),
            Delivery::Written
        );
        assert_eq!(
            fs::read(dir.path().join("mail/new").join(&other)).unwrap(),
            b"whole"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |path: std::path::PathBuf| fs::metadata(path).unwrap().permissions().mode() & 0o777;
            for folder in ["mail", "mail/tmp", "mail/new", "mail/cur"] {
                assert_eq!(mode(dir.path().join(folder)), 0o700, "{folder}");
            }
            // Written over a left-over that was readable by all: private all the same.
            assert_eq!(mode(dir.path().join("mail/new").join(&other)), 0o600);
        }
        assert_eq!(
            fs::read_dir(dir.path().join("mail/tmp")).unwrap().count(),
            0
        );
    }
}
