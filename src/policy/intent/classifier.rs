//! The statistical second opinion on a turn's intent: a multinomial
//! logistic regression (crate `caseflow-textcat`) over what the message's
//! words look like, trained on labelled examples when the desk starts.
//!
//! Why: the vocabulary's rules only know the words and phrases someone
//! wrote down; every new batch of customer messages scored 10–30 points
//! below the batch they were tuned on (docs/intent-eval.md). Character
//! n-grams generalise over affixes, slang spellings and typos without a
//! rule for each, and the words around a request count as evidence too.
//!
//! Features of a message (its words as matching reads them: cleaned,
//! slang resolved, repeated letters squeezed):
//! - each word, and its Nazief–Adriani / ECS stem when different;
//! - each pair of neighbouring words;
//! - the character n-grams of 2 to 5 characters of each word written as
//!   `<word>` (so a prefix, a suffix or a whole short word is a feature of
//!   its own).
//!
//! Training examples are data the business extends: the development part
//! of the labelled corpus, `config/intent-examples.tsv`, built in (or the
//! file `[policy] intent_examples` names). Training is deterministic (the
//! same examples give the same model) and takes milliseconds.
//!
//! How its view is combined with the rules is [`super::combine`]: it may
//! raise risk or name an intent the rules did not find, never take a risky
//! intent away, and never make a turn answerable from an article on its
//! own.

use std::sync::Arc;

use caseflow_textcat::{self as textcat, Features, Model, Training};

use super::Intent;
use super::eval::{self, CorpusError};
use super::matching::{self, Token};
use super::morphology;
use super::vocabulary::Vocabulary;

/// One class per [`Intent`], in [`Intent::ALL`] order.
pub const CLASSES: usize = Intent::ALL.len();

/// Class probabilities, in [`Intent::ALL`] order.
pub type Probabilities = [f64; CLASSES];

/// The examples built into the binary (`config/intent-examples.tsv`).
pub const EMBEDDED_EXAMPLES: &str = include_str!("../../../config/intent-examples.tsv");

/// Shortest and longest character n-gram.
const CHAR_MIN: usize = 2;
const CHAR_MAX: usize = 5;

const WORD: u8 = b'w';
const STEM: u8 = b's';
const PAIR: u8 = b'p';

/// How the model is trained: ten passes, a light L2 penalty (chosen by
/// 10-fold cross-validation on the development part, 5,514 messages:
/// 1e-3, 3e-4, 1e-4 and 3e-5 tried, each with its thresholds swept;
/// docs/intent-eval.md).
const TRAINING: Training = Training {
    epochs: 10,
    rate: 0.5,
    l2: 1e-4,
};

/// Why the examples cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExamplesError {
    #[error("{file}: {source}")]
    Corpus { file: String, source: CorpusError },
    #[error("{file}: {problem}")]
    Unusable { file: String, problem: String },
}

/// A message's words as the classifier reads them.
fn word(t: &Token) -> &str {
    t.alt.as_deref().unwrap_or(&t.word)
}

/// Most splits of a turn whose parts are read apart ([`part_features`]).
const MAX_SPLITS: usize = 12;

/// The features of the parts of a turn of several clauses: for each of
/// its first [`MAX_SPLITS`] clause boundaries, the words before it and
/// the words after it ("jadwal aku kapan? | aku ga mau sama coach Dewi
/// lagi, dia suka nyentuh2"). A risky request beside an account question
/// is read where the account question's words do not outweigh it. Empty
/// for a turn of one clause.
pub fn part_features(v: &Vocabulary, tokens: &[Token]) -> Vec<Features> {
    let bounds: Vec<usize> = (1..tokens.len())
        .filter(|&i| tokens[i].clause != tokens[i - 1].clause)
        .take(MAX_SPLITS)
        .collect();
    // A part of fewer than two content words is not read alone ("my
    // invoice is INV-2026-001": an identity detail, not a request).
    let readable = |part: &[Token]| {
        part.iter()
            .filter(|t| matching::is_content(v, &t.word))
            .count()
            >= 2
    };
    let mut out = Vec::with_capacity(bounds.len() * 2);
    for b in bounds {
        for part in [&tokens[..b], &tokens[b..]] {
            if readable(part) {
                out.push(features(part));
            }
        }
    }
    out
}

