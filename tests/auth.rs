//! Authentication, authorization and cross-site protection of `domopt serve`, through
//! the real binary and real HTTP.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::server::*;
use domopt::service::auth::hash_hex;
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-0123456789";
const WRITER: &str = "writer-key-0123456789";
const READER: &str = "reader-key-0123456789";

/// Writes a key file with one key per role and returns its path.
fn key_file(dir: &Path) -> PathBuf {
    let path = dir.join("keys.txt");
    let text = format!(
        "# domopt API keys\n\n{} admin ops admin\n{} writer shop frontend\n{} reader dashboard\n",
        hash_hex(ADMIN.as_bytes()),
        hash_hex(WRITER.as_bytes()),
        hash_hex(READER.as_bytes()),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a server with the key file in `dir` (its data in `dir/data`).
fn start_with_keys(dir: &Path, extra: &[&str]) -> Server {
    let keys = key_file(dir);
    let mut args = vec!["--api-keys", keys.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start(&dir.join("data"), &args)
}

/// Sends a request with an optional key and a JSON body (for writes).
async fn as_key(
    s: &Server,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let url = format!("{}{path}", s.url);
    call_with(method, url, &headers, body.map(Value::to_string)).await
}

fn network() -> Value {
    let (_, v) = example();
    json!({"nodes": v["nodes"], "skus": v["skus"], "rate_card": v["rate_card"], "costs": v["costs"]})
}

fn one_order(id: &str) -> Value {
    let (_, v) = example();
    let mut o = v["orders"][0].clone();
    o["id"] = json!(id);
    json!({"orders": [o]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_key_are_refused_with_401() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_keys(dir.path(), &[]);
    for key in [None, Some("not-a-key"), Some("")] {
        let (st, e, h) = as_key(&s, key, "GET", "/v1/windows", None).await;
        assert_error(st, &e, 401, "E4010", &format!("{key:?}"));
        assert_eq!(h["www-authenticate"], "Bearer", "{key:?}");
        let (st, e, _) = as_key(&s, key, "PUT", "/v1/network", Some(&network())).await;
        assert_error(st, &e, 401, "E4010", &format!("PUT {key:?}"));
    }
    let basic = [("authorization", "Basic YWRtaW46YWRtaW4=")];
    let (st, e, _) = call_with("GET", format!("{}/v1/windows", s.url), &basic, None).await;
    assert_error(st, &e, 401, "E4010", "basic auth");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reaches_its_routes_and_no_further() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_keys(dir.path(), &["--window", "1"]);
    let net = network();
    // Admin: the network, inventory and capacity.
    for key in [READER, WRITER] {
        let (st, e, _) = as_key(&s, Some(key), "PUT", "/v1/network", Some(&net)).await;
        assert_error(st, &e, 403, "E4030", key);
        let reset = as_key(
            &s,
            Some(key),
            "POST",
            "/v1/capacity/reset",
            Some(&json!({})),
        )
        .await;
        assert_error(reset.0, &reset.1, 403, "E4030", key);
    }
    let (st, b, _) = as_key(&s, Some(ADMIN), "PUT", "/v1/network", Some(&net)).await;
    assert_eq!(st, 200, "{b}");
    let (st, b, _) = as_key(
        &s,
        Some(ADMIN),
        "POST",
        "/v1/capacity/reset",
        Some(&json!({})),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    let deltas = json!({"deltas": []});
    let (st, e, _) = as_key(
        &s,
        Some(WRITER),
        "POST",
        "/v1/inventory/deltas",
        Some(&deltas),
    )
    .await;
    assert_error(st, &e, 403, "E4030", "writer deltas");

    // Writer: orders (and so does admin); a reader may not.
    let (st, e, _) = as_key(
        &s,
        Some(READER),
        "POST",
        "/v1/orders",
        Some(&one_order("R-1")),
    )
    .await;
    assert_error(st, &e, 403, "E4030", "reader submit");
    for (key, id) in [(WRITER, "W-1"), (ADMIN, "A-1")] {
        let (st, b, _) = as_key(&s, Some(key), "POST", "/v1/orders", Some(&one_order(id))).await;
        assert_eq!(st, 202, "{key}: {b}");
    }
    let (st, b, _) = as_key(
        &s,
        Some(WRITER),
        "POST",
        "/v1/orders/W-1/cancel",
        Some(&json!({})),
    )
    .await;
    assert!(st == 200 || st == 409, "{st} {b}");

    // Reader: GET routes.
    for key in [READER, WRITER, ADMIN] {
        let (st, b, _) = as_key(&s, Some(key), "GET", "/v1/orders/A-1", None).await;
        assert_eq!(st, 200, "{key}: {b}");
        let (st, b, _) = as_key(&s, Some(key), "GET", "/v1/network", None).await;
        assert_eq!(st, 200, "{key}: {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_openapi_and_metrics_stay_open_unless_metrics_auth() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_keys(dir.path(), &[]);
    for path in ["/healthz", "/readyz", "/openapi.json", "/metrics"] {
        let (st, b, _) = as_key(&s, None, "GET", path, None).await;
        assert!(
            st == 200 || (path == "/readyz" && st == 503),
            "{path}: {st} {b}"
        );
    }
    drop(s);
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_keys(dir.path(), &["--metrics-auth"]);
    let (st, e, _) = as_key(&s, None, "GET", "/metrics", None).await;
    assert_error(st, &e, 401, "E4010", "metrics without a key");
    assert_eq!(
        as_key(&s, Some(READER), "GET", "/metrics", None).await.0,
        200
    );
    assert_eq!(as_key(&s, None, "GET", "/healthz", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let url = format!("{}/v1/network", s.url);
    let body = Some(network().to_string());
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let headers: Vec<_> = ct.map(|c| ("content-type", c)).into_iter().collect();
        let (st, e, _) = call_with("PUT", url.clone(), &headers, body.clone()).await;
        assert_error(st, &e, 415, "E4150", &format!("{ct:?}"));
    }
    let foreign = [
        ("content-type", "application/json"),
        ("origin", "http://evil.example"),
    ];
    let (st, e, _) = call_with("PUT", url.clone(), &foreign, body.clone()).await;
    assert_error(st, &e, 403, "E4031", "foreign origin");
    let other_port = [
        ("content-type", "application/json"),
        ("origin", "http://127.0.0.1:1"),
    ];
    let (st, e, _) = call_with("PUT", url.clone(), &other_port, body.clone()).await;
    assert_error(st, &e, 403, "E4031", "another port");
    let own = s.url.clone();
    let same = [
        ("content-type", "application/json; charset=utf-8"),
        ("origin", own.as_str()),
    ];
    let (st, b, _) = call_with("PUT", url.clone(), &same, body.clone()).await;
    assert_eq!(st, 200, "same origin: {b}");
    // A read with a foreign Origin is answered (browsers keep the answer from the page).
    let read = [("origin", "http://evil.example")];
    assert_eq!(call_with("GET", url, &read, None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_checks_apply_with_keys_too() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_keys(dir.path(), &[]);
    let auth = format!("Bearer {ADMIN}");
    let url = format!("{}/v1/network", s.url);
    let plain = [
        ("authorization", auth.as_str()),
        ("content-type", "text/plain"),
    ];
    let (st, e, _) = call_with("PUT", url.clone(), &plain, Some(network().to_string())).await;
    assert_error(st, &e, 415, "E4150", "text/plain with a key");
    let foreign = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("origin", "https://evil.example"),
    ];
    let (st, e, _) = call_with("PUT", url, &foreign, Some(network().to_string())).await;
    assert_error(st, &e, 403, "E4031", "foreign origin with a key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_audited_with_the_key_name_and_rows_even_when_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path());
    let (s, logs) = Server::start_logged(
        &dir.path().join("data"),
        &["--api-keys", keys.to_str().unwrap()],
        &[("RUST_LOG", "warn,audit=info")],
    );
    let (st, b, _) = as_key(&s, Some(ADMIN), "PUT", "/v1/network", Some(&network())).await;
    assert_eq!(st, 200, "{b}");
    let (st, b, _) = as_key(
        &s,
        Some(WRITER),
        "POST",
        "/v1/orders",
        Some(&one_order("L-1")),
    )
    .await;
    assert_eq!(st, 202, "{b}");
    let (st, _, _) = as_key(&s, Some(READER), "GET", "/v1/orders/L-1", None).await;
    assert_eq!(st, 200);
    let (st, _, _) = as_key(&s, None, "POST", "/v1/capacity/reset", Some(&json!({}))).await;
    assert_eq!(st, 401);
    let refused = |l: &str| l.contains("unauthenticated") && l.contains("status=401");
    for _ in 0..50 {
        if logs.lock().unwrap().lines().any(refused) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let logs = logs.lock().unwrap().clone();
    let audit: Vec<&str> = logs.lines().filter(|l| l.contains("audit")).collect();
    assert!(
        audit
            .iter()
            .any(|l| l.contains("ops admin") && l.contains("PUT") && l.contains("/v1/network")),
        "{logs}"
    );
    let wanted = |l: &str| l.contains("shop frontend") && l.contains("/v1/orders");
    let order = audit
        .iter()
        .find(|l| wanted(l))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        order.contains("POST") && order.contains("rows=1"),
        "{order}"
    );
    assert!(
        !audit.iter().any(|l| l.contains("dashboard")),
        "reads are not audited: {logs}"
    );
    assert!(
        audit.iter().any(|l| refused(l)),
        "a refused write is audited: {logs}"
    );
}

#[test]
fn a_key_file_with_a_bad_line_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    let text = format!(
        "# keys\n{} admin ops\n{} superuser someone\n",
        hash_hex(b"a"),
        hash_hex(b"b")
    );
    std::fs::write(&keys, text).unwrap();
    let (code, err) = refused_start(
        &dir.path().join("data"),
        &["--api-keys", keys.to_str().unwrap()],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("line 3"), "{err}");
    let missing = dir.path().join("none.txt");
    let (code, err) = refused_start(
        &dir.path().join("data"),
        &["--api-keys", missing.to_str().unwrap()],
    );
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn a_non_loopback_listen_needs_keys_or_insecure_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, err) = refused_start(&data, &["--listen", "0.0.0.0:0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--api-keys") && err.contains("--insecure-no-auth"),
        "{err}"
    );
    let (code, err) = refused_start(&data, &["--listen", "0.0.0.0:0", "--insecure-no-auth"]);
    assert_eq!(code, None, "--insecure-no-auth starts: {err}");
    let keys = key_file(dir.path());
    let with_keys = [
        "--listen",
        "0.0.0.0:0",
        "--api-keys",
        keys.to_str().unwrap(),
    ];
    let (code, err) = refused_start(&data, &with_keys);
    assert_eq!(code, None, "keys allow any address: {err}");
}

#[test]
fn hash_key_prints_the_sha256_of_stdin() {
    use std::io::Write;
    for input in ["s3cret\n", "s3cret"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_domopt"))
            .arg("hash-key")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            hash_hex(b"s3cret")
        );
    }
}

#[test]
fn load_sends_its_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_keys(dir.path(), &["--window", "0.3", "--budget", "1"]);
    let load = |env_key: Option<&str>, flag: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_domopt"));
        cmd.args(["load", "--url", &s.url, "--rate", "20", "--seconds", "0.5"])
            .args([
                "--batch",
                "5",
                "--concurrency",
                "1",
                "--nodes",
                "3",
                "--skus",
                "20",
            ])
            .args(flag)
            .env_remove("DOMOPT_API_KEY");
        if let Some(k) = env_key {
            cmd.env("DOMOPT_API_KEY", k);
        }
        cmd.output().unwrap()
    };
    let out = load(None, &[]);
    assert_eq!(out.status.code(), Some(2), "refused without a key");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
    let out = load(None, &["--api-key", ADMIN]);
    assert!(out.status.success(), "{out:?}");
    let out = load(Some(ADMIN), &["--no-setup"]);
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_key_file_and_a_broken_file_keeps_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_keys(dir.path(), &[]);
    assert_eq!(
        as_key(&s, Some(READER), "GET", "/v1/windows", None).await.0,
        200
    );
    let hangup = |s: &Server| {
        let pid = s.child.id().to_string();
        let st = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        assert!(st.success());
    };
    // Rotate: the reader key is revoked and a new one added.
    let new_key = "reader-key-rotated-987654321";
    std::fs::write(
        dir.path().join("keys.txt"),
        format!("{} reader rotated\n", hash_hex(new_key.as_bytes())),
    )
    .unwrap();
    hangup(&s);
    let start = std::time::Instant::now();
    while as_key(&s, Some(new_key), "GET", "/v1/windows", None)
        .await
        .0
        != 200
    {
        assert!(start.elapsed().as_secs() < 30, "the new key never worked");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (st, e, _) = as_key(&s, Some(READER), "GET", "/v1/windows", None).await;
    assert_error(st, &e, 401, "E4010", "a revoked key");
    // A file with a bad line is not taken: the rotated key keeps working.
    std::fs::write(dir.path().join("keys.txt"), "not a key line\n").unwrap();
    hangup(&s);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        as_key(&s, Some(new_key), "GET", "/v1/windows", None)
            .await
            .0,
        200
    );
}
