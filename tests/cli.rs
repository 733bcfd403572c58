//! The binary: exit codes and messages for good and bad input.

use std::process::Command;

fn domopt(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_domopt"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn generate_solve_check_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("w.json.gz");
    let plan = dir.path().join("p.json");
    let (code, _, err) = domopt(&[
        "generate",
        "--orders",
        "200",
        "--nodes",
        "8",
        "--skus",
        "40",
        "--seed",
        "2",
        "--out",
        inst.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for solver in ["cheapest", "closest", "fewest-splits"] {
        let (code, _, err) = domopt(&[
            "solve",
            inst.to_str().unwrap(),
            "--solver",
            solver,
            "--out",
            plan.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("objective"), "no summary line: {err}");
        let (code, out, _) = domopt(&["check", inst.to_str().unwrap(), plan.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("VALID: objective"), "{out}");
    }
}

#[test]
fn an_invalid_plan_exits_1_and_lists_violations() {
    let dir = tempfile::tempdir().unwrap();
    let inst = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/example-instance.json"
    );
    let plan = dir.path().join("p.json");
    let (code, _, _) = domopt(&[
        "solve",
        inst,
        "--solver",
        "closest",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&plan).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["objective"] = serde_json::json!(1.0);
    std::fs::write(&plan, v.to_string()).unwrap();
    let (code, out, _) = domopt(&["check", inst, plan.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("E3040") && out.contains("INVALID"), "{out}");
}

#[test]
fn unreadable_input_exits_2_with_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"format": "domopt.instance/1", "name": "x", "nodes": [{"id": "A", "kind": "castle"#,
    )
    .unwrap();
    let (code, _, err) = domopt(&["solve", bad.to_str().unwrap(), "--solver", "closest"]);
    assert_eq!(code, 2);
    assert!(err.contains("E1000") && err.contains("truncated"), "{err}");
    std::fs::write(&bad, r#"{"format": "domopt.instance/1", "name": "x", "nodes": [{"id": "A", "kind": "castle", "lat": 99, "lon": 0}], "skus": [], "inventory": [], "rate_card": {"zone_upper_miles": [], "services": []}, "costs": {"unfilled_penalty": 1}, "orders": []}"#).unwrap();
    let (code, _, err) = domopt(&["solve", bad.to_str().unwrap(), "--solver", "closest"]);
    assert_eq!(code, 2);
    for c in ["E1101", "E1102", "E1302"] {
        assert!(err.contains(c), "{c} missing: {err}");
    }
    let (code, _, err) = domopt(&["solve", "/nonexistent.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = domopt(&["solve", bad.to_str().unwrap(), "--solver", "magic"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'magic'"), "{err}");
    assert!(err.contains("fewest-splits"), "{err}");
}

#[test]
fn bench_prints_a_table_of_checked_plans() {
    let (code, out, err) = domopt(&["bench", "--sizes", "60x4x10:2,120x6x20:2", "--threads", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("| 60 × 4 × 10 | 2 |") && out.contains("| 120 × 6 × 20 | 2 |"),
        "{out}"
    );
    assert!(!out.contains("| NO |"), "an invalid plan: {out}");
    let (code, _, err) = domopt(&["bench", "--sizes", "60x4:2"]);
    assert_eq!(code, 2);
    assert!(err.contains("ORDERSxNODESxSKUS:SECONDS"), "{err}");
}

#[test]
fn bench_runs_every_window_of_each_family_at_each_budget() {
    let root = tempfile::tempdir().unwrap();
    let (fam_a, fam_b) = (root.path().join("fam-a"), root.path().join("fam-b"));
    for (dir, seed) in [(&fam_a, "1"), (&fam_a, "2"), (&fam_b, "3")] {
        std::fs::create_dir_all(dir).unwrap();
        let out = dir.join(format!("w{seed}.json"));
        let (code, _, err) = domopt(&[
            "generate",
            "--orders",
            "40",
            "--nodes",
            "4",
            "--skus",
            "10",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    std::fs::write(fam_b.join("notes.txt"), "not a window").unwrap();
    let (code, out, err) = domopt(&[
        "bench",
        "--suite",
        fam_a.to_str().unwrap(),
        "--suite",
        fam_b.to_str().unwrap(),
        "--budgets",
        "0.5,1",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("### fam-a") && out.contains("### fam-b"),
        "{out}"
    );
    for row in ["| w1 | 0.5 |", "| w1 | 1 |", "| w2 | 0.5 |", "| w3 | 1 |"] {
        assert!(out.contains(row), "{row} missing: {out}");
    }
    let rows = out
        .lines()
        .filter(|l| l.starts_with("| w") && !l.starts_with("| window"));
    assert_eq!(rows.count(), 6, "{out}");
    assert!(!out.contains("| NO |"), "an invalid plan: {out}");
    let (code, _, err) = domopt(&[
        "bench",
        "--suite",
        fam_a.to_str().unwrap(),
        "--budgets",
        "0",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    use std::io::{BufRead, Read};
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_domopt"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Up once it prints its address; an interrupt then makes it log its shutdown.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut address = String::new();
    stdout.read_line(&mut address).unwrap();
    assert!(address.starts_with("listening on"), "{address:?}");
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    child.wait().unwrap();
    assert!(logs.contains("shutting down"), "{logs:?}");
    assert!(!logs.contains('\u{1b}'), "colour codes in {logs:?}");
}
