//! What a test does when a server or program it needs is not there.
//!
//! By default it fails, naming what is missing and how to skip instead: a test that reports `ok`
//! has run. A developer without every server sets `BOOKSTORE_SKIP_MISSING_BACKENDS=1` to run the
//! rest; each test that cannot run then says `SKIPPED: <test> needs <what>` on standard error
//! and returns. `BOOKSTORE_REQUIRE_REAL_BACKENDS=1` (CI's) keeps every missing server a failure,
//! whatever else is set.
//!
//! Standard library only: the tests of `xtask`, which does not depend on `platform`, include
//! this file too.

use std::fmt::Display;
use std::io::Write;

/// Set to `1` (or `true`): a test whose server or program is missing is skipped, and says so.
pub const SKIP_MISSING_BACKENDS: &str = "BOOKSTORE_SKIP_MISSING_BACKENDS";
/// Set to `1` (or `true`): a missing server or program fails its test, even with
/// [`SKIP_MISSING_BACKENDS`] set. CI sets it.
pub const REQUIRE_REAL_BACKENDS: &str = "BOOKSTORE_REQUIRE_REAL_BACKENDS";

/// What a test does when something it needs is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenMissing {
    /// It fails, naming what is missing (the default).
    Fail,
    /// It prints `SKIPPED: …` on standard error and returns without testing anything.
    Skip,
}

impl WhenMissing {
    /// The policy of this process's environment; a variable set to something that is neither on
    /// nor off fails the test that asks.
    pub fn from_env() -> Self {
        let value = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        Self::from_values(
            value(REQUIRE_REAL_BACKENDS).as_deref(),
            value(SKIP_MISSING_BACKENDS).as_deref(),
        )
        .unwrap_or_else(|problem| panic!("{problem}"))
    }

    /// The policy for the values of [`REQUIRE_REAL_BACKENDS`] and [`SKIP_MISSING_BACKENDS`]
    /// (`None` when unset): skip only when asked to skip and not required to run.
    pub fn from_values(require: Option<&str>, skip: Option<&str>) -> Result<Self, String> {
        let require = switch(REQUIRE_REAL_BACKENDS, require)?;
        let skip = switch(SKIP_MISSING_BACKENDS, skip)?;
        Ok(if skip && !require {
            Self::Skip
        } else {
            Self::Fail
        })
    }
}

/// On for `1` and `true`, off when unset, empty, `0` or `false`; anything else is a mistake
/// better reported than guessed at.
fn switch(name: &str, value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim) {
        None | Some("" | "0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(other) => Err(format!(
            "{name}={other:?} is neither on (1, true) nor off (0, false, empty)"
        )),
    }
}

/// The running test's name: the harness names the thread it runs a test on after the test.
pub(crate) fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "this test".to_owned(),
    }
}

/// What becomes of `test`, which needs `needs` and found it missing (`problem`), under `policy`:
/// the line it prints when skipped, or the message it fails with.
pub(crate) fn verdict(
    policy: WhenMissing,
    test: &str,
    needs: &str,
    problem: &dyn Display,
) -> Result<String, String> {
    match policy {
        WhenMissing::Skip => Ok(format!("SKIPPED: {test} needs {needs}: {problem}")),
        WhenMissing::Fail => Err(format!(
            "{test} needs {needs}, which is missing: {problem}\nStart or install it, or set \
             {SKIP_MISSING_BACKENDS}=1 to skip the tests that need it (each then prints SKIPPED)."
        )),
    }
}

/// Called by a test that needs `needs` (a server or program, named so that a reader knows what
/// to start or install) and found it missing (`problem` says how).
///
/// Fails the test, unless the developer opted out with [`SKIP_MISSING_BACKENDS`]: then it prints
/// `SKIPPED: <test> needs <needs>: <problem>` on standard error, past the test harness's capture
/// so that a passing run shows it too, and returns; the caller then returns at once, testing
/// nothing.
#[track_caller]
pub fn skip_or_fail(needs: &str, problem: impl Display) {
    match verdict(WhenMissing::from_env(), &current_test(), needs, &problem) {
        // Not `eprintln!`: the harness captures that, and shows it for failed tests only.
        Ok(skipped) => {
            let _ = writeln!(std::io::stderr(), "{skipped}");
        }
        Err(failure) => panic!("{failure}"),
    }
}
