//! The operator's side of identity's secrets: the key-encryption key `bazaar up` makes for
//! identity, and the one-time admin codes (`bazaar admin code`, and `bazaar up` while the
//! shop has no admin).
//!
//! Both act on identity's data directly, never through the API: having the data directory
//! (or the database URL) is what makes someone the operator. The store is found the way
//! identity finds it, by parsing identity's own configuration (so
//! `BAZAAR_IDENTITY_DATABASE_URL` moves both).

use std::path::{Path, PathBuf};

use chassis::clock::{Clock, SystemClock};
use clap::Parser;
use identity::admin::{AdminCode, CODE_LIFETIME};
use identity::seal::KeyEncryptionKey;
use identity::store::{IdentityStore, MIGRATIONS};

/// Where `bazaar up` keeps the key-encryption key it makes, in the data directory.
pub const KEK_FILE: &str = "identity.kek";

/// The variables that give identity its key-encryption key.
const KEK_VARS: [&str; 2] = [
    "BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY",
    "BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY_FILE",
];

/// How to redeem a code, for the operator's terminal.
pub const HOW_TO_REDEEM: &str = "\
sign up in the shop (or log in), then redeem the code once, with the access token:
  grpcurl -cacert data/pki/ca.crt -H \"authorization: Bearer $TOKEN\" -d '{\"code\": \"CODE\"}' \\
    127.0.0.1:50053 bazaar.identity.v1.IdentityService/ClaimAdmin
then refresh the session (or log in again) for a token with the admin role.
`bazaar admin code` issues a new code (voiding the unused one).";

/// The key-encryption key file identity is to use under `bazaar up`: `None` when the
/// environment gives identity a key already; otherwise `<data-dir>/identity.kek`, made
/// (0600) if it is not there yet. Says so on the terminal when it makes one.
pub fn kek_file(data_dir: &Path) -> Result<Option<PathBuf>, String> {
    if KEK_VARS.iter().any(|var| std::env::var_os(var).is_some()) {
        return Ok(None);
    }
    let path = data_dir.join(KEK_FILE);
    if !path.exists() {
        KeyEncryptionKey::create_file(&path)
            .map_err(|e| format!("cannot make {}: {}", path.display(), chain(&e)))?;
        println!(
            "made {}: the key that seals identity's signing keys; keep it (and back it up \
             apart from the data): without it identity cannot start",
            path.display()
        );
    }
    Ok(Some(path))
}

/// identity's store as identity itself would open it with these flags (`--data-dir`,
/// `--database-url`) and the environment; the default SQLite file must exist already.
pub async fn open_store(
    data_dir: &Path,
    database_url: Option<&str>,
) -> Result<IdentityStore, String> {
    let mut args = vec![
        "identity".to_owned(),
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    let config = identity::Config::try_parse_from(args).map_err(|e| e.to_string())?;
    if config.database_url.is_none() {
        let file = data_dir.join("identity.db");
        if !file.exists() {
            return Err(format!(
                "there is no identity store at {}: start the shop once (`bazaar up --data-dir \
                 {}`), or give the right --data-dir or --database-url",
                file.display(),
                data_dir.display()
            ));
        }
    }
    let pool = chassis::store::open(&config.database_url(), &MIGRATIONS)
        .await
        .map_err(|e| format!("cannot open identity's store: {}", chain(&e)))?;
    Ok(IdentityStore::new(pool))
}

/// Issues a new admin code in `store`.
pub async fn issue(store: &IdentityStore) -> Result<AdminCode, String> {
    store
        .issue_admin_code(SystemClock.now_ms())
        .await
        .map_err(|e| format!("cannot issue an admin code: {}", chain(&e)))
}

/// What the operator sees of a new code: the code on a line of its own (`admin code:
/// CODE`, which scripts read), and how to use it.
pub fn describe(code: &AdminCode) -> String {
    format!(
        "admin code: {}\nvalid once, for {} hours; {}",
        code.code,
        CODE_LIFETIME.as_secs() / 3600,
        HOW_TO_REDEEM.replace("CODE", &code.code)
    )
}

/// `bazaar admin code`: issues a code and prints it.
pub async fn code(data_dir: &Path, database_url: Option<&str>) -> Result<(), String> {
    let store = open_store(data_dir, database_url).await?;
    let outcome = issue(&store).await;
    store.pool().close().await;
    println!("{}", describe(&outcome?));
    Ok(())
}

/// For `bazaar up`: when the shop has no admin yet, a new code with instructions; `None`
/// when there is an admin.
pub async fn code_if_no_admin(data_dir: &Path) -> Result<Option<String>, String> {
    let store = open_store(data_dir, None).await?;
    let outcome = match store.admin_exists().await {
        Ok(true) => Ok(None),
        Ok(false) => issue(&store).await.map(|code| Some(describe(&code))),
        Err(e) => Err(format!("cannot read identity's store: {}", chain(&e))),
    };
    store.pool().close().await;
    outcome
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    chassis::error::chain(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn codes_are_issued_only_into_an_existing_store() {
        let dir = tempfile::tempdir().unwrap();
        let missing = open_store(dir.path(), None).await.unwrap_err();
        assert!(missing.contains("there is no identity store"), "{missing}");
        assert!(!dir.path().join("identity.db").exists(), "nothing was made");

        let url = chassis::store::sqlite_url(dir.path(), "identity.db");
        chassis::store::open(&url, &MIGRATIONS)
            .await
            .unwrap()
            .close()
            .await;
        let first = code_if_no_admin(dir.path()).await.unwrap().unwrap();
        let code = first
            .lines()
            .find_map(|line| line.strip_prefix("admin code: "))
            .unwrap()
            .to_owned();
        assert_eq!(code.len(), 32);
        assert!(first.contains(&format!("{{\"code\": \"{code}\"}}")));
        let second = code_if_no_admin(dir.path()).await.unwrap().unwrap();
        assert!(!second.contains(&code), "a new code each time");
    }

    #[test]
    fn a_kek_file_is_made_private_once_and_kept() {
        if KEK_VARS.iter().any(|var| std::env::var_os(var).is_some()) {
            eprintln!("SKIPPED: the environment gives identity a key-encryption key");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = kek_file(dir.path()).unwrap().unwrap();
        assert_eq!(path, dir.path().join(KEK_FILE));
        let text = std::fs::read_to_string(&path).unwrap();
        KeyEncryptionKey::from_file(&path).unwrap();
        assert_eq!(kek_file(dir.path()).unwrap().unwrap(), path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "kept, not replaced"
        );
    }
}
