//! Docs that cannot drift from the code: every setting of the command line is in the README's
//! configuration table (and every setting there exists), and every operation of the API is in
//! the architecture's route table (and every route there exists).

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use clap::CommandFactory;

fn read(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap()
}

/// Every environment variable any command of the binary reads.
fn cli_variables() -> BTreeSet<String> {
    fn walk(command: &clap::Command, found: &mut BTreeSet<String>) {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                found.insert(env.to_string_lossy().into_owned());
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, found);
        }
    }
    let mut found = BTreeSet::new();
    walk(&bookstore::cli::Cli::command(), &mut found);
    found
}

/// The rows of the README's configuration table: (variable, flag column).
fn readme_settings() -> Vec<(String, String)> {
    let readme = read("README.md");
    let table = readme
        .split("## Configuration")
        .nth(1)
        .expect("the README has a Configuration section");
    table
        .lines()
        .skip_while(|line| !line.starts_with("| Variable"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

#[test]
fn every_setting_of_the_command_line_is_in_the_readme_and_back() {
    let documented = readme_settings();
    let cli = cli_variables();
    let in_readme: BTreeSet<String> = documented.iter().map(|(var, _)| var.clone()).collect();
    let missing: Vec<&String> = cli.difference(&in_readme).collect();
    assert!(
        missing.is_empty(),
        "not in README.md's configuration table: {missing:?}"
    );
    // A row with a flag is a setting of the command line; the others (RUST_LOG, OTEL_*, the
    // tests' variables) are read elsewhere.
    let stale: Vec<&String> = documented
        .iter()
        .filter(|(_, flag)| flag.starts_with("`--"))
        .map(|(var, _)| var)
        .filter(|var| !cli.contains(*var))
        .collect();
    assert!(
        stale.is_empty(),
        "in README.md but read by no command: {stale:?}"
    );
}

/// `(METHOD, path)` pairs of the route table in docs/architecture.md. A cell lists backticked
/// items such as `` `GET`, `PATCH /api/v1/users/me` `` or `` `GET /healthz`, `/readyz` ``: the
/// methods named before a path apply to it, and a path without a method takes the last ones.
fn architecture_routes() -> BTreeSet<(String, String)> {
    let doc = read("docs/architecture.md");
    let table = doc
        .split("### HTTP API that exists today")
        .nth(1)
        .expect("docs/architecture.md has its route table");
    let mut routes = BTreeSet::new();
    for line in table
        .lines()
        .skip_while(|line| !line.starts_with("| Method and path"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
    {
        let cell = line.split('|').nth(1).unwrap();
        let mut methods: Vec<String> = Vec::new();
        let mut last_had_path = false;
        for item in cell.split('`').skip(1).step_by(2) {
            let mut words = item.split_whitespace();
            let first = words.next().unwrap_or_default();
            let (method, path) = if first.starts_with('/') {
                (None, Some(first))
            } else {
                (Some(first), words.next())
            };
            if let Some(method) = method {
                if last_had_path {
                    methods.clear();
                }
                methods.push(method.to_owned());
            }
            if let Some(path) = path {
                let path = path.split('?').next().unwrap().to_owned();
                for method in &methods {
                    routes.insert((method.clone(), path.clone()));
                }
            }
            last_had_path = path.is_some();
        }
    }
    routes
}

#[test]
fn every_operation_of_the_api_is_in_the_architecture_table_and_back() {
    let openapi = serde_json::to_value(bookstore::shop::openapi_document().unwrap()).unwrap();
    let operations: BTreeSet<(String, String)> = openapi["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let table = architecture_routes();
    let missing: Vec<_> = operations.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "not in docs/architecture.md's route table: {missing:?}"
    );
    let stale: Vec<_> = table
        .iter()
        .filter(|(_, path)| path.starts_with("/api/v1/"))
        .filter(|(_, path)| !matches!(path.as_str(), "/api/v1/openapi.json" | "/api/v1/docs"))
        .filter(|route| !operations.contains(*route))
        .collect();
    assert!(
        stale.is_empty(),
        "in docs/architecture.md but no operation: {stale:?}"
    );
}
