//! Intent detection measured on labelled customer messages, English and
//! Bahasa Indonesia: the development part (config/intent-examples.tsv,
//! whose misses are printed) and the held-out part
//! (tests/data/intents_heldout.tsv, written from the contract alone and
//! scored in aggregate only: its lines and misses are never printed), and
//! a held-out check set of turns of several parts
//! (tests/data/intents_heldout_multi.tsv, likewise).
//!
//! Each message is one turn from an unknown number, judged the way the tier
//! stage judges it: detection, the best published article of the demo
//! knowledge base (config/demo/kb.json), the shipped tier table. The
//! figures over time are in docs/intent-eval.md.

use caseflow::policy::Policy;
use caseflow::policy::intent::eval::{self, Judge, Report};

const DEV: &str = include_str!("../config/intent-examples.tsv");
const HELDOUT: &str = include_str!("data/intents_heldout.tsv");
const HELDOUT_MULTI: &str = include_str!("data/intents_heldout_multi.tsv");
const DEMO_KB: &str = include_str!("../config/demo/kb.json");

fn measure(source: &str) -> (Vec<eval::Row<'_>>, Vec<eval::Routing>, Report) {
    let policy = Policy::defaults();
    let articles = caseflow::http::records::parse_articles(DEMO_KB.as_bytes()).unwrap();
    let judge = Judge {
        detector: &policy.detector,
        tiers: &policy.tiers,
        articles: &articles,
        kb_threshold: policy.kb_threshold,
    };
    let rows = eval::parse_corpus(source).expect("the corpus parses");
    let routings: Vec<_> = rows.iter().map(|r| judge.judge(r.text)).collect();
    let report = eval::score(&rows, &routings);
    (rows, routings, report)
}

#[test]
fn development_part_holds_its_figures() {
    let (rows, routings, report) = measure(DEV);
    assert!(rows.len() >= 1000, "{} development messages", rows.len());
    print!("{}", report.table("development part"));
    for &i in &report.misses {
        println!(
            "miss [{} {}] {:?}: label {}, got {}{}",
            rows[i].lang,
            rows[i].kind,
            rows[i].text,
            rows[i].label.as_str(),
            routings[i].primary.as_str(),
            if routings[i].auto_answered {
                ", answered R0"
            } else {
                ""
            }
        );
    }
    assert_eq!(report.non_faq_auto_answered, 0, "non-faq answered R0");
    assert!(
        report.r3_recall() >= 0.99,
        "R3 recall {:.4}",
        report.r3_recall()
    );
    assert!(
        report.accuracy() >= 0.97,
        "accuracy {:.4}",
        report.accuracy()
    );
    // The published articles do answer general questions.
    assert!(
        report.faq_auto_answered >= 15,
        "{}",
        report.faq_auto_answered
    );
}

/// What the held-out part must never fall below again: R3 recall at its
/// target (0.995; one message of 344 is 0.0029, and R3 recall has moved
/// between 343 and 344 with each addition of development data), accuracy
/// at the figure of the last changes (docs/intent-eval.md).
#[test]
fn held_out_part_does_not_regress() {
    let (rows, _, report) = measure(HELDOUT);
    assert_eq!(rows.len(), 717, "held-out messages");
    print!("{}", report.table("held-out part"));
    assert_eq!(report.non_faq_auto_answered, 0, "non-faq answered R0");
    assert!(
        report.r3_recall() >= 0.995,
        "R3 recall {:.4}",
        report.r3_recall()
    );
    assert!(
        report.accuracy() >= 0.94,
        "accuracy {:.4}",
        report.accuracy()
    );
}

/// Turns of several parts never tuned on: an account question beside a
/// request the desk has no intent for (kind `aside`: a change of coach, a
/// complaint, a package moved to a sibling), beside reasons or greetings,
/// or beside a risky request. Every risky request reaches a human, none
/// is answered from an article, and at least 70% of the `aside` turns are
/// read by a person: 47 of 112 were before the `[aside]` entries, 84 when
/// they were written, 80 after the next addition of development data (the
/// classifier's reading of the parts moves with its data;
/// docs/intent-eval.md).
#[test]
fn held_out_turns_of_several_parts_reach_a_person() {
    let (rows, _, report) = measure(HELDOUT_MULTI);
    assert_eq!(rows.len(), 320, "held-out messages");
    print!("{}", report.table("held-out turns of several parts"));
    assert_eq!(report.non_faq_auto_answered, 0, "non-faq answered R0");
    assert!(
        report.r3_recall() >= 0.995,
        "R3 recall {:.4}",
        report.r3_recall()
    );
    assert_eq!(report.aside, 112, "aside turns");
    assert!(
        report.aside_to_person >= 78,
        "aside turns read by a person: {}/{}",
        report.aside_to_person,
        report.aside
    );
}

/// The targets of issue 9 on the held-out part: R3 recall of at least
/// 99.5% (a suspected risky intent counts: a human gets the turn), no
/// message that is not a general question answered R0, accuracy of the
/// primary intent of at least 97%. Not reached yet (see
/// docs/intent-eval.md); run with `cargo test --test intent_labels --
/// --ignored`.
#[test]
#[ignore = "held-out targets not reached yet: see docs/intent-eval.md"]
fn held_out_part_meets_the_targets() {
    let (_, _, report) = measure(HELDOUT);
    print!("{}", report.table("held-out part"));
    assert_eq!(report.non_faq_auto_answered, 0, "non-faq answered R0");
    assert!(
        report.r3_recall() >= 0.995,
        "R3 recall {:.4}",
        report.r3_recall()
    );
    assert!(
        report.accuracy() >= 0.97,
        "accuracy {:.4}",
        report.accuracy()
    );
}

#[test]
fn injection_attempts_in_the_development_part_are_all_tagged() {
    let policy = Policy::defaults();
    let rows = eval::parse_corpus(DEV).unwrap();
    let attempts: Vec<_> = rows.iter().filter(|r| r.kind == "injection").collect();
    assert!(attempts.len() >= 30, "{}", attempts.len());
    let untagged: Vec<&str> = attempts
        .iter()
        .filter(|r| !policy.detector.detect(r.text).injection)
        .map(|r| r.text)
        .collect();
    assert!(untagged.is_empty(), "not tagged: {untagged:#?}");
}
