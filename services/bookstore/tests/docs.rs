//! Docs that cannot drift from the code: every setting of the command line is in the README's
//! configuration table (and every setting there exists), and every operation of the API is in
//! the architecture's route table (and every route there exists).

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use clap::CommandFactory;
use serde_json::Value;

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

/// The schema of a component's property (through a nullable wrapper or an array's items as
/// `pointer` says), or of an operation's parameter: `("GET", "/api/v1/books", "limit")`.
fn parameter_schema<'a>(openapi: &'a Value, method: &str, path: &str, name: &str) -> &'a Value {
    openapi["paths"][path][method.to_lowercase()]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has no parameters"))
        .iter()
        .find(|parameter| parameter["name"] == name)
        .map(|parameter| &parameter["schema"])
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

/// The number at `keyword` of `schema`, as the code's constant type.
fn limit(schema: &Value, keyword: &str) -> Option<i64> {
    schema[keyword].as_f64().map(|n| n as i64)
}

#[test]
fn the_openapi_document_states_the_limits_the_code_enforces() {
    let openapi = serde_json::to_value(bookstore::shop::openapi_document().unwrap()).unwrap();
    let schema = |pointer: &str| -> &Value {
        openapi
            .pointer(&format!("/components/schemas/{pointer}"))
            .unwrap_or_else(|| panic!("no schema at {pointer}"))
    };
    let n = |value: usize| i64::try_from(value).unwrap();
    let expected: Vec<(String, &Value, &str, i64)> = vec![
        // Accounts.
        (
            "RegisterRequest.email".into(),
            schema("RegisterRequest/properties/email"),
            "maxLength",
            n(users::email::MAX_LENGTH),
        ),
        (
            "RegisterRequest.password".into(),
            schema("RegisterRequest/properties/password"),
            "minLength",
            n(users::password::MIN_LENGTH),
        ),
        (
            "RegisterRequest.password".into(),
            schema("RegisterRequest/properties/password"),
            "maxLength",
            n(users::password::MAX_LENGTH),
        ),
        (
            "RegisterRequest.display_name".into(),
            schema("RegisterRequest/properties/display_name"),
            "maxLength",
            n(users::accounts::MAX_DISPLAY_NAME),
        ),
        (
            "UpdateMeRequest.new_password".into(),
            schema("UpdateMeRequest/properties/new_password"),
            "minLength",
            n(users::password::MIN_LENGTH),
        ),
        (
            "UpdateMeRequest.new_password".into(),
            schema("UpdateMeRequest/properties/new_password"),
            "maxLength",
            n(users::password::MAX_LENGTH),
        ),
        (
            "UpdateMeRequest.display_name".into(),
            schema("UpdateMeRequest/properties/display_name"),
            "maxLength",
            n(users::accounts::MAX_DISPLAY_NAME),
        ),
        // Books.
        (
            "BookInput.title".into(),
            schema("BookInput/properties/title"),
            "maxLength",
            n(catalog::books::MAX_TITLE),
        ),
        (
            "BookInput.authors".into(),
            schema("BookInput/properties/authors"),
            "maxItems",
            n(catalog::books::MAX_AUTHORS),
        ),
        (
            "BookInput.authors[]".into(),
            schema("BookInput/properties/authors/items"),
            "maxLength",
            n(catalog::books::MAX_AUTHOR),
        ),
        (
            "BookInput.publisher".into(),
            schema("BookInput/properties/publisher"),
            "maxLength",
            n(catalog::books::MAX_PUBLISHER),
        ),
        (
            "BookInput.genre".into(),
            schema("BookInput/properties/genre"),
            "maxLength",
            n(catalog::books::MAX_GENRE),
        ),
        (
            "BookInput.description".into(),
            schema("BookInput/properties/description"),
            "maxLength",
            n(catalog::books::MAX_DESCRIPTION),
        ),
        (
            "Lookup.ids".into(),
            schema("Lookup/properties/ids"),
            "maxItems",
            n(catalog::books::MAX_LOOKUP),
        ),
        (
            "GET /api/v1/books q".into(),
            parameter_schema(&openapi, "GET", "/api/v1/books", "q"),
            "maxLength",
            n(catalog::search::MAX_QUERY),
        ),
        (
            "GET /api/v1/books genre".into(),
            parameter_schema(&openapi, "GET", "/api/v1/books", "genre"),
            "maxLength",
            n(catalog::books::MAX_GENRE),
        ),
        (
            "GET /api/v1/books author".into(),
            parameter_schema(&openapi, "GET", "/api/v1/books", "author"),
            "maxLength",
            n(catalog::search::MAX_AUTHOR_FILTER),
        ),
        (
            "SummaryResult text".into(),
            schema("SummaryResult/oneOf/0/properties/text"),
            "maxLength",
            n(catalog::summary::MAX_SUMMARY_CHARS),
        ),
        (
            "SummaryResult reason".into(),
            schema("SummaryResult/oneOf/1/properties/reason"),
            "maxLength",
            n(catalog::summary::MAX_REASON_CHARS),
        ),
        // Inventory.
        (
            "SetStock.available".into(),
            schema("SetStock/properties/available"),
            "maximum",
            inventory::stock::MAX_AVAILABLE,
        ),
        (
            "AdjustStock.delta".into(),
            schema("AdjustStock/properties/delta"),
            "maximum",
            inventory::stock::MAX_AVAILABLE,
        ),
        (
            "AdjustStock.delta".into(),
            schema("AdjustStock/properties/delta"),
            "minimum",
            -inventory::stock::MAX_AVAILABLE,
        ),
        (
            "inventory LineRequest.quantity".into(),
            schema("ReservationLineRequest/properties/quantity"),
            "maximum",
            inventory::stock::MAX_QUANTITY,
        ),
        (
            "inventory LineRequest.book_id".into(),
            schema("ReservationLineRequest/properties/book_id"),
            "maxLength",
            n(inventory::stock::MAX_ID_LENGTH),
        ),
        (
            "ReservationRequest.order_id".into(),
            schema("ReservationRequest/properties/order_id"),
            "maxLength",
            n(inventory::stock::MAX_ID_LENGTH),
        ),
        (
            "ReservationRequest.lines".into(),
            schema("ReservationRequest/properties/lines"),
            "maxItems",
            n(inventory::stock::MAX_LINES),
        ),
        (
            "ReservationBatch.reservations".into(),
            schema("ReservationBatch/properties/reservations"),
            "maxItems",
            n(inventory::stock::MAX_BATCH),
        ),
        (
            "GET /api/v1/inventory/{book_id} book_id".into(),
            parameter_schema(&openapi, "GET", "/api/v1/inventory/{book_id}", "book_id"),
            "maxLength",
            n(inventory::stock::MAX_ID_LENGTH),
        ),
        // Orders.
        (
            "PlaceOrder.lines".into(),
            schema("PlaceOrder/properties/lines"),
            "maxItems",
            n(orders::orders::MAX_LINES),
        ),
        (
            "orders LineRequest.quantity".into(),
            schema("OrderLineRequest/properties/quantity"),
            "maximum",
            orders::orders::MAX_QUANTITY,
        ),
        (
            "SetStatus.reason".into(),
            schema("SetStatus/properties/reason"),
            "maxLength",
            n(orders::orders::MAX_REASON),
        ),
        (
            "StatusChangeRequest.reason".into(),
            schema("StatusChangeRequest/properties/reason"),
            "maxLength",
            n(orders::orders::MAX_REASON),
        ),
        (
            "StatusBatch.changes".into(),
            schema("StatusBatch/properties/changes"),
            "maxItems",
            n(orders::MAX_STATUS_BATCH),
        ),
        (
            "POST /api/v1/orders Idempotency-Key".into(),
            parameter_schema(&openapi, "POST", "/api/v1/orders", "Idempotency-Key"),
            "maxLength",
            n(orders::orders::MAX_IDEMPOTENCY_KEY),
        ),
    ];
    let mut wrong: Vec<String> = expected
        .into_iter()
        .filter(|(_, schema, keyword, value)| limit(schema, keyword) != Some(*value))
        .map(|(what, schema, keyword, value)| {
            format!("{what}: {keyword} should be {value} in {schema}")
        })
        .collect();
    // Every page and page size of every list.
    let pages = i64::try_from(platform::pagination::MAX_PAGE).unwrap();
    let sizes = i64::try_from(platform::pagination::MAX_LIMIT).unwrap();
    for (path, item) in openapi["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let bound = match parameter["name"].as_str() {
                    Some("page") => pages,
                    Some("limit") => sizes,
                    _ => continue,
                };
                let schema = &parameter["schema"];
                if limit(schema, "minimum") != Some(1) || limit(schema, "maximum") != Some(bound) {
                    wrong.push(format!(
                        "{method} {path} {}: should be 1 to {bound} in {schema}",
                        parameter["name"]
                    ));
                }
            }
        }
    }
    // Every amount of money, as `Money` reads it.
    let money = schema("Money");
    if money["pattern"] != platform::money::MONEY_PATTERN {
        wrong.push(format!(
            "Money: the pattern should be MONEY_PATTERN in {money}"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
