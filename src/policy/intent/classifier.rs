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
//! - each word, and its Nazief–Adriani / ECS stem when different (unless
//!   negated, below);
//! - each pair of neighbouring words;
//! - the character n-grams of 2 to 5 characters of each word written as
//!   `<word>` (so a prefix, a suffix or a whole short word is a feature of
//!   its own);
//! - each of the three words after a negation word in its clause is read
//!   negated instead ("ga mau lanjut les": "lanjut" negated), the scope of
//!   Das & Chen (2001) and Pang, Lee & Vaithyanathan (2002): its word, stem
//!   and character n-grams are negated features, and it gives none of the
//!   plain ones, so "ga usah dibatalin" is no evidence of a cancellation.
//!   Its pair with the next word stays (the pair "ga usah" is itself a
//!   sign of a negated request).
//!
//! Training examples are data the business extends: the development part
//! of the labelled corpus, `config/intent-examples.tsv`, built in (or the
//! file `[policy] intent_examples` names). Training is deterministic (the
//! same examples give the same model) and takes milliseconds.
//!
//! How its view is combined with the rules is [`super::combine`]: it may
//! raise risk or name an intent the rules did not find, never take a risky
//! intent away, and never make a turn answerable from an article on its
//! own. Which of the two to believe on a turn's primary intent is then
//! the [`super::arbiter`]'s call, within the same safety.

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
const NEGATED: u8 = b'n';
const NEGATED_CHARS: u8 = b'm';

/// How many words after a negation word (in its clause) are read as
/// negated ("tidak mau lanjut *les*": "not-lanjut").
const NEGATION_SCOPE: usize = 3;

/// How the model is trained: ten passes, a light L2 penalty (chosen by
/// 10-fold cross-validation on the development part, 5,514 messages:
/// 1e-3, 3e-4, 1e-4 and 3e-5 tried, each with its thresholds swept;
/// confirmed on 17,156 messages against 20 passes and L2 1e-5 to 2e-4;
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
                out.push(features(v, part));
            }
        }
    }
    out
}

/// The features of a message, from its tokens ([`matching::tokens`]).
pub fn features(v: &Vocabulary, tokens: &[Token]) -> Features {
    let mut out: Vec<u64> = Vec::with_capacity(tokens.len() * 24);
    walk(v, tokens, |h, _| out.push(h));
    Features::from_hashes(out)
}

