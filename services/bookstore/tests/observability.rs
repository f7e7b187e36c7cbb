//! The dashboards and alert rules checked against the real thing. A private Prometheus scrapes
//! the split shop (users, catalog, inventory, orders, two workers and a notification gateway as
//! processes) and RabbitMQ's rabbitmq_prometheus endpoint while a short workload runs; then every
//! query of every dashboard panel and every alert expression must return data. Besides: the
//! rules pass `promtool check rules` and their unit tests, and the dashboards validate against
//! Grafana's published dashboard schema and the house rules (units, descriptions, data source).

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/socketio.rs"]
mod socketio;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cluster::{Cluster, broker, free_port};
use platform::testing::{FaultMode, eventually};
use reqwest::StatusCode;
use serde_json::Value;
use socketio::Clients;
use tokio::process::{Child, Command};

/// What Grafana's `$__rate_interval` and friends stand for when a query is evaluated here: a
/// window holding several of the test's one-second scrapes.
const WINDOW: &str = "1m";

/// Alerts whose whole expression (threshold included) the workload makes true.
const ALERTS_THE_WORKLOAD_TRIGGERS: &[&str] = &["BookstoreDeadLetters", "BookstoreComponentDown"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The shop's alert rules: their expressions are evaluated against the running shop.
fn rules_file() -> PathBuf {
    repo().join("charts/bookstore/alerts/bookstore.rules.yaml")
}

/// Every alert rule file, each with its unit tests in `<name>.test.yaml`: the shop's and the
/// operator's (whose metrics only an operator on a cluster exposes).
const RULE_FILES: [&str; 2] = ["bookstore.rules.yaml", "operator.rules.yaml"];

/// A program on PATH. Without it the check cannot run: the test fails, or under the opt-out it
/// is skipped (and says so) and this is `None`.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        platform::testing::skip_or_fail(
            &format!("{name} (the Debian package `{package}`, which .ci/run installs)"),
            "it is not on PATH",
        );
    }
    found
}

// ------------------------------------------------------------------------------------------
// Dashboards

struct Dashboard {
    file: String,
    json: Value,
}

fn dashboards() -> Vec<Dashboard> {
    let dir = repo().join("charts/bookstore/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboards in {}", dir.display());
    files
        .into_iter()
        .map(|path| Dashboard {
            file: path.file_name().unwrap().to_string_lossy().into_owned(),
            json: serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display())),
        })
        .collect()
}

/// One PromQL query of a dashboard (a panel's target or a template variable's source), with
/// the template variables replaced as Grafana would with "All" selected.
struct DashboardQuery {
    place: String,
    expr: String,
}

fn dashboard_queries(dashboard: &Dashboard) -> Vec<DashboardQuery> {
    let mut values: Vec<(String, String)> = ["__rate_interval", "__interval", "__range"]
        .iter()
        .map(|name| ((*name).to_owned(), WINDOW.to_owned()))
        .collect();
    let mut queries = Vec::new();
    for variable in dashboard.json["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = variable["name"].as_str().unwrap().to_owned();
        if variable["type"] != "query" {
            continue;
        }
        let all = variable["allValue"].as_str().unwrap_or_else(|| {
            panic!(
                "{}: variable {name} has no allValue to evaluate its panels with",
                dashboard.file
            )
        });
        values.push((name.clone(), all.to_owned()));
        // `label_values(selector, label)`: the selector must have series carrying the label.
        let source = variable["query"]["query"].as_str().unwrap();
        let inner = source
            .strip_prefix("label_values(")
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{}: variable {name}: {source}", dashboard.file));
        let (selector, label) = inner.rsplit_once(',').unwrap();
        let (selector, label) = (selector.trim(), label.trim());
        let expr = match selector.strip_suffix('}') {
            Some(open) => format!("{open}, {label}!=\"\"}}"),
            None => format!("{selector}{{{label}!=\"\"}}"),
        };
        queries.push(DashboardQuery {
            place: format!("{} › variable {name}", dashboard.file),
            expr,
        });
    }
    // Longest names first, so that `$job` does not eat the start of a `$jobs`.
    values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for panel in dashboard.json["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap_or("?");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let mut expr = target["expr"].as_str().unwrap_or_default().to_owned();
            for (name, value) in &values {
                expr = expr
                    .replace(&format!("${{{name}}}"), value)
                    .replace(&format!("[[{name}]]"), value)
                    .replace(&format!("${name}"), value);
            }
            let place = format!(
                "{} › {title} › {}",
                dashboard.file,
                target["refId"].as_str().unwrap_or("?")
            );
            assert!(
                !expr.contains('$'),
                "{place}: a template variable the dashboard does not define: {expr}"
            );
            queries.push(DashboardQuery { place, expr });
        }
    }
    queries
}

