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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let requests = seen.lock().unwrap().clone();
        let watched = expected.iter().all(|(path, labelled)| {
            requests.iter().any(|r| {
                r.starts_with(&format!("GET {path}?"))
                    && r.contains("watch=true")
                    && (!labelled || r.contains(selector))
            })
        });
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
    let ready = http
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
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

    trigger.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the operator stops on shutdown");
    stopped.unwrap().unwrap();
}
