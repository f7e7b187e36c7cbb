//! Password policy and argon2id hashing, run off the async threads, a bounded number at once.

use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

/// How many hashes may wait for a core before more are turned away.
const MAX_WAITING: usize = 64;

/// A hash or a check waiting for a hashing thread, given that thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The threads that hash passwords: one per core, started on first use, fed through a queue of
/// [`MAX_WAITING`] jobs. Each hash needs 19 MiB and a core for about 30 ms, so more threads would
/// not be faster; each thread keeps one block of argon2 memory and hashes in it, so the process
/// holds a fixed amount however many requests arrive (the blocking pool once ran a thread, and
/// allocated 19 MiB, per concurrent request). A burst beyond the queue gets 503 with
/// Retry-After.
static POOL: LazyLock<Option<SyncSender<Job>>> = LazyLock::new(|| {
    let (queue, jobs) = std::sync::mpsc::sync_channel::<Job>(MAX_WAITING);
    let jobs = Arc::new(Mutex::new(jobs));
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    for n in 0..cores {
        let jobs = jobs.clone();
        let started = std::thread::Builder::new()
            .name(format!("password-{n}"))
            .spawn(move || {
                let mut memory = Vec::new();
                loop {
                    // The lock is held while waiting for a job only, never while running one.
                    let job = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(&mut memory),
                        Err(_) => break,
                    }
                }
            });
        if let Err(err) = started {
            tracing::error!(error = %err, "Cannot start a password hashing thread.");
            return None;
        }
    }
    Some(queue)
});

/// Runs `work` on a hashing thread; 503 when too many wait.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let queue = POOL
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no password hashing threads")))?;
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |memory| {
        // The caller may have gone (a closed connection); its answer is then not needed.
        let _ = answer.send(work(memory));
    });
    match queue.try_send(job) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(ApiError::unavailable(
                "too many password checks at once; try again shortly",
                1,
            ));
        }
        Err(TrySendError::Disconnected(_)) => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "the password hashing threads stopped"
            )));
        }
    }
    answered
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Computes the argon2 output of `password` with `salt` in `memory` (grown to what `params`
/// needs, and wiped afterwards so that nothing derived from the password stays behind).
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &Salt,
    memory: &mut Vec<Block>,
) -> anyhow::Result<Output> {
    let length = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    memory.resize(params.block_count(), Block::default());
    let mut output = [0_u8; Output::MAX_LENGTH];
    let output = output
        .get_mut(..length)
        .ok_or_else(|| anyhow::anyhow!("an output of {length} bytes is too long"))?;
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut *output,
        &mut memory[..],
    );
    memory.fill(Block::default());
    hashed.map_err(|err| anyhow::anyhow!("hashing failed: {err}"))?;
    Output::new(output).map_err(|err| anyhow::anyhow!("hashing failed: {err}"))
}

/// Hashes a password with a fresh salt, on a hashing thread.
pub async fn hash(password: String) -> Result<String, ApiError> {
    bounded(move |memory| {
        let salt = Salt::new(&rand::random::<[u8; 16]>())
            .map_err(|err| anyhow::anyhow!("salt refused: {err}"))?;
        let output = compute(
            Algorithm::Argon2id,
            Version::V0x13,
            params(),
            password.as_bytes(),
            &salt,
            memory,
        )?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params())
                .map_err(|err| anyhow::anyhow!("parameters unencodable: {err}"))?,
            salt: Some(salt),
            hash: Some(output),
        };
        Ok(hash.to_string())
    })
    .await
}

/// Verifies a password against a stored hash, on a hashing thread. With no stored hash (unknown
/// email) it still spends the same time, so response times do not reveal which emails exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    bounded(move |memory| {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let unreadable =
            |err: &dyn std::fmt::Display| anyhow::anyhow!("stored hash unreadable: {err}");
        let parsed = PasswordHash::new(&stored).map_err(|err| unreadable(&err))?;
        let algorithm =
            Algorithm::try_from(parsed.algorithm.as_str()).map_err(|err| unreadable(&err))?;
        let version = match parsed.version {
            Some(version) => Version::try_from(version).map_err(|err| unreadable(&err))?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).map_err(|err| unreadable(&err))?;
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Err(unreadable(&"no salt or no hash"));
        };
        let computed = compute(
            algorithm,
            version,
            params,
            password.as_bytes(),
            salt,
            memory,
        )?;
        // `Output` compares in constant time.
        Ok(computed == *expected && known)
    })
    .await
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

    /// The process's resident memory, from /proc.
    fn resident_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// The tests that use the process's hashing threads take turns: a burst would turn the other
    /// test's checks away.
    static HASHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_checks_is_bounded_in_memory_and_the_excess_is_told_to_retry() {
        let _turn = HASHING.lock().await;
        // 300 checks at once: one per core runs, 64 wait, the rest are 503 at once. Unbounded,
        // each would hold 19 MiB on a thread of its own (gigabytes in all).
        let before = resident_kib();
        let checks: Vec<_> = (0..300)
            .map(|_| tokio::spawn(verify("wrong horse battery".into(), None)))
            .collect();
        let mut refused = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(matches) => assert!(!matches),
                Err(err) => {
                    assert_eq!(err.code, platform::ErrorCode::Unavailable);
                    let response = axum::response::IntoResponse::into_response(err);
                    assert_eq!(response.headers()["retry-after"], "1");
                    refused += 1;
                }
            }
        }
        let grown_mib = resident_kib().saturating_sub(before) / 1024;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        // A few may finish, and free their permits, while the burst is still being started.
        assert!(
            refused + cores + MAX_WAITING + 16 >= 300,
            "only {refused} of 300 were turned away"
        );
        assert!(
            grown_mib < 160,
            "the burst grew the process by {grown_mib} MiB"
        );
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let _turn = HASHING.lock().await;
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
