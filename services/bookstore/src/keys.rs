//! Loading the access-token signing key: from configuration, or for `bookstore all` from (or
//! newly into) the data folder.

use std::path::Path;

use anyhow::Context;
use platform::auth::KeyPair;
use platform::config::{ConfigError, secret};

use crate::cli::KeyArgs;

const KEY_FILE: &str = "jwt-ed25519.pem";

/// The configured private key, if any.
pub fn configured(args: &KeyArgs) -> anyhow::Result<Option<KeyPair>> {
    let Some(pem) = secret(
        "BOOKSTORE_JWT_PRIVATE_KEY",
        args.jwt_private_key.clone(),
        args.jwt_private_key_file.as_ref(),
    )?
    else {
        return Ok(None);
    };
    let keys = KeyPair::from_pem(&pem)
        .map_err(|err| ConfigError::new("BOOKSTORE_JWT_PRIVATE_KEY", err.to_string()))?;
    Ok(Some(keys))
}

/// The key kept in `data_dir`, made on first use (readable by the owner only).
pub fn in_data_dir(data_dir: &Path) -> anyhow::Result<KeyPair> {
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return KeyPair::from_pem(&pem)
            .with_context(|| format!("{} holds no usable key", path.display()));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let keys = KeyPair::generate();
    write_private(&path, &keys.to_pem()?)?;
    tracing::info!(path = %path.display(), "Generated a new token signing key.");
    Ok(keys)
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
