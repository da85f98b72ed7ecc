//! A user error of the command line prints one line naming what is wrong
//! and exits 1, never a backtrace, even with `RUST_BACKTRACE` set.

mod common;

use std::process::Command;

fn caseflow(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "error")
        .env("CASEFLOW_ADMIN_TOKEN", common::TOKEN)
        .env("CASEFLOW_INGEST_TOKEN", common::INGEST_TOKEN)
        .env_remove("CASEFLOW_USERS_FILE")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn one_line(what: &str, stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: one line, got:\n{stderr}");
    assert!(lines[0].starts_with("caseflow: "), "{what}: {stderr}");
    assert!(lines[0].contains(needle), "{what}: {stderr}");
    for frame in ["Stack backtrace", "backtrace", " at /", "Caused by"] {
        assert!(!stderr.contains(frame), "{what}: {stderr}");
    }
}

#[test]
fn user_errors_print_one_line_and_no_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = caseflow(&["check", "missing.toml"], d);
    assert_eq!(code, 1);
    one_line(
        "check of a missing file",
        &err,
        "cannot read missing.toml: No such file",
    );
    // Outside the repository the default workflow path is missing too.
    let (code, _, err) = caseflow(&["check"], d);
    assert_eq!(code, 1);
    one_line(
        "check with the default path",
        &err,
        "workflows/support.toml",
    );
    let (code, _, err) = caseflow(&["serve", "--config", "nope.toml"], d);
    assert_eq!(code, 1);
    one_line("serve with a missing config", &err, "nope.toml");
    let (code, _, err) = caseflow(
        &[
            "users",
            "add",
            "dewi",
            "--role",
            "boss",
            "--file",
            "users.toml",
        ],
        d,
    );
    assert_eq!(code, 1);
    one_line("users add with an unknown role", &err, "boss");
    std::fs::write(
        d.join("bad.toml"),
        "name = \"support\"\nversion = 1\ninitial = \"nowhere\"\n",
    )
    .unwrap();
    let (code, _, err) = caseflow(&["check", "bad.toml"], d);
    assert_eq!(code, 1);
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn a_busy_port_says_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("data");
    let (code, _, err) = caseflow(
        &[
            "serve",
            "--listen",
            &addr,
            "--data-dir",
            data.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code, 1);
    one_line(
        "serve on a busy port",
        &err,
        &format!("cannot listen on {addr}"),
    );
    assert!(
        err.contains("--listen") && err.contains("--data-dir"),
        "{err}"
    );
    assert!(!data.exists(), "a refused desk leaves no data directory");
}