/// Grafana unit ids the dashboards may use (from Grafana's value formats).
const UNITS: &[&str] = &[
    "none",
    "short",
    "percentunit",
    "s",
    "ms",
    "bytes",
    "reqps",
    "ops",
    "mps",
    "eps",
    "cps",
];
const PANEL_TYPES: &[&str] = &["timeseries", "stat", "gauge", "table"];
const DASHBOARD_KEYS: &[&str] = &[
    "annotations",
    "description",
    "editable",
    "fiscalYearStartMonth",
    "graphTooltip",
    "links",
    "panels",
    "refresh",
    "schemaVersion",
    "tags",
    "templating",
    "time",
    "timepicker",
    "timezone",
    "title",
    "uid",
    "version",
    "weekStart",
];
const PANEL_KEYS: &[&str] = &[
    "datasource",
    "description",
    "fieldConfig",
    "gridPos",
    "id",
    "options",
    "targets",
    "title",
    "transformations",
    "type",
];

/// The rules every dashboard follows beyond the schema: each panel of a modern type, with a
/// title, a description, a unit, a place on the grid that no other panel takes, and queries
/// through the `${datasource}` variable.
#[test]
fn dashboards_follow_the_house_rules() {
    let datasource = serde_json::json!({ "type": "prometheus", "uid": "${datasource}" });
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    for dashboard in dashboards() {
        let (file, json) = (&dashboard.file, &dashboard.json);
        let mut problem = |what: String| problems.push(format!("{file}: {what}"));
        for key in json.as_object().unwrap().keys() {
            if !DASHBOARD_KEYS.contains(&key.as_str()) {
                problem(format!("unknown top-level key {key}"));
            }
        }
        let uid = json["uid"].as_str().unwrap_or_default();
        if format!("{uid}.json") != *file {
            problem(format!("uid {uid:?} is not the file's name"));
        }
        if !uids.insert(uid.to_owned()) {
            problem(format!("uid {uid} used twice"));
        }
        if !json["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Bookstore: "))
        {
            problem("title does not start with \"Bookstore: \"".into());
        }
        if json["description"].as_str().is_none_or(str::is_empty) {
            problem("no description".into());
        }
        let variables = json["templating"]["list"].as_array().unwrap();
        if !variables.iter().any(|v| {
            v["name"] == "datasource" && v["type"] == "datasource" && v["query"] == "prometheus"
        }) {
            problem("no `datasource` variable of Prometheus data sources".into());
        }
        for variable in variables.iter().filter(|v| v["type"] == "query") {
            if variable["datasource"] != datasource {
                problem(format!(
                    "variable {} does not query ${{datasource}}",
                    variable["name"]
                ));
            }
        }
        let mut ids = BTreeSet::new();
        let mut cells: HashMap<(u64, u64), String> = HashMap::new();
        let panels = json["panels"].as_array().unwrap();
        if panels.is_empty() {
            problem("no panels".into());
        }
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default().to_owned();
            let mut problem = |what: String| problems.push(format!("{file} › {title:?}: {what}"));
            if title.is_empty() {
                problem("no title".into());
            }
            for key in panel.as_object().unwrap().keys() {
                if !PANEL_KEYS.contains(&key.as_str()) {
                    problem(format!("unknown key {key}"));
                }
            }
            match panel["id"].as_u64() {
                Some(id) if ids.insert(id) => {}
                other => problem(format!("id {other:?} missing or used twice")),
            }
            if !PANEL_TYPES.contains(&panel["type"].as_str().unwrap_or_default()) {
                problem(format!(
                    "type {} is not one of {PANEL_TYPES:?}",
                    panel["type"]
                ));
            }
            if panel["description"].as_str().is_none_or(|d| d.len() < 20) {
                problem("no description (a sentence at least)".into());
            }
            let unit = panel["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .unwrap_or_default();
            if !UNITS.contains(&unit) {
                problem(format!("unit {unit:?} is not one of {UNITS:?}"));
            }
            if panel["datasource"] != datasource {
                problem("data source is not ${datasource}".into());
            }
            let grid = &panel["gridPos"];
            match (
                grid["x"].as_u64(),
                grid["y"].as_u64(),
                grid["w"].as_u64(),
                grid["h"].as_u64(),
            ) {
                (Some(x), Some(y), Some(w), Some(h)) if w > 0 && h > 0 && x + w <= 24 => {
                    let mut overlapped = BTreeSet::new();
                    for cx in x..x + w {
                        for cy in y..y + h {
                            if let Some(other) = cells.insert((cx, cy), title.clone()) {
                                overlapped.insert(other);
                            }
                        }
                    }
                    for other in overlapped {
                        problem(format!("overlaps {other:?}"));
                    }
                }
                _ => problem(format!("gridPos {grid} is not on the 24-column grid")),
            }
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problem("no queries".into());
            }
            let mut ref_ids = BTreeSet::new();
            for target in &targets {
                if target["datasource"] != datasource {
                    problem(format!(
                        "query {} is not on ${{datasource}}",
                        target["refId"]
                    ));
                }
                if target["expr"].as_str().is_none_or(|e| e.trim().is_empty()) {
                    problem(format!("query {} has no expr", target["refId"]));
                }
                if !target["refId"]
                    .as_str()
                    .is_some_and(|r| ref_ids.insert(r.to_owned()))
                {
                    problem(format!("refId {} missing or used twice", target["refId"]));
                }
            }
        }
        // Every query can be evaluated: variables resolve.
        let _ = dashboard_queries(&dashboard);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn schema_check_dir() -> PathBuf {
    repo().join("services/bookstore/tests/dashboard-schema")
}

