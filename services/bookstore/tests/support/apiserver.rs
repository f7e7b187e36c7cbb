//! A stand-in Kubernetes API server for tests of the `bookstore operator` process: namespaced
//! objects of any kind kept in memory, answering the requests the operator makes (list, watch,
//! get, create, replace with resource-version conflicts, server-side apply as a merge, the
//! status subresource, delete, API discovery), and doing what the cluster's own controllers do
//! that the operator waits on: Deployments become available, and KEDA's admission webhook
//! refuses a ScaledObject for a Deployment that a HorizontalPodAutoscaler scales.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// The collection (`/api/v1/namespaces/<ns>/secrets`, `/apis/apps/v1/namespaces/<ns>/deployments`)
/// and the name of an object.
type Key = (String, String);

#[derive(Clone, Debug)]
struct Change {
    version: u64,
    collection: String,
    kind: &'static str,
    object: Value,
}

#[derive(Default)]
struct State {
    version: u64,
    objects: BTreeMap<Key, Value>,
    /// Per object, the fields each field manager's applies set (paths of leaves).
    owners: BTreeMap<Key, BTreeMap<String, BTreeSet<Vec<String>>>>,
    history: Vec<Change>,
    keda_served: bool,
}

impl State {
    /// The objects of a collection.
    fn items(&self, collection: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((c, _), _)| c == collection)
            .map(|(_, object)| object.clone())
            .collect()
    }
}

/// The server, on loopback, until dropped.
pub struct ApiServer {
    pub url: String,
    state: Arc<Mutex<State>>,
    changes: broadcast::Sender<Change>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The collection path of a namespaced resource: `api_version` `v1` is the core group.
pub fn collection(api_version: &str, namespace: &str, plural: &str) -> String {
    match api_version {
        "v1" => format!("/api/v1/namespaces/{namespace}/{plural}"),
        grouped => format!("/apis/{grouped}/namespaces/{namespace}/{plural}"),
    }
}

impl ApiServer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let (changes, _) = broadcast::channel(4096);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = {
            let (state, changes) = (state.clone(), changes.clone());
            axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
                let (state, changes) = (state.clone(), changes.clone());
                async move { handle(&state, &changes, &method, &uri, &body) }
            })
        };
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            state,
            changes,
            task,
        }
    }

    /// A kubeconfig whose current context is this server, for `KUBECONFIG`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: stand-in\n\
             clusters:\n- name: stand-in\n  cluster:\n    server: {}\n\
             users:\n- name: operator\n  user:\n    token: stand-in\n\
             contexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: operator\n    namespace: {namespace}\n",
            self.url
        )
    }

    /// Whether KEDA's API is served (its CRDs installed).
    pub fn serve_keda(&self, served: bool) {
        self.state.lock().unwrap().keda_served = served;
    }

    /// Creates or replaces an object as a client would, for the watchers to see.
    pub fn put(&self, collection: &str, object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        let mut state = self.state.lock().unwrap();
        let existing = state
            .objects
            .get(&(collection.to_owned(), name.clone()))
            .cloned();
        let stored = stamp(&mut state, object, existing.as_ref());
        commit(&mut state, &self.changes, collection, &name, stored);
    }

    /// Changes a stored object in place, as another client would.
    pub fn update(&self, collection: &str, name: &str, change: impl FnOnce(&mut Value)) {
        let mut object = self.get(collection, name).expect("the object exists");
        change(&mut object);
        self.put(collection, object);
    }

    pub fn get(&self, collection: &str, name: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        state
            .objects
            .get(&(collection.to_owned(), name.to_owned()))
            .cloned()
    }

    pub fn list(&self, collection: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.items(collection)
    }
}

