//! Precision and recall of intent detection on a labelled set of customer
//! messages (tests/data/intents.tsv), English and Bahasa Indonesia.

use std::collections::BTreeMap;

use caseflow::policy::intent::{Intent, detect};

#[test]
fn labelled_messages_are_classified_with_high_precision_and_recall() {
    let data = include_str!("data/intents.tsv");
    let mut rows = Vec::new();
    for (n, line) in data.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (text, label) = line
            .rsplit_once('\t')
            .unwrap_or_else(|| panic!("line {}", n + 1));
        let label =
            Intent::parse(label.trim()).unwrap_or_else(|| panic!("label on line {}", n + 1));
        rows.push((text, label));
    }
    assert!(rows.len() >= 150, "{} labelled messages", rows.len());
    // (true positives, predicted, actual) per intent
    let mut counts: BTreeMap<Intent, (u32, u32, u32)> = BTreeMap::new();
    let mut misses = Vec::new();
    for (text, label) in &rows {
        let got = detect(text).primary();
        counts.entry(*label).or_default().2 += 1;
        counts.entry(got).or_default().1 += 1;
        if got == *label {
            counts.entry(got).or_default().0 += 1;
        } else {
            misses.push(format!(
                "{text:?}: expected {}, got {}",
                label.as_str(),
                got.as_str()
            ));
        }
    }
    println!(
        "{:<16} {:>9} {:>7} {:>6}",
        "intent", "precision", "recall", "n"
    );
    let mut worst = 1.0f64;
    for (intent, (tp, predicted, actual)) in &counts {
        let precision = if *predicted == 0 {
            1.0
        } else {
            *tp as f64 / *predicted as f64
        };
        let recall = if *actual == 0 {
            1.0
        } else {
            *tp as f64 / *actual as f64
        };
        worst = worst.min(precision).min(recall);
        println!(
            "{:<16} {:>9.2} {:>7.2} {:>6}",
            intent.as_str(),
            precision,
            recall,
            actual
        );
    }
    let accuracy = 1.0 - misses.len() as f64 / rows.len() as f64;
    println!("accuracy {accuracy:.3} over {} messages", rows.len());
    for m in &misses {
        println!("miss: {m}");
    }
    assert!(
        worst >= 0.85,
        "an intent fell below 0.85 precision or recall"
    );
    assert!(accuracy >= 0.93, "accuracy {accuracy:.3}");
}

#[test]
fn injection_attempts_in_the_set_are_all_tagged() {
    let data = include_str!("data/intents.tsv");
    let attempts = data
        .lines()
        .filter(|l| {
            let t = l.to_lowercase();
            t.contains("ignore previous")
                || t.contains("i am the admin")
                || t.contains("set tier")
                || t.contains("saya admin")
                || t.contains("developer mode")
                || t.contains("i am the coach")
        })
        .collect::<Vec<_>>();
    assert!(attempts.len() >= 6);
    for line in attempts {
        let text = line.rsplit_once('\t').unwrap().0;
        assert!(detect(text).injection, "not tagged: {text}");
    }
}
