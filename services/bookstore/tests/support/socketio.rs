//! The official Socket.IO client (Node.js, from `services/notifications/tests/client`) as tests
//! and benchmarks drive it: one process holding several sockets, each outcome and event read back
//! as a JSON line. Its npm dependencies are installed from the committed lock file on first use.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../notifications/tests/client")
}

/// Installs the client's dependencies once per machine (`npm ci`, exactly the lock file).
fn ensure_installed() {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = client_dir();
    if dir
        .join("node_modules/socket.io-client/package.json")
        .exists()
    {
        return;
    }
    let output = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .expect("npm (Node.js) is needed for the Socket.IO client tests");
    assert!(
        output.status.success(),
        "npm ci failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running client process and what it has printed so far.
pub struct Clients {
    child: Child,
    // Held open: the client exits when its stdin closes.
    _stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    pub seen: Vec<Value>,
}

impl Clients {
    /// Starts the client with `config` (see client.mjs for its fields).
    pub async fn start(config: Value) -> Self {
        ensure_installed();
        // A long configuration (a thousand tokens) goes through a file: one command-line
        // argument is limited to 128 KiB.
        let file = std::env::temp_dir().join(format!(
            "socketio-clients-{}.json",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&file, config.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(client_dir().join("client.mjs"))
            .arg(format!("@{}", file.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node (Node.js) is needed for the Socket.IO client tests");
        let stdin = child.stdin.take().unwrap();
        // Read at start-up; the client no longer needs it once it prints its first line.
        let config_file = file;
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            let mut config_file = Some(config_file);
            while let Ok(Some(line)) = reader.next_line().await {
                if let Some(file) = config_file.take() {
                    let _ = std::fs::remove_file(file);
                }
                match serde_json::from_str::<Value>(&line) {
                    Ok(value) => {
                        if tx.send(value).is_err() {
                            return;
                        }
                    }
                    Err(_) => eprintln!("client said: {line}"),
                }
            }
        });
        Self {
            child,
            _stdin: stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Sockets named `names` over `transport`, each with its token (`None`: no auth at all).
    pub async fn connect(url: &str, transport: &str, sockets: &[(&str, Option<&str>)]) -> Self {
        Self::start(serde_json::json!({
            "url": url,
            "transport": transport,
            "sockets": Self::sockets(sockets),
        }))
        .await
    }

    /// Like [`Clients::connect`], but each socket reconnects by itself after a disconnection,
    /// as a browser's does.
    pub async fn connect_reconnecting(url: &str, sockets: &[(&str, Option<&str>)]) -> Self {
        Self::start(serde_json::json!({
            "url": url,
            "transport": "websocket",
            "sockets": Self::sockets(sockets),
            "reconnect": true,
        }))
        .await
    }

    fn sockets(sockets: &[(&str, Option<&str>)]) -> Vec<Value> {
        sockets
            .iter()
            .map(|(name, token)| match token {
                Some(token) => serde_json::json!({ "name": name, "token": token }),
                None => serde_json::json!({ "name": name }),
            })
            .collect()
    }

    /// The first line (already seen or still to come) that `matches`, failing after `within`.
    pub async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Value {
        if let Some(line) = self.seen.iter().find(|line| matches(line)) {
            return line.clone();
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Ok(None) => panic!("the client exited before {what}; it said: {:?}", self.seen),
                Err(_) => panic!(
                    "timed out waiting for {what}; the client said: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// Waits until socket `name` is connected.
    pub async fn connected(&mut self, name: &str) {
        let line = self
            .wait_for(
                &format!("{name} to connect"),
                Duration::from_secs(20),
                |l| l["socket"] == name && (l["type"] == "connect" || l["type"] == "connect_error"),
            )
            .await;
        assert_eq!(line["type"], "connect", "{name} was refused: {line}");
    }

    /// Collects whatever arrives during `period`.
    pub async fn collect(&mut self, period: Duration) {
        let deadline = Instant::now() + period;
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline.into(), self.lines.recv()).await
        {
            self.seen.push(line);
        }
    }

    /// The `order_status_change` events socket `name` has received so far.
    pub fn status_events(&self, name: &str) -> Vec<Value> {
        self.events(name, "order_status_change")
    }

    /// The data of the `event` events socket `name` has received so far.
    pub fn events(&self, name: &str, event: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|l| l["socket"] == name && l["type"] == "event" && l["event"] == event)
            .map(|l| l["data"].clone())
            .collect()
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
