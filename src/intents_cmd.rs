//! `caseflow intents`: measure intent detection on labelled corpora
//! (`eval`) and show why a text was classified as it was (`explain`).
//!
//! This is the edge that reads files and the clock; the scoring itself is
//! the pure `policy::intent::eval`. A file whose name contains `heldout`
//! is only ever reported in aggregate: its misses are never printed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::config::Config;
use crate::core::records::Article;
use crate::policy::Policy;
use crate::policy::intent::eval::{self, Judge};

/// The demo knowledge base, against which R0 answers are judged by default.
const DEMO_KB: &str = include_str!("../config/demo/kb.json");

#[derive(Debug, clap::Subcommand)]
pub enum IntentsCommand {
    /// Per-intent precision and recall, accuracy, R3 recall and unsafe R0
    /// answers on labelled corpora (text, label, lang, kind; tab-separated).
    Eval {
        /// Corpus files; default: config/intent-examples.tsv (the
        /// development part) and tests/data/intents_heldout.tsv.
        files: Vec<PathBuf>,
        /// Config file whose [policy] (tier table, kb_threshold) is used.
        #[arg(long, default_value = "config/default.toml")]
        config: PathBuf,
        /// Knowledge base (JSON array as for POST /admin/kb); default: the
        /// demo articles.
        #[arg(long)]
        kb: Option<PathBuf>,
        /// Print each miss (refused for held-out files).
        #[arg(long)]
        misses: bool,
        /// Print every message's routing, tab-separated: text, label,
        /// primary intent, risky (a human gets it as risky), answered R0,
        /// aside (what a part also asks, or -). Refused for held-out files.
        #[arg(long)]
        routes: bool,
        /// The rules alone, without the classifier.
        #[arg(long)]
        rules_only: bool,
    },
    /// Cross-validation on a development corpus (never a held-out part):
    /// the classifier alone, the rules alone, and both joined under the
    /// configured thresholds; with --sweep, every threshold of the grid.
    Cv {
        /// Corpus file; default: config/intent-examples.tsv.
        file: Option<PathBuf>,
        /// Number of folds (row i is in fold i % folds).
        #[arg(long, default_value_t = 10)]
        folds: usize,
        /// Instead of folds, train on this file and test on FILE (a batch
        /// the rules were not tuned on).
        #[arg(long)]
        train: Option<PathBuf>,
        /// Config file whose [policy] (vocabulary, tier table) is used.
        #[arg(long, default_value = "config/default.toml")]
        config: PathBuf,
        /// Print the figures for every thresholds setting of the grid.
        #[arg(long)]
        sweep: bool,
        /// Print each miss of the rules joined with the classifier.
        #[arg(long)]
        misses: bool,
    },
    /// Train the intent arbiter on the classifier's out-of-fold readings
    /// of the examples the desk learns from (`[policy] intent_examples`,
    /// or the built-in ones), and write its weights: TOML, for `[policy]
    /// intent_arbiter` (or `config/intent-arbiter.toml`, built in). Write
    /// it again after changing the vocabulary or the examples: an arbiter
    /// is used only with those it was trained with.
    Arbiter {
        /// Config file whose [policy] vocabulary and examples are used.
        #[arg(long, default_value = "config/default.toml")]
        config: PathBuf,
        /// Folds of the classifier's out-of-fold readings.
        #[arg(long, default_value_t = 10)]
        folds: usize,
        /// Write the weights to this file instead of standard output.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Show how a text is read: its words, stems, the vocabulary entries
    /// that matched (exact, stem or fuzzy; negated or quoted) and the
    /// resulting intents.
    Explain {
        /// The customer text.
        text: String,
        /// Config file whose [policy] intents vocabulary is used.
        #[arg(long, default_value = "config/default.toml")]
        config: PathBuf,
    },
}

/// Runs an `intents` subcommand.
pub fn run(cmd: IntentsCommand) -> anyhow::Result<()> {
    match cmd {
        IntentsCommand::Eval {
            files,
            config,
            kb,
            misses,
            routes,
            rules_only,
        } => run_eval(files, &config, kb.as_deref(), misses, routes, rules_only),
        IntentsCommand::Cv {
            file,
            folds,
            train,
            config,
            sweep,
            misses,
        } => crate::intents_cv::run(crate::intents_cv::CvArgs {
            file,
            folds,
            train,
            config,
            sweep,
            misses,
        }),
        IntentsCommand::Arbiter {
            config,
            folds,
            write,
        } => crate::intents_cv::arbiter(&config, folds, write.as_deref()),
        IntentsCommand::Explain { text, config } => {
            let policy = load_policy(&config)?;
            print!("{}", explain(&policy.detector, &text));
            Ok(())
        }
    }
}

/// The `explain` report of `text`.
pub fn explain(detector: &crate::policy::intent::Detector, text: &str) -> String {
    use std::fmt::Write as _;
    let e = detector.explain(text);
    let d = &e.detection;
    let mut s = String::new();
    let _ = writeln!(s, "words:    {}", e.tokens.join(" "));
    for stem in &e.stems {
        let _ = writeln!(s, "stem:     {stem}");
    }
    for ev in &e.evidence {
        let mut flags = vec![ev.how.as_str()];
        if ev.negated {
            flags.push("negated");
        }
        if ev.quoted {
            flags.push("quoted");
        }
        let _ = writeln!(
            s,
            "matched:  {} '{}' on \"{}\" ({})",
            ev.role,
            ev.entry,
            ev.words,
            flags.join(", ")
        );
    }
    let names = |list: &[crate::policy::intent::Intent]| {
        if list.is_empty() {
            "-".to_string()
        } else {
            list.iter()
                .map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(
        s,
        "intents:  {} (primary {})",
        names(&d.intents),
        d.primary().as_str()
    );
    let _ = writeln!(s, "suspected: {}", names(&d.suspected));
    match &d.learned {
        Some(o) => {
            let mut changed = Vec::new();
            if o.named {
                changed.push("named or added its intent");
            }
            if o.tentative {
                changed.push("named it below even odds (a person answers)");
            }
            if o.raised {
                changed.push("raised a risky suspicion");
            }
            if o.withheld {
                changed.push("withheld a knowledge-base answer");
            }
            let _ = writeln!(
                s,
                "classifier: {} ({:.2}); risky intents together {:.2}; general question {:.2}; {}",
                o.intent.as_str(),
                o.probability,
                o.risk,
                o.faq,
                if changed.is_empty() {
                    "changed nothing".to_string()
                } else {
                    changed.join(", ")
                }
            );
            if !e.learned_from.is_empty() {
                let _ = writeln!(s, "learnt from: {}", e.learned_from.join("; "));
            }
            if let Some(why) = detector.arbiter_missing() {
                let _ = writeln!(s, "arbiter: not in use: {why}");
            }
            if let Some((a, p)) = o.arbiter {
                let _ = writeln!(
                    s,
                    "arbiter: {} ({p:.2}); {}",
                    a.as_str(),
                    if o.arbitrated {
                        "changed the reading"
                    } else {
                        "left the reading as it was"
                    }
                );
            }
        }
        None => {
            let _ = writeln!(s, "classifier: off");
        }
    }
    let _ = writeln!(
        s,
        "triggers: {}",
        if d.triggers.is_empty() {
            "-".into()
        } else {
            d.triggers.join(", ")
        }
    );
    if let Some(aside) = d.aside {
        let _ = writeln!(
            s,
            "aside:    a part reads {}: the account answers wait on a person",
            aside.as_str()
        );
    }
    let _ = writeln!(
        s,
        "injection: {}; beyond a general question: {}; may be answered from the KB: {}",
        d.injection,
        d.beyond_faq,
        d.may_answer_from_kb()
    );
    s
}

pub(crate) fn load_policy(config: &Path) -> anyhow::Result<Policy> {
    if config.exists() {
        Ok(Config::load(config)?.policy.build()?)
    } else if config == Path::new("config/default.toml") {
        Ok(Policy::defaults())
    } else {
        anyhow::bail!("config file {} does not exist", config.display())
    }
}

pub(crate) fn load_kb(path: Option<&Path>) -> anyhow::Result<Vec<Article>> {
    let (name, bytes) = match path {
        Some(p) => (
            p.display().to_string(),
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => ("config/demo/kb.json".into(), DEMO_KB.as_bytes().to_vec()),
    };
    crate::http::records::parse_articles(&bytes)
        .map_err(|e| anyhow::anyhow!("{name}: {}", e.message()))
}

fn run_eval(
    files: Vec<PathBuf>,
    config: &Path,
    kb: Option<&Path>,
    misses: bool,
    routes: bool,
    rules_only: bool,
) -> anyhow::Result<()> {
    let mut policy = load_policy(config)?;
    if rules_only {
        policy.detector = policy.detector.with_classifier(None);
    }
    let articles = load_kb(kb)?;
    let files = if files.is_empty() {
        vec![
            PathBuf::from("config/intent-examples.tsv"),
            PathBuf::from("tests/data/intents_heldout.tsv"),
        ]
    } else {
        files
    };
    let judge = Judge {
        detector: &policy.detector,
        tiers: &policy.tiers,
        articles: &articles,
        kb_threshold: policy.kb_threshold,
    };
    for file in &files {
        let heldout = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("heldout"));
        if (misses || routes) && heldout {
            anyhow::bail!(
                "{}: the messages of a held-out part are never printed",
                file.display()
            );
        }
        let source = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let rows = eval::parse_corpus(&source).with_context(|| file.display().to_string())?;
        let started = Instant::now();
        let routings: Vec<_> = rows.iter().map(|r| judge.judge(r.text)).collect();
        let elapsed = started.elapsed();
        let report = eval::score(&rows, &routings);
        print!("{}", report.table(&file.display().to_string()));
        println!(
            "  time per message (detection, KB match, tier table): {:.1} µs",
            elapsed.as_secs_f64() * 1e6 / rows.len().max(1) as f64
        );
        if routes {
            for (row, out) in rows.iter().zip(&routings) {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    row.text,
                    row.label.as_str(),
                    out.primary.as_str(),
                    out.risky_routed,
                    out.auto_answered,
                    out.aside.map_or("-", crate::policy::intent::Intent::as_str)
                );
            }
        }
        if misses {
            for &i in &report.misses {
                let (row, out) = (&rows[i], &routings[i]);
                println!(
                    "  miss [{} {}] {:?}: label {}, got {}{}{}",
                    row.lang,
                    row.kind,
                    row.text,
                    row.label.as_str(),
                    out.primary.as_str(),
                    if out.auto_answered {
                        ", answered R0"
                    } else {
                        ""
                    },
                    if eval::RISKY.contains(&row.label) && !out.risky_routed {
                        ", not routed to a human"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::intent::{Detector, classifier};

    #[test]
    fn explain_shows_the_arbiters_reading_or_why_there_is_none() {
        let shipped = Detector::shipped();
        let out = explain(&shipped, "kak tolong dikembalikan uangnya ya");
        assert!(out.contains("\narbiter: refund ("), "{out}");
        let examples = format!(
            "{}kak mau nanya aja\tother\tid\tplain\n",
            classifier::EMBEDDED_EXAMPLES
        );
        let other = shipped.with_examples(&examples, "more.tsv").unwrap();
        let out = explain(&other, "kak tolong dikembalikan uangnya ya");
        assert!(
            out.contains("\narbiter: not in use: the intent arbiter was trained with another"),
            "{out}"
        );
    }
}
