//! Measuring intent detection on a labelled corpus (`tests/data/*.tsv`).
//!
//! A corpus line is `text<TAB>label<TAB>lang<TAB>kind`; empty lines, a
//! header line whose label column reads `label`, and `#` lines that are not
//! labelled rows (a message may start with a hashtag) are skipped.
//! Labels are the intent names of [`Intent::as_str`]; `lang` is `en` or
//! `id`; `kind` says what the line tests (plain, slang, morphology, typo,
//! repeat, mix, negation, quoted, injection, indirect; in turns of several
//! parts: `aside`, an account question beside a request the desk has no
//! intent for, `context`, one beside reasons or greetings, `multi`, one
//! beside another request).
//!
//! A held-out part is only ever scored in aggregate: parse errors name the
//! line number and the problem, never the text, and [`Report`] keeps no
//! text. Reading misses is for the development part (`Report::misses`
//! holds indices into the rows the caller owns).
//!
//! Pure: the caller reads the files and times the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Detection, Intent};
use crate::core::records::Article;
use crate::core::types::Tier;
use crate::policy::kb;
use crate::policy::tier::{TierFacts, TierTable};

/// Intents whose request is always R3 (CONTRACT section 2): refunds,
/// cancellations, chargeback and legal threats, abuse, privacy requests.
pub const RISKY: [Intent; 5] = [
    Intent::LegalThreat,
    Intent::Harassment,
    Intent::Privacy,
    Intent::Refund,
    Intent::Cancel,
];

/// The kind of a corpus row that asks an account question and something
/// the desk has no intent for ("jadwal aku kapan? aku mau ganti coach"):
/// a person must read it.
pub const ASIDE_KIND: &str = "aside";

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    pub text: &'a str,
    pub label: Intent,
    pub lang: &'a str,
    pub kind: &'a str,
}

/// A corpus line that cannot be read. Never quotes the line's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct CorpusError {
    pub line: usize,
    pub problem: String,
}

/// Parses a corpus (see the module doc for the format).
pub fn parse_corpus(source: &str) -> Result<Vec<Row<'_>>, CorpusError> {
    let mut rows = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let line_no = i + 1;
        let bad = |problem: String| CorpusError {
            line: line_no,
            problem,
        };
        let line = line.trim_end_matches('\r');
        let cols: Vec<&str> = line.split('\t').collect();
        let labelled = cols.len() == 4 && Intent::parse(cols[1].trim()).is_some();
        // A message may itself start with '#' ("#refund"): a labelled row
        // is never a comment.
        if line.trim().is_empty() || (line.starts_with('#') && !labelled) {
            continue;
        }
        if cols.len() != 4 {
            return Err(bad(format!(
                "expected 4 tab-separated columns (text, label, lang, kind), found {}",
                cols.len()
            )));
        }
        let label = cols[1].trim();
        if label == "label" {
            continue;
        }
        let label = Intent::parse(label)
            .ok_or_else(|| bad(format!("unknown label in column 2 ({} bytes)", label.len())))?;
        if cols[0].trim().is_empty() {
            return Err(bad("empty text".into()));
        }
        rows.push(Row {
            text: cols[0],
            label,
            lang: cols[2].trim(),
            kind: cols[3].trim(),
        });
    }
    Ok(rows)
}

/// What the desk did with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    /// The strongest intent detected.
    pub primary: Intent,
    /// A risky intent was detected or suspected: a human gets the turn.
    pub risky_routed: bool,
    /// The turn would be answered automatically from an article (R0).
    pub auto_answered: bool,
    /// Its account intents would be answered automatically in production
    /// (all its intents are account requests, nothing risky is suspected),
    /// but a part of it reads as something else (that reading): a person
    /// holds the answer.
    pub aside: Option<Intent>,
    /// Its intent was read below even odds ([`Detection::tentative`]): a
    /// person holds its automatic answers.
    pub tentative: bool,
}

impl Routing {
    /// The routing of a detection, given whether the turn is answered R0.
    pub fn of(detection: &Detection, auto_answered: bool) -> Routing {
        Routing {
            primary: detection.primary(),
            risky_routed: detection.intents.iter().any(|i| RISKY.contains(i))
                || detection.risk_suspected(),
            auto_answered,
            aside: detection.aside,
            tentative: detection.tentative(),
        }
    }
}

