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
const SECOND_READING: &str = include_str!("data/intents_heldout_second_reading.tsv");
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
/// target (0.995; one message of 343 is 0.0029, and R3 recall has moved
/// by one message with additions of development data), accuracy at the
/// figure of the last changes less a few messages (0.9707, 696 of 717;
/// it has moved by two messages either way with one change; 0.965 is 692;
/// docs/intent-eval.md).
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
        report.accuracy() >= 0.965,
        "accuracy {:.4}",
        report.accuracy()
    );
}

/// The held-out part's labels after their blind second reading
/// (tests/data/intents_heldout_second_reading.tsv): a label is corrected
/// only where both annotators chose the same other label and both were
/// sure, and every other label the second reading lists stays as it was.
#[test]
fn held_out_labels_follow_their_second_reading() {
    let rows = eval::parse_corpus(HELDOUT).expect("the corpus parses");
    let mut corrected = 0;
    for line in SECOND_READING.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 7, "second reading: {line:?}");
        let at: usize = f[0].parse().expect("a line number");
        let (before, first, first_sure, second, second_sure, outcome) =
            (f[1], f[2], f[3], f[4], f[5], f[6]);
        assert_eq!(first, second, "line {at}: both annotators agree");
        assert_ne!(first, before, "line {at}: against the label before");
        let label = rows[at - 1].label.as_str();
        match outcome {
            "corrected" => {
                assert_eq!((first_sure, second_sure), ("yes", "yes"), "line {at}");
                assert_eq!(label, first, "line {at} carries the corrected label");
                corrected += 1;
            }
            "kept" => {
                assert!(first_sure == "no" || second_sure == "no", "line {at}");
                assert_eq!(label, before, "line {at} keeps its label");
            }
            other => panic!("line {at}: unknown outcome {other:?}"),
        }
    }
    assert_eq!(corrected, 9, "labels corrected");
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
/// primary intent of at least 97% (reached with no margin: 696 of 717,
/// the least that meets it; docs/intent-eval.md).
#[test]
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