/// The features of a message, from its tokens ([`matching::tokens`]).
pub fn features(tokens: &[Token]) -> Features {
    let mut out: Vec<u64> = Vec::with_capacity(tokens.len() * 24);
    for (i, t) in tokens.iter().enumerate() {
        let w = word(t);
        if matching::is_number(w) {
            // Numbers (times, amounts, invoice numbers) name no request.
            continue;
        }
        out.push(textcat::feature(WORD, w));
        if let Some(s) = stem(w) {
            out.push(textcat::feature(STEM, &s));
        }
        if let Some(next) = tokens.get(i + 1) {
            out.push(textcat::feature_pair(PAIR, w, word(next)));
        }
        textcat::push_char_ngrams(w, CHAR_MIN, CHAR_MAX, &mut out);
    }
    Features::from_hashes(out)
}

/// The formal stem of a word, when it differs from the word.
fn stem(w: &str) -> Option<String> {
    if w.len() < 4 || !w.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let s = morphology::formal_stem(w);
    (s != w).then_some(s)
}

/// Every feature of a message with what it stands for ("word batalin",
/// "chars <bat"), for `caseflow intents explain`.
fn named_features(tokens: &[Token]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let w = word(t);
        out.push((textcat::feature(WORD, w), format!("word {w}")));
        if let Some(s) = stem(w) {
            out.push((textcat::feature(STEM, &s), format!("stem {s}")));
        }
        if let Some(next) = tokens.get(i + 1) {
            let n = word(next);
            out.push((textcat::feature_pair(PAIR, w, n), format!("words {w} {n}")));
        }
        textcat::char_ngrams(w, CHAR_MIN, CHAR_MAX, |g| {
            out.push((
                textcat::feature(textcat::CHAR_NAMESPACE, g),
                format!("chars {g}"),
            ));
        });
    }
    out.sort();
    out.dedup_by_key(|x| x.0);
    out
}

fn class(i: Intent) -> usize {
    Intent::ALL
        .iter()
        .position(|x| *x == i)
        .expect("every intent is a class")
}

/// A trained classifier. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Arc<Model>,
    examples: usize,
}

impl Classifier {
    /// Trains on labelled examples (the corpus format of
    /// [`eval::parse_corpus`]); `file` names them in errors. Every intent
    /// needs at least one example.
    pub fn train(v: &Vocabulary, source: &str, file: &str) -> Result<Classifier, ExamplesError> {
        let rows = eval::parse_corpus(source).map_err(|source| ExamplesError::Corpus {
            file: file.to_string(),
            source,
        })?;
        if let Some(missing) = Intent::ALL
            .iter()
            .find(|i| !rows.iter().any(|r| r.label == **i))
        {
            return Err(ExamplesError::Unusable {
                file: file.to_string(),
                problem: format!("no example labelled {}", missing.as_str()),
            });
        }
        let samples: Vec<(Features, Intent)> = rows
            .iter()
            .map(|r| (features(&matching::tokens(v, r.text)), r.label))
            .collect();
        Classifier::from_features(&samples).map_err(|e| ExamplesError::Unusable {
            file: file.to_string(),
            problem: e.to_string(),
        })
    }

    /// Trains on examples already turned into features.
    pub fn from_features(
        samples: &[(Features, Intent)],
    ) -> Result<Classifier, textcat::TrainError> {
        let refs: Vec<(&Features, usize)> = samples.iter().map(|(f, i)| (f, class(*i))).collect();
        Ok(Classifier {
            model: Arc::new(Model::train(&refs, CLASSES, &TRAINING)?),
            examples: samples.len(),
        })
    }