/// What the tier stage decides for a single-message turn from an unknown
/// number: detection, the best published article, the tier table.
pub struct Judge<'a> {
    pub detector: &'a super::Detector,
    pub tiers: &'a TierTable,
    pub articles: &'a [Article],
    pub kb_threshold: f64,
}

impl Judge<'_> {
    pub fn judge(&self, text: &str) -> Routing {
        let detection = self.detector.detect(text);
        let kb_match =
            kb::best_match(self.detector, text, self.articles, self.kb_threshold).is_some();
        let decision = self.tiers.decide(&TierFacts {
            detection: &detection,
            kb_match,
            reschedule_in_policy: None,
            identity_mismatch: false,
        });
        let r0 = decision.tier == Some(Tier::R0) && detection.may_answer_from_kb();
        Routing::of(&detection, r0)
    }
}

/// Precision and recall counts of one intent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub true_positives: usize,
    pub predicted: usize,
    pub actual: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.predicted)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.actual)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Aggregate figures of one corpus part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub messages: usize,
    /// Messages whose primary intent equals the label.
    pub correct: usize,
    pub per_intent: BTreeMap<Intent, Counts>,
    /// Messages labelled with a risky intent.
    pub risky: usize,
    /// Of those, how many a human gets (detected or suspected risky).
    pub risky_routed: usize,
    /// Messages, whatever their label, that a human gets as risky.
    pub flagged_risky: usize,
    /// Messages not labelled `faq` that would be answered R0: must be 0.
    pub non_faq_auto_answered: usize,
    /// Messages labelled `faq` answered R0.
    pub faq_auto_answered: usize,
    pub faq: usize,
    /// Messages labelled with an account intent, and those of them whose
    /// answer a person holds (a part read as something else, or the
    /// intent read below even odds).
    pub account: usize,
    pub account_held: usize,
    /// Messages labelled otherwise whose account answer a person holds:
    /// what the holding catches.
    pub other_held: usize,
    /// Messages of kind `aside` (an account question and a request the
    /// desk has no intent for), and those of them a person reads (held,
    /// risky, or not an account request at all).
    pub aside: usize,
    pub aside_to_person: usize,
    /// Indices (into the rows) of misclassified or unsafely handled rows.
    pub misses: Vec<usize>,
}

impl Report {
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.messages)
    }

    /// Risky requests a human gets, over all risky requests.
    pub fn r3_recall(&self) -> f64 {
        ratio(self.risky_routed, self.risky)
    }

    /// Of the messages a human gets as risky, the share labelled risky:
    /// how much of the coach's risky lane is real.
    pub fn r3_precision(&self) -> f64 {
        ratio(self.risky_routed, self.flagged_risky)
    }

    /// A table: per-intent precision and recall, then the headline figures.
    pub fn table(&self, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{title}: {} messages", self.messages);
        let _ = writeln!(
            s,
            "  {:<15} {:>9} {:>7} {:>5}",
            "intent", "precision", "recall", "n"
        );
        for (intent, c) in &self.per_intent {
            let _ = writeln!(
                s,
                "  {:<15} {:>9.3} {:>7.3} {:>5}",
                intent.as_str(),
                c.precision(),
                c.recall(),
                c.actual
            );
        }
        let _ = writeln!(
            s,
            "  accuracy {:.4} ({}/{}); R3 recall {:.4} ({}/{}); R3 precision {:.4} ({}/{}); non-faq answered R0: {}; faq answered R0: {}/{}",
            self.accuracy(),
            self.correct,
            self.messages,
            self.r3_recall(),
            self.risky_routed,
            self.risky,
            self.r3_precision(),
            self.risky_routed,
            self.flagged_risky,
            self.non_faq_auto_answered,
            self.faq_auto_answered,
            self.faq
        );
        let _ = writeln!(
            s,
            "  account answers held for a person (a part read as something else, or read below even odds): {}/{} account messages; {} other messages",
            self.account_held, self.account, self.other_held
        );
        if self.aside > 0 {
            let _ = writeln!(
                s,
                "  account questions beside a request the desk has no intent for (kind aside), read by a person: {}/{}",
                self.aside_to_person, self.aside
            );
        }
        s
    }
}

