//! `caseflow check` and the workflow checks `serve` applies at start:
//! validation errors name the state; open cases keep their version.

mod common;

use common::{Server, config_with_workflow, repo_file, run, write_config};

fn shipped() -> String {
    std::fs::read_to_string(repo_file("workflows/support.toml")).unwrap()
}

#[test]
fn check_accepts_the_shipped_workflow() {
    let out = run(&["check", &repo_file("workflows/support.toml")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("support v4 is valid"));
}

#[test]
fn check_names_the_offending_state() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            shipped().replace(
                "[states.closed]",
                "[states.limbo]\non = {}\n[states.closed]",
            ),
            "unknown state 'limbo'",
        ),
        (
            shipped().replace(r#"on = { done = "qa" }"#, r#"on = { done = "review" }"#),
            "state 'execute': transition 'done' goes to 'review'",
        ),
        (
            shipped().replace("target = \"closed\"\n", ""),
            "timer 'idle_close' has no target",
        ),
        (
            shipped()
                .replace(r#"verified = "execute""#, r#"verified = "qa""#)
                .replace(r#"act = "execute""#, r#"act = "send""#)
                .replace(r#"recovered = "execute""#, r#"recovered = "qa""#),
            "state 'execute' is unreachable",
        ),
    ];
    for (i, (source, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, source).unwrap();
        let out = run(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "expected «{expected}» in: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_an_invalid_workflow_with_the_same_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        shipped().replace(r#"on = { done = "qa" }"#, r#"on = { done = "review" }"#),
    )
    .unwrap();
    let config = write_config(dir.path(), "", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&repo_file("workflows/support.toml"), bad.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let out = run(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().join("d").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("state 'execute'"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn open_cases_finish_on_their_version_and_a_silent_change_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_workflow(dir.path(), &shipped());
    let s = Server::start_with_config(dir.path(), &config).await;
    let (_, body) = s.message("+6287700000001", "wamid.v1", "hi").await;
    let old_case = body["case_id"].as_str().unwrap().to_string();
    s.wait_case_waiting(&old_case, "operator").await;
    assert!(s.terminate().success());

    // Same version, different meaning: refused, naming the version.
    let changed = shipped().replace("after = \"24h\"", "after = \"12h\"");
    let config = config_with_workflow(dir.path(), &changed);
    let out = run(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("support v4 differs") && err.contains("bump `version`"),
        "{err}"
    );

    // Bumped: starts; the open case stays on v4, a new case opens on v5.
    let bumped = changed.replace("\nversion = 4\n", "\nversion = 5\n");
    let config = config_with_workflow(dir.path(), &bumped);
    let s = Server::start_with_config(dir.path(), &config).await;
    assert_eq!(s.case(&old_case).await["workflow_version"], 4);
    assert_eq!(s.case(&old_case).await["stuck"], false);
    let (_, body) = s.message("+6287700000002", "wamid.v2", "hi").await;
    let new_case = body["case_id"].as_str().unwrap().to_string();
    assert_eq!(s.case(&new_case).await["workflow_version"], 5);
    assert!(s.terminate().success());

    // v6 declares a migration from v4: the open v4 case moves onto v6.
    let migrating = format!(
        "{}\n[[migrations]]\nfrom_version = 4\n",
        bumped.replace("\nversion = 5\n", "\nversion = 6\n")
    );
    let config = config_with_workflow(dir.path(), &migrating);
    let s = Server::start_with_config(dir.path(), &config).await;
    let case = s.case(&old_case).await;
    assert_eq!(case["workflow_version"], 6);
    let last = case["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["reason"], "migrated from support v4 to support v6");
    assert_eq!(
        s.case(&new_case).await["workflow_version"],
        5,
        "no migration from v5 declared"
    );
    s.terminate();
}
