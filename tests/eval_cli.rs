//! `caseflow eval` (CONTRACT section 6): the shipped eval files pass on the
//! shipped config, so CI runs them; a changed policy (reschedule quota,
//! cutoff) makes them fail with a table that names what changed; a bad
//! file is refused by name.

mod common;

use std::path::{Path, PathBuf};

/// The shipped eval files.
fn eval_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(common::repo_file("config/eval"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "pilot and production evals are shipped");
    files
}

/// config/default.toml with its relative paths made absolute and `policy`
/// replacing its [policy] section's quota and cutoff lines.
fn config_with_policy(dir: &Path, quota: &str, cutoff: &str) -> PathBuf {
    let text = std::fs::read_to_string(common::repo_file("config/default.toml"))
        .unwrap()
        .replace(
            "\"workflows/support.toml\"",
            &format!("\"{}\"", common::repo_file("workflows/support.toml")),
        )
        .replace(
            "\"config/templates.toml\"",
            &format!("\"{}\"", common::repo_file("config/templates.toml")),
        )
        .replace("reschedule_quota_per_month = 2", quota)
        .replace("cutoff = { kind = \"calendar_days\", days = 1 }", cutoff);
    let path = dir.join("caseflow.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn eval(config: &Path, files: &[String]) -> (bool, String) {
    let mut args = vec!["eval", "--config", config.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    let out = common::run(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_shipped_eval_files_pass_on_the_shipped_policy() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_policy(
        dir.path(),
        "reschedule_quota_per_month = 2",
        "cutoff = { kind = \"calendar_days\", days = 1 }",
    );
    let (ok, table) = eval(&config, &eval_files());
    assert!(ok, "{table}");
    assert!(table.contains(" 0 failed"), "{table}");
    for tier in ["R0", "R1", "R2", "R3"] {
        assert!(
            table.contains(&format!("\n{tier} ")),
            "{tier} covered:\n{table}"
        );
    }
}

#[test]
fn a_changed_policy_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let pilot = vec![common::repo_file("config/eval/pilot.toml")];

    // No free reschedule left: an in-policy reschedule becomes R3.
    let config = config_with_policy(
        dir.path(),
        "reschedule_quota_per_month = 0",
        "cutoff = { kind = \"calendar_days\", days = 1 }",
    );
    let (ok, table) = eval(&config, &pilot);
    assert!(!ok, "a quota of 0 must fail the evals:\n{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("R2 reschedule in policy")
                && l.contains("FAIL")
                && l.contains("tier: expected R2, got R3")),
        "{table}"
    );
    assert!(table.contains("eval step(s) failed"), "{table}");

    // A five-day cutoff: Sari's session in three days is past it.
    let config = config_with_policy(
        dir.path(),
        "reschedule_quota_per_month = 2",
        "cutoff = { kind = \"calendar_days\", days = 5 }",
    );
    let (ok, table) = eval(&config, &pilot);
    assert!(!ok, "a longer cutoff must fail the evals:\n{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("R2 reschedule in policy") && l.contains("FAIL")),
        "{table}"
    );
}

#[test]
fn a_bad_eval_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[conversation]]\nname = \"typo\"\ncustomer = \"+6281\"\n[[conversation.step]]\nsay = \"hi\"\nexpect = { teir = \"R0\" }\n",
    )
    .unwrap();
    let out = common::run(&["eval", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("teir"), "{err}");
}