/// Gives an object its server-side fields: a new resource version, a uid and generation 1 when
/// new, the generation counted up when its spec changed.
fn stamp(state: &mut State, mut object: Value, existing: Option<&Value>) -> Value {
    state.version += 1;
    let metadata = &mut object["metadata"];
    metadata["resourceVersion"] = json!(state.version.to_string());
    let generation = match existing {
        None => {
            metadata["uid"] = json!(format!("00000000-0000-0000-0000-{:012}", state.version));
            metadata["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
            1
        }
        Some(existing) => {
            metadata["uid"] = existing["metadata"]["uid"].clone();
            metadata["creationTimestamp"] = existing["metadata"]["creationTimestamp"].clone();
            let generation = existing["metadata"]["generation"].as_i64().unwrap_or(1);
            if existing["spec"] == object["spec"] {
                generation
            } else {
                generation + 1
            }
        }
    };
    object["metadata"]["generation"] = json!(generation);
    object
}

/// Stores an object and tells the watchers.
fn commit(
    state: &mut State,
    changes: &broadcast::Sender<Change>,
    collection: &str,
    name: &str,
    object: Value,
) {
    let key = (collection.to_owned(), name.to_owned());
    let kind = if state.objects.contains_key(&key) {
        "MODIFIED"
    } else {
        "ADDED"
    };
    state.objects.insert(key, object.clone());
    announce(state, changes, collection, kind, object);
}

fn announce(
    state: &mut State,
    changes: &broadcast::Sender<Change>,
    collection: &str,
    kind: &'static str,
    object: Value,
) {
    let change = Change {
        version: state.version,
        collection: collection.to_owned(),
        kind,
        object,
    };
    state.history.push(change.clone());
    let _ = changes.send(change);
}

/// What a path names: a collection, maybe an object in it, maybe a subresource of that.
struct Target {
    collection: String,
    namespace: String,
    name: Option<String>,
    subresource: Option<String>,
}

fn target(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest = match parts.as_slice() {
        ["api", "v1", rest @ ..] => (2, rest),
        ["apis", _, _, rest @ ..] => (3, rest),
        _ => return None,
    };
    let (prefix, rest) = rest;
    let ["namespaces", namespace, plural, object @ ..] = rest else {
        return None;
    };
    let collection = format!(
        "/{}/namespaces/{namespace}/{plural}",
        parts[..prefix].join("/")
    );
    Some(Target {
        collection,
        namespace: (*namespace).to_owned(),
        name: object.first().map(|n| (*n).to_owned()),
        subresource: object.get(1).map(|s| (*s).to_owned()),
    })
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn query_value<'a>(uri: &'a Uri, key: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then_some(v)
    })
}

