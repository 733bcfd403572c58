//! A running `domopt serve` for integration tests: the real binary on a free loopback
//! port, real HTTP, the real SQLite databases in a temporary directory (or a real
//! PostgreSQL database standing for it, see [`super::storage`]).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use domopt::domain::{Instance, PLAN_FORMAT, Plan, PlanStatus, Shipment, Unfilled};
use domopt::format::read_instance;
use serde_json::{Value, json};

/// A running `domopt serve` process, killed on drop.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, extra, &[])
    }

    /// [`Server::start`] with extra environment variables.
    pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::started(spawn(data, extra, env, Stdio::inherit()))
    }

    /// [`Server::start_with_env`] collecting the server's stderr (its logs) into the
    /// returned string as lines arrive.
    pub fn start_logged(
        data: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (Server, std::sync::Arc<std::sync::Mutex<String>>) {
        let mut child = spawn(data, extra, env, Stdio::piped());
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        (Server::started(child), logs)
    }

    /// Waits for the address line of a spawned server.
    fn started(mut child: Child) -> Server {
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("the server prints its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, url }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("the server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn call(method: &str, url: String, body: Option<String>) -> (u16, Value) {
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    let (status, value, _) = call_with(method, url, headers, body).await;
    (status, value)
}

/// Sends a request with exactly these headers; returns the status, the body (JSON when
/// it parses, else a string) and the response headers.
pub async fn call_with(
    method: &str,
    url: String,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().expect("method"), &url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status().as_u16();
    let response_headers = resp.headers().clone();
    let text = resp.text().await.expect("a body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value, response_headers)
}

pub async fn get(s: &Server, path: &str) -> (u16, Value) {
    call("GET", format!("{}{path}", s.url), None).await
}

pub async fn send(s: &Server, method: &str, path: &str, body: &Value) -> (u16, Value) {
    call(method, format!("{}{path}", s.url), Some(body.to_string())).await
}

pub fn example() -> (Instance, Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/example-instance.json"
    );
    let inst = read_instance(Path::new(path)).expect("the example reads");
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    (inst, value)
}

/// Loads the example's network (no stock) and returns the example as JSON.
pub async fn load_network(s: &Server) -> Value {
    let (_, v) = example();
    let network = json!({"nodes": v["nodes"], "skus": v["skus"], "rate_card": v["rate_card"], "costs": v["costs"]});
    let (st, body) = send(s, "PUT", "/v1/network", &network).await;
    assert_eq!(st, 200, "{body}");
    v
}

/// Loads the example's network and stock: on_hand net of the example's reservations,
/// so that availability is the example's exactly.
pub async fn load_example(s: &Server) -> (Instance, Value) {
    let (inst, v) = example();
    let network = json!({"nodes": v["nodes"], "skus": v["skus"], "rate_card": v["rate_card"], "costs": v["costs"]});
    let (st, body) = send(s, "PUT", "/v1/network", &network).await;
    assert_eq!(st, 200, "{body}");
    let rows: Vec<Value> = inst
        .inventory
        .iter()
        .map(|r| json!({"node": r.node, "sku": r.sku, "on_hand": r.on_hand - r.reserved, "safety_stock": r.safety_stock}))
        .collect();
    let (st, body) = send(
        s,
        "PUT",
        "/v1/inventory",
        &json!({"rows": rows, "full": true}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    (inst, v)
}

/// Waits until no order is pending (by the metrics gauge).
pub async fn drain(s: &Server) {
    let start = Instant::now();
    loop {
        let (_, m) = get(s, "/metrics").await;
        let text = m.as_str().unwrap_or_default().to_string();
        let pending = text
            .lines()
            .find_map(|l| l.strip_prefix("domopt_pending_orders "))
            .map(|v| v.trim().to_string());
        if pending.as_deref() == Some("0") {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "orders never drained: {pending:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The plan made of every decided order's shipments and unfilled lines.
pub async fn plan_of(s: &Server, ids: &[String]) -> Plan {
    let mut shipments: Vec<Shipment> = Vec::new();
    let mut unfilled: Vec<Unfilled> = Vec::new();
    for id in ids {
        let (st, rec) = get(s, &format!("/v1/orders/{id}")).await;
        assert_eq!(st, 200, "{rec}");
        let d = &rec["decision"];
        assert!(d.is_object(), "order {id} is not decided: {rec}");
        shipments.extend(serde_json::from_value::<Vec<Shipment>>(d["shipments"].clone()).unwrap());
        unfilled.extend(serde_json::from_value::<Vec<Unfilled>>(d["unfilled"].clone()).unwrap());
    }
    let objective = shipments.iter().map(|x| x.cost).sum();
    Plan {
        format: PLAN_FORMAT.into(),
        instance: "service".into(),
        solver: "service".into(),
        status: PlanStatus::Feasible,
        objective,
        lower_bound: None,
        solve_seconds: 0.0,
        shipments,
        unfilled,
        stats: None,
    }
}

pub fn ids_of(v: &Value) -> Vec<String> {
    v["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

/// Starts `domopt serve` with stdout piped, on a free loopback port unless `extra`
/// gives `--listen`.
fn spawn(data: &Path, extra: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domopt"));
    cmd.arg("serve");
    if !extra.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd.arg("--data").arg(data);
    if super::storage::on_postgres() && !extra.contains(&"--database") {
        cmd.args(["--database", &super::storage::database_for(data)]);
    }
    cmd.args(extra)
        .env("RUST_LOG", "warn,highs=error")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the binary starts")
}

/// The value of a metric line `NAME VALUE` in `/metrics`.
pub async fn metric(s: &Server, name: &str) -> Option<String> {
    let (_, m) = get(s, "/metrics").await;
    let prefix = format!("{name} ");
    m.as_str()?
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map(|v| v.trim().to_string())
}

/// Waits until `id` has a status other than `pending` and returns its record.
pub async fn decided(s: &Server, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (st, rec) = get(s, &format!("/v1/orders/{id}")).await;
        assert_eq!(st, 200, "{rec}");
        if rec["status"] != "pending" {
            return rec;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "order {id} was never decided: {rec}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `domopt serve` expecting it to refuse to start: its exit code and stderr.
/// A server that starts after all is killed and reported with code `None`.
pub fn refused_start(data: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut child = spawn(data, extra, &[], Stdio::piped());
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("stdout is piped")).read_line(&mut line);
    if line.starts_with("listening on") {
        let _ = child.kill();
    }
    let status = child.wait().expect("the server exits");
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut err);
    (
        (!line.starts_with("listening on"))
            .then(|| status.code())
            .flatten(),
        err,
    )
}

/// Sends raw bytes over a new TCP connection and reads the answer: until one whole
/// response (head and `content-length` body) has arrived, the server closes the
/// connection, or `wait` passes. Returns the text and whether the server closed the
/// connection.
pub fn raw(s: &Server, bytes: &[u8], wait: Duration) -> (String, bool) {
    use std::io::Write;
    let addr = s.url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connects");
    conn.set_read_timeout(Some(wait)).unwrap();
    conn.write_all(bytes).expect("writes");
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&out).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            });
            if len.is_some_and(|n| body.len() >= n) {
                return (text, false);
            }
        }
    }
}

/// The JSON body of a raw HTTP response.
pub fn raw_body(response: &str) -> Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Asserts that a response is an error in the service's one shape with this status
/// and code; `ctx` names the request in the failure message.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str, ctx: &str) {
    assert_eq!(status, want_status, "{ctx}: {body}");
    assert_eq!(body["error"]["code"], want_code, "{ctx}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{ctx}: {body}"
    );
    assert!(body["error"]["details"].is_array(), "{ctx}: {body}");
}
