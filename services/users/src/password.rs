//! Password policy and argon2id hashing, run off the async threads.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use platform::ApiError;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// Passwords too common to accept whatever their length.
const COMMON: [&str; 8] = [
    "password123",
    "1234567890",
    "qwertyuiop",
    "password1234",
    "iloveyou123",
    "administrator",
    "letmein12345",
    "0123456789",
];

/// Checks the policy: 10 to 128 characters, not one repeated character, not a well-known
/// password, and not the email address itself.
pub fn check_policy(password: &str, email: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(format!("must be at least {MIN_LENGTH} characters"));
    }
    if chars > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} characters"));
    }
    let mut distinct = password.chars().collect::<Vec<_>>();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err("must use at least 4 different characters".into());
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) || lower == email.to_lowercase() {
        return Err("is too easy to guess".into());
    }
    Ok(())
}

/// argon2id with the OWASP-recommended cost (19 MiB, 2 passes, 1 lane): about 30 ms here.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on the blocking pool.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        hasher()
            .hash_password(password.as_bytes())
            .map(|hash: PasswordHash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("hashing failed: {err}"))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Verifies a password against a stored hash on the blocking pool. With no stored hash (unknown
/// email) it still spends the same time, so response times do not reveal which emails exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&hash)
            .map_err(|err| anyhow::anyhow!("stored hash unreadable: {err}"))?;
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok::<_, anyhow::Error>(matches && hash != DUMMY_HASH)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// The argon2id hash of a random password nobody knows, with the production cost.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0nrsK2wXYm7w1ZCgGkCHOGt1kWX3Rdm5yt3d2d5s6qU";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_rules() {
        assert!(check_policy("short", "a@b.co").is_err());
        assert!(check_policy(&"x".repeat(129), "a@b.co").is_err());
        assert!(check_policy("aaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check_policy("Password123", "a@b.co").is_err());
        assert!(check_policy("someone@example.com", "someone@example.com").is_err());
        assert!(check_policy("correct horse battery", "a@b.co").is_ok());
        assert!(check_policy("ünïcødé pässwörd", "a@b.co").is_ok());
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let hash = hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}
