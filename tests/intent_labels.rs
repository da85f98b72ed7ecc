//! Intent detection measured on labelled customer messages, English and
//! Bahasa Indonesia: the development part (tests/data/intents_dev.tsv,
//! whose misses are printed) and the held-out part
//! (tests/data/intents_heldout.tsv, scored in aggregate only).

use caseflow::policy::Policy;
use caseflow::policy::intent::eval::{self, Judge, Report};

const DEV: &str = include_str!("data/intents_dev.tsv");
const HELDOUT: &str = include_str!("data/intents_heldout.tsv");
const DEMO_KB: &str = include_str!("../config/demo/kb.json");

/// Scores a corpus the way the tier stage treats a single-message turn
/// from an unknown number, on the demo knowledge base.
fn measure(source: &str) -> (Vec<eval::Row<'_>>, Vec<eval::Outcome>, Report) {
    let policy = Policy::defaults();
    let articles = caseflow::http::records::parse_articles(DEMO_KB.as_bytes()).unwrap();
    let judge = Judge {
        detector: &policy.detector,
        tiers: &policy.tiers,
        articles: &articles,
        kb_threshold: policy.kb_threshold,
    };
    let rows = eval::parse_corpus(source).expect("the corpus parses");
    let outcomes: Vec<_> = rows.iter().map(|r| judge.judge(r.text)).collect();
    let report = eval::score(&rows, &outcomes);
    (rows, outcomes, report)
}

#[test]
fn development_part_is_measured_and_its_misses_shown() {
    let (rows, outcomes, report) = measure(DEV);
    assert!(rows.len() >= 700, "{} development messages", rows.len());
    print!("{}", report.table("development part"));
    for &i in &report.misses {
        println!(
            "miss [{} {}] {:?}: label {}, got {}{}",
            rows[i].lang,
            rows[i].kind,
            rows[i].text,
            rows[i].label.as_str(),
            outcomes[i].primary.as_str(),
            if outcomes[i].auto_answered {
                ", answered R0"
            } else {
                ""
            }
        );
    }
}

#[test]
fn held_out_part_is_scored_in_aggregate_only() {
    let (rows, _, report) = measure(HELDOUT);
    assert_eq!(rows.len(), 717, "held-out messages");
    print!("{}", report.table("held-out part"));
}
