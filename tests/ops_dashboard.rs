//! The Grafana dashboard in ops/ stays true to the code: it is valid JSON,
//! every metric it queries is one the code emits, and every metric the code
//! emits has a panel.

use std::collections::BTreeSet;
use std::path::Path;

/// `caseflow_*` names in `text`, histogram suffixes removed.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("caseflow_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        out.insert(name.to_string());
        rest = &tail[end..];
    }
    out
}

fn emitted(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            emitted(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for macro_name in ["counter!(", "gauge!(", "histogram!("] {
                for part in text.split(macro_name).skip(1) {
                    let literal = part.trim_start().trim_start_matches('"');
                    out.extend(metric_names(&literal[..literal.find('"').unwrap_or(0)]));
                }
            }
        }
    }
}

#[test]
fn the_dashboard_queries_exactly_the_metrics_the_code_emits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ops/grafana/caseflow-dashboard.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut queried = BTreeSet::new();
    for panel in dash["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            queried.extend(metric_names(t["expr"].as_str().unwrap()));
        }
    }
    let mut code = BTreeSet::new();
    emitted(&root.join("src"), &mut code);
    assert!(code.len() >= 15, "metrics found in the code: {code:?}");
    let unknown: Vec<_> = queried.difference(&code).collect();
    assert!(unknown.is_empty(), "queried but never emitted: {unknown:?}");
    let missing: Vec<_> = code.difference(&queried).collect();
    assert!(missing.is_empty(), "emitted but on no panel: {missing:?}");
}