    /// How many examples it learnt from.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// The probability of each intent for a message's features.
    pub fn probabilities(&self, features: &Features) -> Probabilities {
        let p = self.model.probabilities(features);
        let mut out = [0.0; CLASSES];
        out.copy_from_slice(&p);
        out
    }

    /// The features of `tokens` that speak most for `intent` against the
    /// average of the other intents, strongest first, at most `n`.
    pub fn reasons(&self, tokens: &[Token], intent: Intent, n: usize) -> Vec<String> {
        let c = class(intent);
        let mut scored: Vec<(f32, String)> = named_features(tokens)
            .into_iter()
            .filter_map(|(h, name)| {
                let own = self.model.weight(h, c)?;
                let others: f32 = (0..CLASSES)
                    .filter(|&k| k != c)
                    .filter_map(|k| self.model.weight(h, k))
                    .sum::<f32>()
                    / (CLASSES - 1) as f32;
                Some((own - others, name))
            })
            .filter(|(s, _)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored.into_iter().take(n).map(|(_, name)| name).collect()
    }
}

/// The most probable intent and its probability.
pub fn best(p: &Probabilities) -> (Intent, f64) {
    let mut top = 0;
    for c in 1..CLASSES {
        if p[c] > p[top] {
            top = c;
        }
    }
    (Intent::ALL[top], p[top])
}

/// The probability of `intent`.
pub fn probability(p: &Probabilities, intent: Intent) -> f64 {
    p[class(intent)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::intent::vocabulary::EMBEDDED;

    fn vocabulary() -> Vocabulary {
        Vocabulary::parse(EMBEDDED, "intents.toml").unwrap()
    }

    #[test]
    fn features_cover_words_stems_pairs_and_bordered_n_grams() {
        let v = vocabulary();
        let names: Vec<String> = named_features(&matching::tokens(&v, "Dibatalin aja"))
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        for want in [
            "word dibatalin",
            "words dibatalin saja",
            "chars <di",
            "chars lin>",
            "chars <saja",
        ] {
            assert!(names.iter().any(|n| n == want), "{want}: {names:?}");
        }
        // Slang is resolved before features are taken ("aja" -> "saja").
        assert!(!names.iter().any(|n| n == "word aja"), "{names:?}");
        let stemmed = named_features(&matching::tokens(&v, "pembatalan"));
        assert!(
            stemmed.iter().any(|(_, n)| n == "stem batal"),
            "{stemmed:?}"
        );
        assert_eq!(
            features(&matching::tokens(&v, "Dibatalin aja")).len(),
            named_features(&matching::tokens(&v, "Dibatalin aja")).len()
        );
    }

    #[test]
    fn examples_must_cover_every_intent_and_errors_name_the_file() {
        let v = vocabulary();
        let err =
            Classifier::train(&v, "saya mau refund\trefund\tid\tplain\n", "ex.tsv").unwrap_err();
        assert!(
            err.to_string().starts_with("ex.tsv: no example labelled"),
            "{err}"
        );
        let err =
            Classifier::train(&v, "saya mau refund\trefnd\tid\tplain\n", "ex.tsv").unwrap_err();
        assert!(err.to_string().starts_with("ex.tsv: line 1"), "{err}");
    }

    #[test]
    fn the_shipped_examples_train_a_model_that_reads_new_forms() {
        let v = vocabulary();
        let c = Classifier::train(&v, EMBEDDED_EXAMPLES, "built in").unwrap();
        assert!(c.examples() >= 1000, "{}", c.examples());
        for (text, want) in [
            (
                "tolong batalkan langganan anak saya mulai bulan depan",
                Intent::Cancel,
            ),
            ("i would like my money returned to my card", Intent::Refund),
            ("jam berapa les saya besok kak", Intent::NextSession),
        ] {
            let p = c.probabilities(&features(&matching::tokens(&v, text)));
            assert_eq!(best(&p).0, want, "{text}: {p:?}");
        }
        let tokens = matching::tokens(&v, "saya mau refund");
        let reasons = c.reasons(&tokens, Intent::Refund, 3);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("ref") || r.contains("fund")),
            "{reasons:?}"
        );
    }
}