fn handle(
    state: &Arc<Mutex<State>>,
    changes: &broadcast::Sender<Change>,
    method: &Method,
    uri: &Uri,
    body: &Bytes,
) -> Response {
    if uri.path() == "/apis/keda.sh/v1alpha1" {
        return if state.lock().unwrap().keda_served {
            axum::Json(json!({
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "keda.sh/v1alpha1",
                "resources": [
                    {"name": "scaledobjects", "singularName": "scaledobject", "namespaced": true, "kind": "ScaledObject", "verbs": ["get", "patch"]},
                    {"name": "triggerauthentications", "singularName": "triggerauthentication", "namespaced": true, "kind": "TriggerAuthentication", "verbs": ["get", "patch"]},
                ],
            }))
            .into_response()
        } else {
            status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource",
            )
        };
    }
    let Some(target) = target(uri.path()) else {
        return status(StatusCode::NOT_FOUND, "NotFound", "no such path");
    };
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(body) => body,
            Err(err) => return status(StatusCode::BAD_REQUEST, "BadRequest", &err.to_string()),
        }
    };
    let mut guard = state.lock().unwrap();
    let state = &mut *guard;
    let Some(name) = target.name.clone() else {
        return match *method {
            Method::GET if query_value(uri, "watch") == Some("true") => {
                let since = query_value(uri, "resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                watch(state, changes, &target.collection, since)
            }
            Method::GET => {
                let items = state.items(&target.collection);
                axum::Json(json!({
                    "kind": "List", "apiVersion": "v1",
                    "metadata": {"resourceVersion": state.version.to_string()},
                    "items": items,
                }))
                .into_response()
            }
            Method::POST => {
                let mut object = body;
                let name = match object["metadata"]["name"].as_str() {
                    Some(name) => name.to_owned(),
                    None => {
                        // generateName, as events use.
                        let prefix = object["metadata"]["generateName"].as_str().unwrap_or("x");
                        format!("{prefix}{}", state.version + 1)
                    }
                };
                let key = (target.collection.clone(), name.clone());
                if state.objects.contains_key(&key) {
                    return status(
                        StatusCode::CONFLICT,
                        "AlreadyExists",
                        &format!("\"{name}\" already exists"),
                    );
                }
                object["metadata"]["name"] = json!(name);
                object["metadata"]["namespace"] = json!(target.namespace);
                let stored = stamp(state, object, None);
                commit(state, changes, &target.collection, &name, stored.clone());
                (StatusCode::CREATED, axum::Json(stored)).into_response()
            }
            _ => status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "not here",
            ),
        };
    };
    let key = (target.collection.clone(), name.clone());
    let existing = state.objects.get(&key).cloned();
    match (method.clone(), target.subresource.as_deref()) {
        (Method::GET, None) => match existing {
            Some(object) => axum::Json(object).into_response(),
            None => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("\"{name}\" not found"),
            ),
        },
        (Method::PUT, None) => {
            let Some(existing) = existing else {
                return status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("\"{name}\" not found"),
                );
            };
            if body["metadata"]["resourceVersion"] != existing["metadata"]["resourceVersion"] {
                return status(
                    StatusCode::CONFLICT,
                    "Conflict",
                    "the object has been modified; please apply your changes to the latest version and try again",
                );
            }
            let mut object = body;
            object["metadata"]["namespace"] = json!(target.namespace);
            let stored = stamp(state, object, Some(&existing));
            commit(state, changes, &target.collection, &name, stored.clone());
            axum::Json(stored).into_response()
        }
        (Method::PATCH, Some("status")) => {
            let Some(mut object) = existing.clone() else {
                return status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("\"{name}\" not found"),
                );
            };
            object["status"] = body["status"].clone();
            let stored = stamp(state, object, existing.as_ref());
            commit(state, changes, &target.collection, &name, stored.clone());
            axum::Json(stored).into_response()
        }
        (Method::PATCH, None) => {
            if target.collection.ends_with("/scaledobjects") {
                let hpas = target
                    .collection
                    .replace("/apis/keda.sh/v1alpha1/", "/apis/autoscaling/v2/")
                    .replace("/scaledobjects", "/horizontalpodautoscalers");
                let scaled = body["spec"]["scaleTargetRef"]["name"]
                    .as_str()
                    .unwrap_or_default();
                let managed = state.objects.iter().any(|((c, _), hpa)| {
                    *c == hpas && hpa["spec"]["scaleTargetRef"]["name"] == scaled
                });
                if managed {
                    return status(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        &format!(
                            "admission webhook \"vscaledobject.kb.io\" denied the request: the workload '{scaled}' of type 'apps/v1.Deployment' is already managed by an hpa"
                        ),
                    );
                }
            }
            if target.collection.ends_with("/deployments")
                && existing.is_none()
                && !(body["spec"]["selector"].is_object() && body["spec"]["template"].is_object())
            {
                return status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    &format!(
                        "Deployment.apps \"{name}\" is invalid: spec.selector: Required value, spec.template: Required value"
                    ),
                );
            }
            let manager = query_value(uri, "fieldManager")
                .unwrap_or("unknown")
                .to_owned();
            let mut object = existing.clone().unwrap_or_else(|| json!({}));
            let status_before = object.get("status").cloned();
            let owners = state.owners.entry(key.clone()).or_default();
            apply(&mut object, &body, &manager, owners);
            object["metadata"]["name"] = json!(name);
            object["metadata"]["namespace"] = json!(target.namespace);
            // Status is written through its subresource only.
            match status_before {
                Some(before) => object["status"] = before,
                None => {
                    if let Some(map) = object.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            let mut stored = stamp(state, object, existing.as_ref());
            if target.collection.ends_with("/deployments") {
                // The Deployment controller and the kubelet: every replica updated and available.
                let replicas = stored["spec"]["replicas"].as_i64().unwrap_or(1);
                stored["status"] = json!({
                    "observedGeneration": stored["metadata"]["generation"],
                    "replicas": replicas, "updatedReplicas": replicas,
                    "availableReplicas": replicas, "readyReplicas": replicas,
                });
            }
            commit(state, changes, &target.collection, &name, stored.clone());
            let code = if existing.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            (code, axum::Json(stored)).into_response()
        }
        (Method::DELETE, None) => match state.objects.remove(&key) {
            Some(object) => {
                state.version += 1;
                announce(state, changes, &target.collection, "DELETED", object);
                axum::Json(json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}))
                    .into_response()
            }
            None => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("\"{name}\" not found"),
            ),
        },
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "not here",
        ),
    }
}