/// What a feature stands for, for `caseflow intents explain`.
enum Named<'a> {
    Word(&'a str),
    Stem(&'a str),
    Negated(&'a str),
    Pair(&'a str, &'a str),
    Chars(&'a str),
    NegatedChars(&'a str),
}

impl std::fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Named::Word(w) => write!(f, "word {w}"),
            Named::Stem(s) => write!(f, "stem {s}"),
            Named::Negated(w) => write!(f, "negated {w}"),
            Named::Pair(a, b) => write!(f, "words {a} {b}"),
            Named::Chars(g) => write!(f, "chars {g}"),
            Named::NegatedChars(g) => write!(f, "negated chars {g}"),
        }
    }
}

/// Calls `f` with every feature of a message and what it stands for.
fn walk(v: &Vocabulary, tokens: &[Token], mut f: impl FnMut(u64, Named<'_>)) {
    // Words left in the scope of the clause's last negation word.
    let mut scope = 0;
    for (i, t) in tokens.iter().enumerate() {
        let w = word(t);
        if i > 0 && t.clause != tokens[i - 1].clause {
            scope = 0;
        }
        let negated = scope > 0;
        if v.negation.contains(&t.word) {
            scope = NEGATION_SCOPE;
        } else {
            scope = scope.saturating_sub(1);
        }
        if matching::is_number(w) {
            // Numbers (times, amounts, invoice numbers) name no request.
            continue;
        }
        let s = stem(w);
        if negated {
            // A negated word is no evidence for what it names: "ga usah
            // dibatalin, pindah aja" asks for no cancellation, so it gives
            // only negated features, never "word dibatalin".
            f(textcat::feature(NEGATED, w), Named::Negated(w));
            if let Some(s) = &s {
                f(textcat::feature(NEGATED, s), Named::Negated(s));
            }
            textcat::char_ngrams(w, CHAR_MIN, CHAR_MAX, |g| {
                f(textcat::feature(NEGATED_CHARS, g), Named::NegatedChars(g));
            });
        } else {
            f(textcat::feature(WORD, w), Named::Word(w));
            if let Some(s) = &s {
                f(textcat::feature(STEM, s), Named::Stem(s));
            }
            textcat::char_ngrams(w, CHAR_MIN, CHAR_MAX, |g| {
                f(
                    textcat::feature(textcat::CHAR_NAMESPACE, g),
                    Named::Chars(g),
                );
            });
        }
        if let Some(next) = tokens.get(i + 1) {
            let n = word(next);
            f(textcat::feature_pair(PAIR, w, n), Named::Pair(w, n));
        }
    }
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
fn named_features(v: &Vocabulary, tokens: &[Token]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    walk(v, tokens, |h, n| out.push((h, n.to_string())));
    out.sort();
    out.dedup_by_key(|x| x.0);
    out
}

/// The features of every example with its label, in the examples' order.
/// Each example is read alone, so they are read on up to 8 threads: the
/// desk trains at every start, on some 14,000 examples.
fn labelled_features(v: &Vocabulary, rows: &[eval::Row<'_>]) -> Vec<(Features, Intent)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let chunk = rows.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let readers: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|r| (features(v, &matching::tokens(v, r.text)), r.label))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        readers
            .into_iter()
            .flat_map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The class of an intent: its place in [`Intent::ALL`].
pub(super) fn class(i: Intent) -> usize {
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
        let samples = labelled_features(v, &rows);
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
    pub fn reasons(
        &self,
        v: &Vocabulary,
        tokens: &[Token],
        intent: Intent,
        n: usize,
    ) -> Vec<String> {
        let c = class(intent);
        let mut scored: Vec<(f32, String)> = named_features(v, tokens)
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

    /// What each feature of `text` stands for ("word dibatalin").
    fn names(v: &Vocabulary, text: &str) -> Vec<String> {
        named_features(v, &matching::tokens(v, text))
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    }

    #[test]
    fn features_cover_words_stems_pairs_and_bordered_n_grams() {
        let v = vocabulary();
        let names = names(&v, "Dibatalin aja");
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
        let stemmed = named_features(&v, &matching::tokens(&v, "pembatalan"));
        assert!(
            stemmed.iter().any(|(_, n)| n == "stem batal"),
            "{stemmed:?}"
        );
        assert_eq!(
            features(&v, &matching::tokens(&v, "Dibatalin aja")).len(),
            named_features(&v, &matching::tokens(&v, "Dibatalin aja")).len()
        );
    }

    #[test]
    fn the_three_words_after_a_negation_in_its_clause_are_negated_features() {
        let v = vocabulary();
        let negated = |text: &str| -> Vec<String> {
            names(&v, text)
                .into_iter()
                .filter_map(|n| n.strip_prefix("negated ").map(str::to_string))
                .filter(|n| !n.starts_with("chars "))
                .collect()
        };
        // "ga" is the negation "tidak"; its scope is the next three words.
        let n = negated("gw ga mau lanjut les lagi");
        for want in ["mau", "lanjut", "les"] {
            assert!(n.iter().any(|w| w == want), "{want}: {n:?}");
        }
        assert!(!n.iter().any(|w| w == "lagi" || w == "saya"), "{n:?}");
        // A stem is negated with its word ("dibatalkan": "batal").
        assert!(
            negated("jangan dibatalkan").iter().any(|w| w == "batal"),
            "{:?}",
            negated("jangan dibatalkan")
        );
        // The scope ends with the clause; no negation, no negated feature.
        assert_eq!(negated("bukan itu. refund saja"), ["itu"]);
        assert!(negated("saya mau lanjut les").is_empty());
    }

    #[test]
    fn a_negated_word_gives_only_negated_features() {
        let v = vocabulary();
        let n = names(&v, "ga usah dibatalin, pindah aja");
        for want in ["negated dibatalin", "negated chars <dib", "word pindah"] {
            assert!(n.iter().any(|x| x == want), "{want}: {n:?}");
        }
        for unwanted in ["word dibatalin", "chars <dib", "chars lin>"] {
            assert!(!n.iter().any(|x| x == unwanted), "{unwanted}: {n:?}");
        }
        // The same word outside a negation's scope is plain evidence.
        let plain = names(&v, "dibatalin aja");
        assert!(plain.iter().any(|x| x == "word dibatalin"), "{plain:?}");
        assert!(!plain.iter().any(|x| x.starts_with("negated")), "{plain:?}");
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
            let p = c.probabilities(&features(&v, &matching::tokens(&v, text)));
            assert_eq!(best(&p).0, want, "{text}: {p:?}");
        }
        let tokens = matching::tokens(&v, "saya mau refund");
        let reasons = c.reasons(&v, &tokens, Intent::Refund, 3);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("ref") || r.contains("fund")),
            "{reasons:?}"
        );
    }
}
