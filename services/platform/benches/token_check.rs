//! What checking an access token costs a request, and what remembering ended sessions adds to
//! it: `cargo xtask bench auth`. Prints nanoseconds per check (median of five rounds) for a
//! token checked before (the common case: a client sends the same token with every request), a
//! token seen for the first time (its signature is checked), and the ended-session look-up alone,
//! with 0, 1,000 and 100,000 sessions ended.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use platform::auth::{KeyPair, Role, TokenSigner, TokenVerifier};

const ROUNDS: usize = 5;

/// Nanoseconds per call of `work`, median of [`ROUNDS`] rounds of `calls` calls.
fn per_call(calls: u32, mut work: impl FnMut(u32)) -> f64 {
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for n in 0..calls {
                work(n);
            }
            started.elapsed().as_nanos() as f64 / f64::from(calls)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

fn main() {
    let keys = KeyPair::generate();
    let signer = TokenSigner::new(&keys, Duration::from_secs(900)).unwrap();
    println!("ended sessions | known token (ns) | new token (ns) | ended-session look-up (ns)");
    println!("---|---|---|---");
    for ended in [0_u32, 1_000, 100_000] {
        let verifier = TokenVerifier::new(&keys.public()).unwrap();
        let until = chrono::Utc::now().timestamp() + 900;
        verifier.end_sessions((0..ended).map(|n| format!("ended-{n}")), until);
        let known = signer.sign("user-1", Role::Customer, "live").unwrap();
        verifier.verify(&known).unwrap();
        let fresh: Vec<String> = (0..2_000)
            .map(|n| {
                signer
                    .sign(&format!("user-{n}"), Role::Customer, "live")
                    .unwrap()
            })
            .collect();
        let known_ns = per_call(200_000, |_| {
            black_box(verifier.verify(black_box(&known)).unwrap());
        });
        // Each round checks the same new tokens: the first round's are new, later rounds'
        // remembered, so the median is taken over rounds of their own verifier.
        let new_ns = {
            let mut rounds: Vec<f64> = (0..ROUNDS)
                .map(|_| {
                    let verifier = TokenVerifier::new(&keys.public()).unwrap();
                    verifier.end_sessions((0..ended).map(|n| format!("ended-{n}")), until);
                    let started = Instant::now();
                    for token in &fresh {
                        black_box(verifier.verify(black_box(token)).unwrap());
                    }
                    started.elapsed().as_nanos() as f64 / fresh.len() as f64
                })
                .collect();
            rounds.sort_by(f64::total_cmp);
            rounds[ROUNDS / 2]
        };
        let lookup_ns = per_call(1_000_000, |_| {
            black_box(verifier.session_ended(black_box("live")));
        });
        println!("{ended} | {known_ns:.0} | {new_ns:.0} | {lookup_ns:.0}");
    }
}