/// A forced server-side apply by `manager`, as the API server does it with leaf fields: the
/// fields given replace the stored ones (maps merged, lists whole) and become the manager's,
/// taken from any other manager; a field the manager set before and leaves out now is removed,
/// unless another manager owns it too. Managed fields are kept in `metadata.managedFields`.
fn apply(
    object: &mut Value,
    body: &Value,
    manager: &str,
    owners: &mut BTreeMap<String, BTreeSet<Vec<String>>>,
) {
    let mut applied = BTreeSet::new();
    if let Some(spec) = body.get("spec") {
        leaves(spec, &mut vec!["spec".to_owned()], &mut applied);
    }
    let before = owners.remove(manager).unwrap_or_default();
    for others in owners.values_mut() {
        others.retain(|path| !applied.contains(path));
    }
    for dropped in before.difference(&applied) {
        if !owners.values().any(|others| others.contains(dropped)) {
            remove(object, dropped);
        }
    }
    merge(object, body);
    owners.insert(manager.to_owned(), applied);
    owners.retain(|_, fields| !fields.is_empty());
    let managed: Vec<Value> = owners
        .iter()
        .map(|(manager, fields)| {
            let mut tree = json!({});
            for path in fields {
                let mut node = &mut tree;
                for part in path {
                    node = &mut node[format!("f:{part}")];
                    if node.is_null() {
                        *node = json!({});
                    }
                }
            }
            json!({"manager": manager, "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": tree})
        })
        .collect();
    object["metadata"]["managedFields"] = json!(managed);
}

/// The paths of the leaves under `value` (maps are entered, anything else is a leaf).
fn leaves(value: &Value, path: &mut Vec<String>, into: &mut BTreeSet<Vec<String>>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(key.clone());
                leaves(child, path, into);
                path.pop();
            }
        }
        _ => {
            into.insert(path.clone());
        }
    }
}

fn remove(object: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = object;
    for part in parents {
        match node.get_mut(part) {
            Some(child) => node = child,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
}

/// The fields of `patch` written over `into`, maps merged.
fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(into), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(into.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (into, patch) => *into = patch.clone(),
    }
}

/// A watch of `collection` from after resource version `since`: the changes since then, then
/// each new one as it happens, one JSON event per line, until the client hangs up.
fn watch(
    state: &State,
    changes: &broadcast::Sender<Change>,
    collection: &str,
    since: u64,
) -> Response {
    let mut live = changes.subscribe();
    let past: Vec<Change> = state
        .history
        .iter()
        .filter(|c| c.collection == collection && c.version > since)
        .cloned()
        .collect();
    let last = past.last().map_or(since.max(state.version), |c| c.version);
    let collection = collection.to_owned();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        for change in &past {
            if sender.send(line(change)).await.is_err() {
                return;
            }
        }
        loop {
            match live.recv().await {
                Ok(change) if change.collection == collection && change.version > last => {
                    if sender.send(line(&change)).await.is_err() {
                        return;
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| {
        receiver
            .poll_recv(cx)
            .map(|line| line.map(Ok::<_, Infallible>))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn line(change: &Change) -> Bytes {
    let mut bytes =
        serde_json::to_vec(&json!({"type": change.kind, "object": change.object})).unwrap();
    bytes.push(b'\n');
    Bytes::from(bytes)
}
