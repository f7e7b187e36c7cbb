//! The operator process as `bookstore operator` runs it, on a mocked API server: it watches
//! Bookstores and every kind of object it owns (only those labelled as its own), serves
//! `/healthz` and `/metrics`, and stops when shutdown is triggered.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use platform::config::ServeArgs;
use platform::shutdown::shutdown_pair;

#[tokio::test]
async fn the_operator_watches_its_kinds_serves_health_and_metrics_and_stops_on_shutdown() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        // Watches are never answered, as a quiet API server would hold them open.
        let mut open_watches = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let query = request.uri().query().unwrap_or_default().to_owned();
            log.lock().unwrap().push(format!(
                "{} {}?{query}",
                request.method(),
                request.uri().path()
            ));
            if query.contains("watch=true") {
                open_watches.push(send);
                continue;
            }
            let list = serde_json::json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []});
            send.send_response(
                Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&list).unwrap()))
                    .unwrap(),
            );
        }
    });
    let client = kube::Client::new(service, "shop");
    let serve = ServeArgs {
        listen: "127.0.0.1:0".into(),
        cors_origins: Vec::new(),
        request_timeout_seconds: "5".into(),
        drain_seconds: "0".into(),
        header_read_timeout_seconds: "10".into(),
        max_connections: None,
    };
    let settings = operator::Settings {
        serve: serve.validate().unwrap(),
        namespace: Some("shop".into()),
        instance: Some("operator-0".into()),
        lease: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, token) = shutdown_pair();
    let running =
        tokio::spawn(async move { operator::serve(client, &settings, listener, token).await });

    let selector = "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dbookstore-operator";
    let expected = [
        (
            "/apis/bookstore.dev/v1alpha1/namespaces/shop/bookstores",
            false,
        ),
        ("/apis/apps/v1/namespaces/shop/deployments", true),
        ("/apis/batch/v1/namespaces/shop/jobs", true),
        ("/api/v1/namespaces/shop/services", true),
        ("/api/v1/namespaces/shop/configmaps", true),
        ("/apis/policy/v1/namespaces/shop/poddisruptionbudgets", true),
        (
            "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers",
            true,
        ),
    ];
    // Secrets too (all but Helm's release records), for the hashes that roll the pods.
    let secrets = (
        "/api/v1/namespaces/shop/secrets",
        "fieldSelector=type%21%3Dhelm.sh%2Frelease.v1",
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let requests = seen.lock().unwrap().clone();
        let watches = |path: &str, selector: Option<&str>| {
            requests.iter().any(|r| {
                r.starts_with(&format!("GET {path}?"))
                    && r.contains("watch=true")
                    && selector.is_none_or(|s| r.contains(s))
            })
        };
        let watched = expected
            .iter()
            .all(|(path, labelled)| watches(path, labelled.then_some(selector)))
            && watches(secrets.0, Some(secrets.1));
        if watched {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every kind is watched: {requests:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Ready once it has listed Bookstores.
    readiness_becomes(addr, 200).await;
    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("bookstore_operator_reconciliations_total 0"),
        "{metrics}"
    );
    // Without a Lease it leads from the start.
    assert!(metrics.contains("bookstore_operator_leader 1"), "{metrics}");

    trigger.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the operator stops on shutdown");
    stopped.unwrap().unwrap();
}

/// Waits until the operator's `/readyz` answers `status`, failing after 15 s.
async fn readiness_becomes(addr: std::net::SocketAddr, status: u16) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let answer = http
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap();
        let got = answer.status().as_u16();
        let body = answer.text().await.unwrap();
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "readiness stayed {got} ({body}), expected {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The operator on a mocked API server answering each request with `answer` (or holding it
/// open when `answer` gives nothing, as an API server that does not respond), serving on a
/// port of its own; returns its address, the shutdown trigger and the running task.
fn start(
    answer: impl Fn(&Request<Body>) -> Option<(StatusCode, serde_json::Value)> + Send + 'static,
) -> (
    std::net::SocketAddr,
    platform::shutdown::ShutdownTrigger,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(async move {
        let mut unanswered = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            match answer(&request) {
                Some((status, body)) => send.send_response(
                    Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Body::from(serde_json::to_vec(&body).unwrap()))
                        .unwrap(),
                ),
                None => unanswered.push(send),
            }
        }
    });
    let client = kube::Client::new(service, "shop");
    let serve = ServeArgs {
        listen: "127.0.0.1:0".into(),
        cors_origins: Vec::new(),
        request_timeout_seconds: "5".into(),
        drain_seconds: "0".into(),
        header_read_timeout_seconds: "10".into(),
        max_connections: None,
    };
    let settings = operator::Settings {
        serve: serve.validate().unwrap(),
        namespace: Some("shop".into()),
        instance: Some("operator-0".into()),
        lease: None,
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let (trigger, token) = shutdown_pair();
    let running =
        tokio::spawn(async move { operator::serve(client, &settings, listener, token).await });
    (addr, trigger, running)
}

#[tokio::test]
async fn without_the_right_to_list_bookstores_the_operator_is_not_ready() {
    let forbidden = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "bookstores.bookstore.dev is forbidden: User \"system:serviceaccount:shop:operator\" cannot list resource \"bookstores\"", "reason": "Forbidden", "code": 403});
    let lists = Arc::new(Mutex::new(0));
    let seen = lists.clone();
    let (addr, trigger, running) = start(move |request| {
        if request.method() == "GET" && request.uri().path().ends_with("/bookstores") {
            *seen.lock().unwrap() += 1;
        }
        Some((StatusCode::FORBIDDEN, forbidden.clone()))
    });
    // Readiness is 503 before the first answer too: only once it has asked does 503 say that
    // the refusal keeps it unready.
    platform::testing::eventually(
        "the operator asks to list Bookstores",
        Duration::from_secs(10),
        async || *lists.lock().unwrap() > 0,
    )
    .await;
    readiness_becomes(addr, 503).await;
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("the operator stops on shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_operator_stops_promptly_while_a_reconciliation_waits_on_an_api_server_that_does_not_answer()
 {
    // Bookstores are listed, then nothing is answered: the reconciliation of the one listed
    // waits on its first apply for as long as the connection lasts.
    let list = serde_json::json!({"kind": "BookstoreList", "apiVersion": "bookstore.dev/v1alpha1", "metadata": {"resourceVersion": "1"}, "items": [{
        "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
        "metadata": {"name": "shop", "namespace": "shop", "uid": "6a3c1f0e-5b1d-4c1e-9c55-0b8a4b1f2d10", "generation": 1, "resourceVersion": "1"},
        "spec": {"image": "registry.example/bookstore", "version": "1.0.0", "database": {"name": "shop-db"}, "broker": {"secretRef": {"name": "shop-amqp"}}, "jwt": {"secretName": "shop-jwt"}, "serviceToken": {"name": "shop-token"}}
    }]});
    let applies = Arc::new(Mutex::new(0));
    let seen = applies.clone();
    let (addr, trigger, running) = start(move |request| {
        let query = request.uri().query().unwrap_or_default();
        if request.method() == "PATCH" {
            *seen.lock().unwrap() += 1;
        }
        (request.method() == "GET"
            && request.uri().path().ends_with("/bookstores")
            && !query.contains("watch=true"))
        .then(|| (StatusCode::OK, list.clone()))
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while *applies.lock().unwrap() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reconciliation never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    readiness_becomes(addr, 200).await;
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("the operator stops within its bound although the API server does not answer")
        .unwrap()
        .unwrap();
}
