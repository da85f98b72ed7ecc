//! Layers depend downward only (ARCHITECTURE.md, "Code map"): the pure core
//! knows no configuration, engine, store or adapter; the store knows no
//! engine or report; the configuration knows no engine; the channels know
//! no engine. Read from the source tree, so a new import across a layer
//! fails here before review.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (or `dir` itself when it is a file).
fn sources(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The code of a file without its comments: a doc comment may point a
/// reader to another layer (`crate::engine::tools`), the code may not.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate-level modules a file's code names: `crate::x`, and every `x`
/// of a grouped `crate::{x, y::z}`.
fn crate_modules(text: &str) -> Vec<String> {
    let text = code_of(text);
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(
                inner
                    .split(',')
                    .map(|part| part.trim().split("::").next().unwrap_or("").to_string()),
            );
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            out.push(rest[..end].to_string());
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// Files of `layer` (paths under `src/`) that name one of `forbidden`,
/// with the modules they name.
fn leaks(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        let mut named: Vec<String> = crate_modules(&text)
            .into_iter()
            .filter(|m| forbidden.contains(&m.as_str()))
            .collect();
        named.sort();
        named.dedup();
        if !named.is_empty() {
            found.push(format!("{}: {}", file.display(), named.join(", ")));
        }
    }
    found
}

/// The outer layers and adapters: what the pure layers never name.
const OUTER: [&str; 9] = [
    "config", "engine", "store", "http", "channels", "app", "report", "loadtest", "eval",
];

#[test]
fn the_pure_layers_name_no_outer_layer() {
    for layer in ["core", "policy", "workflow", "templates.rs"] {
        assert_eq!(leaks(layer, &OUTER), Vec::<String>::new(), "{layer}");
    }
}

#[test]
fn the_store_names_no_engine_report_or_adapter() {
    let forbidden = [
        "engine", "http", "channels", "app", "report", "loadtest", "eval",
    ];
    assert_eq!(leaks("store", &forbidden), Vec::<String>::new());
}

#[test]
fn the_configuration_and_channels_name_no_engine() {
    let forbidden = ["engine", "http", "app", "report", "loadtest", "eval"];
    assert_eq!(leaks("config.rs", &forbidden), Vec::<String>::new());
    assert_eq!(leaks("channels", &forbidden), Vec::<String>::new());
}

#[test]
fn the_scanner_sees_plain_and_grouped_paths() {
    let text =
        "use crate::engine::clock;\nuse crate::{store::Store, report};\nx = crate::config::X;";
    assert_eq!(
        crate_modules(text),
        ["engine", "store", "report", "config"].map(String::from)
    );
}