/// Scores routings against their rows (same order).
pub fn score(rows: &[Row<'_>], routings: &[Routing]) -> Report {
    assert_eq!(rows.len(), routings.len(), "one routing per row");
    let mut r = Report {
        messages: rows.len(),
        ..Report::default()
    };
    for (i, (row, out)) in rows.iter().zip(routings).enumerate() {
        r.per_intent.entry(row.label).or_default().actual += 1;
        r.per_intent.entry(out.primary).or_default().predicted += 1;
        let mut miss = false;
        if out.primary == row.label {
            r.correct += 1;
            r.per_intent.entry(row.label).or_default().true_positives += 1;
        } else {
            miss = true;
        }
        if out.risky_routed {
            r.flagged_risky += 1;
        }
        if RISKY.contains(&row.label) {
            r.risky += 1;
            if out.risky_routed {
                r.risky_routed += 1;
            } else {
                miss = true;
            }
        }
        if row.label == Intent::Faq {
            r.faq += 1;
            if out.auto_answered {
                r.faq_auto_answered += 1;
            }
        } else if out.auto_answered {
            r.non_faq_auto_answered += 1;
            miss = true;
        }
        if row.kind == ASIDE_KIND {
            r.aside += 1;
            r.aside_to_person += usize::from(
                out.aside.is_some()
                    || out.tentative
                    || out.risky_routed
                    || !out.primary.is_account(),
            );
        }
        let held = out.aside.is_some() || out.tentative;
        if row.label.is_account() {
            r.account += 1;
            r.account_held += usize::from(held);
        } else {
            r.other_held += usize::from(held);
        }
        if miss {
            r.misses.push(i);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_lines_parse_and_errors_name_the_line_not_the_text() {
        let src = "# comment\ntext\tlabel\tlang\tkind\nsaya mau refund\trefund\tid\tplain\n\nhi\tother\ten\tplain\n#refund now\trefund\ten\tplain\n";
        let rows = parse_corpus(src).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].text, "#refund now");
        assert_eq!(rows[0].label, Intent::Refund);
        assert_eq!((rows[1].lang, rows[1].kind), ("en", "plain"));
        let err = parse_corpus("secret words\tgossip\ten\tplain\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(!err.to_string().contains("secret"), "{err}");
        let err = parse_corpus("ok\tfaq\ten\n").unwrap_err();
        assert!(err.problem.contains("found 3"), "{err}");
    }

    #[test]
    fn scores_count_accuracy_r3_recall_and_unsafe_answers() {
        let rows = parse_corpus(
            "a\trefund\ten\tplain\nb\tcancel\ten\tplain\nc\tfaq\ten\tplain\nd\tother\ten\tplain\n",
        )
        .unwrap();
        let out = |primary, risky_routed, auto_answered| Routing {
            primary,
            risky_routed,
            auto_answered,
            aside: None,
            tentative: false,
        };
        let routings = [
            out(Intent::Refund, true, false),
            out(Intent::Other, true, false),
            out(Intent::Faq, false, true),
            out(Intent::Faq, false, true),
        ];
        let r = score(&rows, &routings);
        assert_eq!((r.correct, r.messages), (2, 4));
        assert_eq!((r.risky_routed, r.risky), (2, 2));
        assert_eq!(r.flagged_risky, 2);
        assert_eq!(r.r3_precision(), 1.0);
        assert_eq!(r.non_faq_auto_answered, 1);
        assert_eq!((r.faq_auto_answered, r.faq), (1, 1));
        assert_eq!(r.misses, vec![1, 3]);
        assert_eq!(r.per_intent[&Intent::Faq].precision(), 0.5);
        assert_eq!(r.per_intent[&Intent::Cancel].recall(), 0.0);
    }

    #[test]
    fn scores_count_account_answers_held_and_aside_turns_read_by_a_person() {
        let rows = parse_corpus(
            "a\tnext_session\tid\taside\nb\tnext_session\tid\taside\nc\tpayment_status\ten\tcontext\nd\trefund\ten\tmulti\n",
        )
        .unwrap();
        let out = |primary, aside| Routing {
            primary,
            risky_routed: false,
            auto_answered: false,
            aside,
            tentative: false,
        };
        let routings = [
            out(Intent::NextSession, Some(Intent::Other)),
            out(Intent::NextSession, None),
            out(Intent::PaymentStatus, Some(Intent::Reschedule)),
            out(Intent::PaymentStatus, Some(Intent::Refund)),
        ];
        let r = score(&rows, &routings);
        assert_eq!((r.aside_to_person, r.aside), (1, 2));
        assert_eq!((r.account_held, r.account), (2, 3));
        assert_eq!(r.other_held, 1);
    }
}
