//! The app's own checks, run by the workspace's test command: the strict type check, the lint,
//! the component tests (Vitest) and the generated API client being current. The build script
//! has installed the packages of the lock file by the time these run.

use std::process::Command;

/// Runs `npm run <script>` in the app's folder and fails with its output when it fails.
fn npm_run(script: &str) {
    let output = Command::new("npm")
        .args(["run", "--silent", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .output()
        .unwrap_or_else(|err| panic!("cannot run npm: {err}"));
    assert!(
        output.status.success(),
        "`npm run {script}` failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_app_type_checks_strictly() {
    npm_run("typecheck");
}

#[test]
fn the_app_passes_its_lint() {
    npm_run("lint");
}

#[test]
fn the_component_tests_pass() {
    npm_run("test");
}

#[test]
fn the_generated_api_client_matches_the_openapi_document() {
    npm_run("codegen:check");
}