/// Installs the schema check's npm dependencies once per machine (`npm ci`, exactly the lock
/// file).
fn ensure_schema_check_installed(npm: &Path) {
    let dir = schema_check_dir();
    if dir
        .join("node_modules/@grafana/schema/package.json")
        .exists()
        && dir
            .join("node_modules/ts-json-schema-generator/package.json")
            .exists()
        && dir.join("node_modules/ajv/package.json").exists()
    {
        return;
    }
    let output = std::process::Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "npm ci failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn dashboards_validate_against_grafanas_dashboard_schema() {
    let (Some(node), Some(npm)) = (tool("node", "nodejs"), tool("npm", "npm")) else {
        return;
    };
    ensure_schema_check_installed(&npm);
    let dir = repo().join("charts/bookstore/dashboards");
    let files: Vec<PathBuf> = dashboards().iter().map(|d| dir.join(&d.file)).collect();
    let output = std::process::Command::new(node)
        .arg("check.mjs")
        .args(&files)
        .current_dir(schema_check_dir())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the dashboards do not validate against @grafana/schema's Dashboard:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        report.lines().filter(|l| l.ends_with(": valid")).count(),
        files.len(),
        "{report}"
    );
}

// ------------------------------------------------------------------------------------------
// Alert rules

#[test]
fn alert_rules_pass_promtool_check_and_their_unit_tests() {
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    let dir = rules_file().parent().unwrap().to_owned();
    for args in RULE_FILES.iter().flat_map(|file| {
        [
            ["check", "rules", file].map(str::to_owned),
            ["test", "rules", &file.replace(".yaml", ".test.yaml")].map(str::to_owned),
        ]
    }) {
        let output = std::process::Command::new(&promtool)
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every alert has a severity, a summary, a description and a runbook: a section of
/// docs/operations.md, and a unit test in the rules' test file.
#[tokio::test]
async fn every_alert_has_a_severity_a_summary_and_a_runbook_section_and_a_unit_test() {
    let Some(binary) = tool("prometheus", "prometheus") else {
        return;
    };
    // Prometheus itself reads the rule files; its API gives the rules back as JSON.
    let dir = rules_file().parent().unwrap().to_owned();
    let files: Vec<PathBuf> = RULE_FILES.iter().map(|file| dir.join(file)).collect();
    let prometheus = Prometheus::start(&binary, &config(&files, &[])).await;
    let rules = prometheus.rules().await;
    prometheus.stop().await;
    let operations = std::fs::read_to_string(repo().join("docs/operations.md")).unwrap();
    let anchors: BTreeSet<String> = operations
        .lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| anchor(line.trim_start_matches('#').trim()))
        .collect();
    let tests: String = RULE_FILES
        .iter()
        .map(|file| std::fs::read_to_string(dir.join(file.replace(".yaml", ".test.yaml"))).unwrap())
        .collect();
    let mut problems = Vec::new();
    let alerts: Vec<&Value> = rules.iter().filter(|r| r["type"] == "alerting").collect();
    assert!(alerts.len() >= 6, "{rules:?}");
    for rule in alerts {
        let name = rule["name"].as_str().unwrap();
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        if !["critical", "warning"].contains(&severity) {
            problems.push(format!("{name}: severity {severity:?}"));
        }
        for annotation in ["summary", "description"] {
            if rule["annotations"][annotation]
                .as_str()
                .is_none_or(|text| text.len() < 20)
            {
                problems.push(format!("{name}: no {annotation}"));
            }
        }
        let runbook = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_default();
        match runbook.split_once('#') {
            Some(("docs/operations.md", section)) if anchors.contains(section) => {}
            _ => problems.push(format!(
                "{name}: runbook_url {runbook:?} is not a section of docs/operations.md"
            )),
        }
        if !tests.contains(&format!("alertname: {name}\n")) {
            problems.push(format!("{name}: no unit test in the rules' test files"));
        }
        if rule["duration"].as_f64().unwrap_or_default() < 60.0 {
            problems.push(format!(
                "{name}: fires without a `for` of a minute at least"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to dashes.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// PromQL, as far as the checks need it

/// Walks `expr`, calling `visit(index, rest)` at every position outside strings, label
/// matchers (`{...}`), ranges (`[...]`) and parentheses.
fn at_top_level(expr: &str, mut visit: impl FnMut(usize, &str)) {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in expr.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => visit(i, &expr[i..]),
            _ => {}
        }
    }
}

/// The operands of top-level `and`, `or` and `unless`.
fn set_operands(expr: &str) -> Vec<String> {
    let mut cuts = Vec::new();
    at_top_level(expr, |i, rest| {
        for op in [" and ", " or ", " unless "] {
            if rest.starts_with(op) {
                cuts.push((i, i + op.len()));
            }
        }
    });
    let mut operands = Vec::new();
    let mut start = 0;
    for (from, to) in cuts {
        operands.push(expr[start..from].trim().to_owned());
        start = to;
    }
    operands.push(expr[start..].trim().to_owned());
    operands
}

/// `expr` without its last top-level comparison (`lhs > 0.05` gives `lhs`).
fn without_threshold(expr: &str) -> String {
    let mut last = None;
    at_top_level(expr, |i, rest| {
        for op in [" == ", " != ", " >= ", " <= ", " > ", " < "] {
            if rest.starts_with(op) {
                last = Some(i);
            }
        }
    });
    match last {
        Some(i) => expr[..i].trim().to_owned(),
        None => expr.trim().to_owned(),
    }
}

const PROMQL_WORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];
const LABEL_LIST_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names `expr` selects.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_to_close = |mut i: usize, open: char, close: char| {
        let mut depth = 0;
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            if let Some(q) = quote {
                if c == '\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            } else if c == '"' || c == '\'' || c == '`' {
                quote = Some(c);
            } else if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            i += 1;
        }
        i
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            i = skip_to_close(i, '{', '}');
        } else if c == '[' {
            i = skip_to_close(i, '[', ']');
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '+' || chars[i] == '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let called = next < chars.len() && chars[next] == '(';
            if LABEL_LIST_WORDS.contains(&word.as_str()) {
                if called {
                    i = skip_to_close(next, '(', ')');
                }
            } else if word == "offset" {
                // The duration after it.
                i = next;
                while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ')' {
                    i += 1;
                }
            } else if !called && !PROMQL_WORDS.contains(&word.to_lowercase().as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn the_promql_reading_finds_operands_thresholds_and_metric_names() {
    let lag = r#"rabbitmq_queue_messages_ready{queue=~"(.+\\.)?worker"} > 500 and deriv(rabbitmq_queue_messages_ready{queue=~"a and b > 1"}[10m]) > 0"#;
    assert_eq!(
        set_operands(lag)
            .iter()
            .map(|o| without_threshold(o))
            .collect::<Vec<_>>(),
        [
            r#"rabbitmq_queue_messages_ready{queue=~"(.+\\.)?worker"}"#,
            r#"deriv(rabbitmq_queue_messages_ready{queue=~"a and b > 1"}[10m])"#
        ]
    );
    let ratio = r#"(sum by (job) (rate(x_total{status=~"5.."}[5m])) or sum by (job) (rate(x_total[5m])) * 0) / sum by (job) (rate(y_total[5m])) > 0.05"#;
    assert_eq!(set_operands(ratio).len(), 1);
    assert_eq!(without_threshold(ratio), ratio.trim_end_matches(" > 0.05"));
    assert_eq!(without_threshold("up{job=\"a\"} == 0"), "up{job=\"a\"}");
    assert_eq!(
        metric_names(
            "histogram_quantile(0.99, sum by (job, le) (rate(h_seconds_bucket{job=~\"$job\"}[1m]))) / on(job) group_left(version) max without (instance) (info offset 5m) > bool 1e-3"
        ),
        BTreeSet::from(["h_seconds_bucket".to_owned(), "info".to_owned()])
    );
}

// ------------------------------------------------------------------------------------------
// Prometheus

/// A Prometheus server of the test's own: its own directory, loopback port and storage,
/// loading the bookstore's alert rules.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    url: String,
    http: reqwest::Client,
}

/// A Prometheus configuration scraping every second, with `jobs` as (name, metrics path,
/// targets).
fn config(rule_files: &[PathBuf], jobs: &[(&str, &str, Vec<String>)]) -> String {
    let mut config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n".to_owned();
    for file in rule_files {
        config.push_str(&format!("  - {:?}\n", file.display().to_string()));
    }
    config.push_str("scrape_configs:\n");
    for (job, path, targets) in jobs {
        config.push_str(&format!(
            "  - job_name: {job}\n    metrics_path: {path}\n    static_configs:\n      - targets: {targets:?}\n"
        ));
    }
    config
}

impl Prometheus {
    async fn start(binary: &Path, config: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bookstore-prometheus-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut prometheus = Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                panic!("prometheus exited with {status}: {}", prometheus.log());
            }
            if let Ok(response) = prometheus
                .http
                .get(format!("{}/-/ready", prometheus.url))
                .send()
                .await
                && response.status() == StatusCode::OK
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus did not become ready: {}",
                prometheus.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        prometheus
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    async fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let url = url::Url::parse_with_params(&format!("{}{path}", self.url), params).unwrap();
        let response = self.http.get(url).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        if body["status"] == "success" {
            Ok(body["data"].clone())
        } else {
            Err(format!("{}: {}", body["errorType"], body["error"]))
        }
    }

    /// The series (or scalar) `expr` evaluates to now.
    async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api("/api/v1/query", &[("query", expr)]).await?;
        Ok(match data["resultType"].as_str() {
            Some("scalar" | "string") => vec![data["result"].clone()],
            _ => data["result"].as_array().cloned().unwrap_or_default(),
        })
    }

    /// Waits until `expr` returns data, failing after `within`.
    async fn eventually(&self, what: &str, expr: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.query(expr).await.is_ok_and(|r| !r.is_empty()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: `{expr}` returned nothing within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every rule of every group, as `/api/v1/rules` describes it.
    async fn rules(&self) -> Vec<Value> {
        let data = self.api("/api/v1/rules", &[]).await.unwrap();
        data["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|group| group["rules"].as_array().unwrap().clone())
            .collect()
    }

    async fn metric_names(&self) -> BTreeSet<String> {
        let data = self
            .api("/api/v1/label/__name__/values", &[])
            .await
            .unwrap();
        data.as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect()
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where RabbitMQ's rabbitmq_prometheus plugin listens (`BOOKSTORE_TEST_RABBITMQ_PROMETHEUS`,
/// host:port), when it answers.
async fn rabbitmq_prometheus(http: &reqwest::Client) -> Option<String> {
    let addr = std::env::var("BOOKSTORE_TEST_RABBITMQ_PROMETHEUS")
        .unwrap_or_else(|_| "127.0.0.1:15692".into());
    let answer = http
        .get(format!("http://{addr}/metrics/per-object"))
        .send()
        .await;
    match answer {
        Ok(response) if response.status() == StatusCode::OK => Some(addr),
        other => {
            platform::testing::skip_or_fail(
                &format!(
                    "RabbitMQ's Prometheus endpoint at {addr} (BOOKSTORE_TEST_RABBITMQ_PROMETHEUS; \
                     `rabbitmq-plugins enable rabbitmq_prometheus`, which .ci/run does)"
                ),
                format!("http://{addr}/metrics/per-object answers {other:?}"),
            );
            None
        }
    }
}

fn host_port(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Places an order of `quantity` units and returns its id.
async fn order(cluster: &Cluster, token: &str, book: &str, quantity: u32) -> String {
    let (status, body) = cluster.place(token, book, quantity, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Queries evaluated against Prometheus, and what was wrong with them.
struct Evaluation<'a> {
    prometheus: &'a Prometheus,
    /// Every metric name Prometheus has samples of.
    known: BTreeSet<String>,
    failures: Vec<String>,
    evaluated: usize,
}

impl Evaluation<'_> {
    /// `expr` must select only metrics some target exposes, and return data.
    async fn check(&mut self, place: String, expr: String) {
        self.evaluated += 1;
        for name in metric_names(&expr) {
            if !self.known.contains(&name) {
                self.failures.push(format!(
                    "{place}: metric {name} is exposed by no scraped target"
                ));
            }
        }
        match self.prometheus.query(&expr).await {
            Ok(result) if !result.is_empty() => {}
            Ok(_) => self.failures.push(format!("{place}: no data for `{expr}`")),
            Err(err) => self
                .failures
                .push(format!("{place}: `{expr}` failed: {err}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dashboard_query_and_alert_expression_returns_data_from_the_running_shop() {
    let Some(binary) = tool("prometheus", "prometheus") else {
        return;
    };
    let Some(broker) = broker().await else { return };
    let Some(rabbitmq) = rabbitmq_prometheus(&reqwest::Client::new()).await else {
        return;
    };
    let started = Instant::now();
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("notifications").await;
    let target = |name: &str| vec![host_port(&cluster.urls[name])];
    let jobs = [
        ("users", "/metrics", target("users")),
        ("catalog", "/metrics", target("catalog")),
        ("inventory", "/metrics", target("inventory")),
        ("orders", "/metrics", target("orders")),
        (
            "worker",
            "/metrics",
            vec![
                host_port(&cluster.urls["worker-a"]),
                host_port(&cluster.urls["worker-b"]),
            ],
        ),
        ("notifications", "/metrics", target("notifications")),
        ("rabbitmq", "/metrics/per-object", vec![rabbitmq]),
    ];
    let prometheus = Prometheus::start(&binary, &config(&[rules_file()], &jobs)).await;
    let cluster_ready = started.elapsed();

    // The workload. A customer watches their orders over Socket.IO; a stranger is refused.
    let customer = cluster.customer("watcher@shop.example").await;
    let mut clients = Clients::connect(
        &gateway,
        "websocket",
        &[
            ("customer", Some(&customer)),
            ("stranger", Some("not-a-token")),
        ],
    )
    .await;
    clients.connected("customer").await;
    clients
        .wait_for("the stranger's refusal", Duration::from_secs(20), |l| {
            l["socket"] == "stranger" && l["type"] == "connect_error"
        })
        .await;

    // A poison message for the dead-letter queue (the workers count it every 15 s).
    cluster.publish_poison().await;

    // Orders that complete, and one for more than the stock that fails.
    let book = cluster.book_with_stock(10).await;
    for _ in 0..3 {
        order(&cluster, &customer, &book, 1).await;
    }
    let too_many = order(&cluster, &customer, &book, 50).await;
    cluster
        .wait_status(&customer, &too_many, "failed", Duration::from_secs(30))
        .await;
    cluster.settled(Duration::from_secs(30)).await;
    clients
        .wait_for(
            "the customer to be told of the failed order",
            Duration::from_secs(30),
            |l| l["socket"] == "customer" && l["data"]["order_id"] == too_many.as_str(),
        )
        .await;

    // Inventory answering 503 until a worker has put the order back: it is retried, then
    // completes.
    let put_back =
        "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"retry\"";
    let before = cluster.workers_metric(put_back).await;
    cluster.faults().inventory.set(FaultMode::Unavailable);
    let retried = order(&cluster, &customer, &book, 1).await;
    eventually(
        "a worker puts back the order inventory refused",
        Duration::from_secs(20),
        async || cluster.workers_metric(put_back).await > before,
    )
    .await;
    cluster.faults().inventory.set(FaultMode::Forward);
    cluster
        .wait_status(&customer, &retried, "completed", Duration::from_secs(30))
        .await;

    // RabbitMQ unreachable for a moment: the relay fails to publish, the order waits in the
    // outbox and goes through once the broker is back. Failures are counted from here: one
    // counted earlier says nothing of this order.
    let failures_before = cluster
        .metric("orders", "outbox_publish_failures_total")
        .await;
    cluster.faults().amqp.set(FaultMode::Down);
    let delayed = order(&cluster, &customer, &book, 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster
        .metric("orders", "outbox_publish_failures_total")
        .await
        <= failures_before
    {
        assert!(
            Instant::now() < deadline,
            "the orders relay did not fail to publish while the broker was down: {}",
            cluster.log("orders")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The relay records what waits before it reports the failure.
    assert!(cluster.metric("orders", "outbox_backlog_events").await >= 1.0);
    assert!(
        cluster
            .metric("orders", "outbox_oldest_event_age_seconds")
            .await
            > 0.0
    );
    cluster.faults().amqp.set(FaultMode::Forward);
    cluster
        .wait_status(&customer, &delayed, "completed", Duration::from_secs(60))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.metric("orders", "outbox_backlog_events").await > 0.0 {
        assert!(
            Instant::now() < deadline,
            "the orders outbox backlog metric did not return to zero"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Answers of the 4xx kind: a book that does not exist, a request without a token.
    let (status, _) = cluster
        .get(
            "catalog",
            &format!("/api/v1/books/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = cluster.get("users", "/api/v1/users/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    prometheus
        .eventually(
            "the dead letter counted",
            "max by (consumer) (dead_letter_messages) > 0",
            Duration::from_secs(40),
        )
        .await;
    // A worker gone: its target is down, the other carries on.
    cluster.kill("worker-b").await;
    prometheus
        .eventually(
            "the killed worker's target down",
            "up{job=\"worker\"} == 0",
            Duration::from_secs(20),
        )
        .await;
    // A few more scrapes after the last events, so that every rate has two samples.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let workload = started.elapsed() - cluster_ready;

    let mut evaluation = Evaluation {
        prometheus: &prometheus,
        known: prometheus.metric_names().await,
        failures: Vec::new(),
        evaluated: 0,
    };
    for dashboard in dashboards() {
        for query in dashboard_queries(&dashboard) {
            evaluation.check(query.place, query.expr).await;
        }
    }
    let rules = prometheus.rules().await;
    assert!(!rules.is_empty(), "prometheus loaded no rules");
    for rule in &rules {
        let name = rule["name"].as_str().unwrap();
        let expr = rule["query"].as_str().unwrap();
        if rule["health"] != "ok" {
            evaluation.failures.push(format!(
                "alert {name}: evaluation {}: {}",
                rule["health"], rule["lastError"]
            ));
        }
        for (n, operand) in set_operands(expr).iter().enumerate() {
            evaluation
                .check(
                    format!("alert {name} › operand {}", n + 1),
                    without_threshold(operand),
                )
                .await;
        }
        if ALERTS_THE_WORKLOAD_TRIGGERS.contains(&name) {
            evaluation
                .check(format!("alert {name} (whole expression)"), expr.to_owned())
                .await;
        }
    }
    let Evaluation {
        failures,
        evaluated,
        ..
    } = evaluation;
    eprintln!(
        "cluster and Prometheus ready in {cluster_ready:?}; workload {workload:?}; {evaluated} queries evaluated"
    );
    clients.stop().await;
    prometheus.stop().await;
    cluster.stop().await;
    assert!(
        failures.is_empty(),
        "{} of {evaluated} queries failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
