//! The arbiter: a stacked model (Wolpert, "Stacked generalization", 1992)
//! that reads what the rules found and what the classifier thinks, and
//! says which intent a turn is about.
//!
//! Why: the rules and the classifier are each right where the other is
//! wrong. Under 10-fold cross-validation on the development part (19,728
//! messages), of the 662 turns the joined reading got wrong, 192 had the
//! rules right and the classifier wrong and 190 the reverse; fixed
//! thresholds ([`super::combine`]) cannot tell which to believe, a model
//! trained on the classifier's out-of-fold readings can
//! (docs/intent-eval.md).
//!
//! Inputs ([`inputs`], [`INPUTS`] values): for each intent, the
//! classifier's probability on a log scale (`log10(max(p, 1e-4)) / 4 + 1`,
//! 0..=1); the rules' primary intent (one-hot); every intent the rules
//! found; every intent they suspect; and whether they saw injection, a
//! question with no subject they know, a lone topic word, and something
//! beyond general questions.
//!
//! It only decides the primary intent, within [`super::combine::arbitrate`]'s
//! safety: a risky intent it drops stays suspected (a human gets the
//! turn), it never makes a turn answerable from an article, and it names a
//! risky intent (announced to the customer) only at `establish`.
//!
//! The weights are data: `config/intent-arbiter.toml`, written by
//! `caseflow intents arbiter` from the classifier's 10-fold out-of-fold
//! readings of the examples. The file names the vocabulary and examples it
//! was trained with (a fingerprint); with any others it is not used, and
//! the desk says so at start.

use caseflow_textcat::{self as textcat, Dense, DenseError, Training};
use serde::Deserialize;

use super::classifier::{self, Probabilities, class};
use super::{Detection, Intent};

/// Values per turn the arbiter reads.
pub const INPUTS: usize = 4 * classifier::CLASSES + 4;

/// The version of the arbiter file format this binary writes and reads.
pub const FORMAT: u32 = 1;

/// The arbiter built into the binary (`config/intent-arbiter.toml`).
pub const EMBEDDED: &str = include_str!("../../../config/intent-arbiter.toml");

/// How the arbiter is trained: 20 passes at rate 0.5 and L2 1e-5, chosen
/// by 10-fold cross-validation on the development part (rate 0.1 left it
/// short of converged: 19,071 against 19,155 of 19,728 right alone; L2
/// 1e-4 gave 19,147; docs/intent-eval.md).
const TRAINING: Training = Training {
    epochs: 20,
    rate: 0.5,
    l2: 1e-5,
};

/// Lowest probability the inputs tell apart (1e-4).
const FLOOR: f64 = 1e-4;

/// The arbiter's inputs for a turn: `rules` is the rules' detection before
/// the classifier joined it, `p` the classifier's probabilities of the
/// whole turn.
pub fn inputs(rules: &Detection, p: &Probabilities) -> [f64; INPUTS] {
    let k = classifier::CLASSES;
    let mut x = [0.0; INPUTS];
    for (c, &pc) in p.iter().enumerate() {
        x[c] = pc.max(FLOOR).log10() / 4.0 + 1.0;
    }
    x[k + class(rules.primary())] = 1.0;
    for i in &rules.intents {
        x[2 * k + class(*i)] = 1.0;
    }
    for i in &rules.suspected {
        x[3 * k + class(*i)] = 1.0;
    }
    let flags = [
        rules.injection,
        rules.faq_by_default,
        rules.topic_only,
        rules.beyond_faq,
    ];
    for (j, f) in flags.into_iter().enumerate() {
        x[4 * k + j] = if f { 1.0 } else { 0.0 };
    }
    x
}

/// The fingerprint of the vocabulary and examples a classifier (and so an
/// arbiter) is trained with: `fnv64:` and 16 hex digits.
pub fn fingerprint(vocabulary_source: &str, examples_source: &str) -> String {
    let v = textcat::feature(b'V', vocabulary_source);
    let e = textcat::feature(b'E', examples_source);
    let both = textcat::feature_pair(b'F', &format!("{v:016x}"), &format!("{e:016x}"));
    format!("fnv64:{both:016x}")
}

/// Why an arbiter file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArbiterError {
    #[error("{file}: {problem}")]
    Unreadable { file: String, problem: String },
    #[error("{file}: format {found} is newer than this binary reads (it reads up to {FORMAT})")]
    Newer { file: String, found: u32 },
    #[error("{file}: intent '{intent}': {problem}")]
    Weights {
        file: String,
        intent: String,
        problem: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArbiterFile {
    format: u32,
    fingerprint: String,
    inputs: usize,
    weights: std::collections::BTreeMap<String, Vec<f64>>,
}

/// A trained arbiter. Cheap to clone.
#[derive(Debug, Clone, PartialEq)]
pub struct Arbiter {
    model: Dense,
    fingerprint: String,
}

impl Arbiter {
    /// Trains on the rules' detections and the classifier's out-of-fold
    /// probabilities of labelled examples; `fingerprint` names the
    /// vocabulary and examples they come from ([`fingerprint`]).
    ///
    /// Errors: no examples.
    pub fn train(
        samples: &[([f64; INPUTS], Intent)],
        fingerprint: String,
    ) -> Result<Arbiter, DenseError> {
        let rows: Vec<(&[f64], usize)> = samples
            .iter()
            .map(|(x, i)| (x.as_slice(), class(*i)))
            .collect();
        let model = Dense::train(&rows, classifier::CLASSES, INPUTS, &TRAINING)?;
        Ok(Arbiter { model, fingerprint })
    }

    /// Reads an arbiter file (`file` names it in errors): `format`,
    /// `fingerprint`, `inputs` and one row of `inputs + 1` weights (the
    /// bias last) per intent under `[weights]`.
    ///
    /// Errors: not TOML or unknown keys; a format newer than [`FORMAT`];
    /// another number of inputs; an intent missing, unknown, or with the
    /// wrong number of weights or one that is not finite.
    pub fn parse(source: &str, file: &str) -> Result<Arbiter, ArbiterError> {
        let unreadable = |problem: String| ArbiterError::Unreadable {
            file: file.to_string(),
            problem,
        };
        let f: ArbiterFile = toml::from_str(source).map_err(|e| unreadable(e.to_string()))?;
        if f.format > FORMAT {
            return Err(ArbiterError::Newer {
                file: file.to_string(),
                found: f.format,
            });
        }
        if f.inputs != INPUTS {
            return Err(unreadable(format!(
                "inputs = {}, but this binary's arbiter reads {INPUTS}",
                f.inputs
            )));
        }
        if let Some(unknown) = f.weights.keys().find(|k| Intent::parse(k).is_none()) {
            return Err(ArbiterError::Weights {
                file: file.to_string(),
                intent: unknown.clone(),
                problem: "no such intent".into(),
            });
        }
        let mut weights = Vec::with_capacity(classifier::CLASSES * (INPUTS + 1));
        for i in Intent::ALL {
            let bad = |problem: String| ArbiterError::Weights {
                file: file.to_string(),
                intent: i.as_str().to_string(),
                problem,
            };
            let row = f
                .weights
                .get(i.as_str())
                .ok_or_else(|| bad("missing".into()))?;
            if row.len() != INPUTS + 1 {
                return Err(bad(format!(
                    "{} weights where {} are needed",
                    row.len(),
                    INPUTS + 1
                )));
            }
            if row.iter().any(|w| !w.is_finite()) {
                return Err(bad("a weight is not a finite number".into()));
            }
            weights.extend_from_slice(row);
        }
        let model = Dense::from_weights(classifier::CLASSES, INPUTS, weights)
            .map_err(|e| unreadable(e.to_string()))?;
        Ok(Arbiter {
            model,
            fingerprint: f.fingerprint,
        })
    }

    /// The arbiter as a file [`Arbiter::parse`] reads back to the same
    /// arbiter.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# The intent arbiter's weights (src/policy/intent/arbiter.rs), written by\n\
             # `caseflow intents arbiter`: regenerate it after changing the vocabulary\n\
             # or the examples; with any others than those of `fingerprint` it is not used.\n",
        );
        out.push_str(&format!("format = {FORMAT}\n"));
        out.push_str(&format!("fingerprint = \"{}\"\n", self.fingerprint));
        out.push_str(&format!("inputs = {INPUTS}\n\n[weights]\n"));
        let width = INPUTS + 1;
        for (c, i) in Intent::ALL.iter().enumerate() {
            let row: Vec<String> = self.model.weights()[c * width..(c + 1) * width]
                .iter()
                .map(|w| format!("{w:?}"))
                .collect();
            out.push_str(&format!("{} = [{}]\n", i.as_str(), row.join(", ")));
        }
        out
    }

    /// The vocabulary and examples it was trained with ([`fingerprint`]).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The likeliest intent of a turn and its probability.
    pub fn read(&self, x: &[f64; INPUTS]) -> (Intent, f64) {
        let p = self.model.probabilities(x);
        let (c, pc) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(c, pc)| (c, *pc))
            .unwrap_or((classifier::CLASSES - 1, 0.0));
        (Intent::ALL[c], pc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(intents: &[Intent]) -> Detection {
        Detection {
            intents: intents.to_vec(),
            ..Detection::default()
        }
    }

    fn peaked(at: Intent) -> Probabilities {
        let mut p = [0.01; classifier::CLASSES];
        p[class(at)] = 0.9;
        p
    }

    /// Trains on turns where the classifier is right whenever the rules
    /// found nothing, and the rules are right otherwise.
    fn trained() -> Arbiter {
        let mut samples = Vec::new();
        for i in Intent::ALL {
            for other in Intent::ALL {
                samples.push((inputs(&detection(&[]), &peaked(i)), i));
                samples.push((inputs(&detection(&[i]), &peaked(other)), i));
            }
        }
        Arbiter::train(&samples, "fnv64:0000000000000000".into()).unwrap()
    }

    #[test]
    fn inputs_place_probabilities_on_a_log_scale_and_the_rules_one_hot() {
        let mut rules = detection(&[Intent::Refund, Intent::NextSession]);
        rules.suspected = vec![Intent::LegalThreat];
        rules.injection = true;
        let x = inputs(&rules, &peaked(Intent::Faq));
        let k = classifier::CLASSES;
        assert!((x[class(Intent::Faq)] - (0.9f64.log10() / 4.0 + 1.0)).abs() < 1e-12);
        assert!((x[class(Intent::Other)] - 0.5).abs() < 1e-12, "0.01 -> 0.5");
        assert_eq!(x[k + class(Intent::Refund)], 1.0, "primary");
        assert_eq!(x[k + class(Intent::NextSession)], 0.0);
        assert_eq!(x[2 * k + class(Intent::NextSession)], 1.0, "found");
        assert_eq!(x[3 * k + class(Intent::LegalThreat)], 1.0, "suspected");
        assert_eq!(x[4 * k], 1.0, "injection");
        assert_eq!(x[4 * k + 1], 0.0);
        let tiny = inputs(&rules, &[1e-9; classifier::CLASSES]);
        assert_eq!(tiny[0], 0.0, "below the floor reads as the floor");
    }

    #[test]
    fn learns_whom_to_believe_and_round_trips_through_its_file() {
        let a = trained();
        let rules_found = inputs(&detection(&[Intent::Cancel]), &peaked(Intent::Reschedule));
        assert_eq!(a.read(&rules_found).0, Intent::Cancel);
        let none_found = inputs(&detection(&[]), &peaked(Intent::Reschedule));
        assert_eq!(a.read(&none_found).0, Intent::Reschedule);
        let back = Arbiter::parse(&a.to_toml(), "a.toml").unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn bad_files_name_the_file_and_what_is_wrong() {
        let good = trained().to_toml();
        let err = |s: &str| Arbiter::parse(s, "arb.toml").unwrap_err().to_string();
        assert!(err("format = ").starts_with("arb.toml: "));
        let newer = good.replace("format = 1", "format = 2");
        assert_eq!(
            err(&newer),
            "arb.toml: format 2 is newer than this binary reads (it reads up to 1)"
        );
        let fewer = good.replace(&format!("inputs = {INPUTS}"), "inputs = 3");
        assert!(err(&fewer).contains("inputs = 3"), "{}", err(&fewer));
        let missing: String = good
            .lines()
            .filter(|l| !l.starts_with("refund ="))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(err(&missing), "arb.toml: intent 'refund': missing");
        let unknown = format!("{good}refnd = [1.0]\n");
        assert_eq!(err(&unknown), "arb.toml: intent 'refnd': no such intent");
        let short = good.replace("other = [", "other = [1.0, ");
        assert!(err(&short).contains("intent 'other':"), "{}", err(&short));
        let extra = good.replace("inputs =", "colour = \"red\"\ninputs =");
        assert!(err(&extra).contains("colour"), "{}", err(&extra));
    }

    #[test]
    fn the_fingerprint_follows_both_sources() {
        let f = fingerprint("v", "e");
        assert!(f.starts_with("fnv64:") && f.len() == 22, "{f}");
        assert_eq!(f, fingerprint("v", "e"));
        assert_ne!(f, fingerprint("v2", "e"));
        assert_ne!(f, fingerprint("v", "e2"));
    }

    #[test]
    fn the_shipped_arbiter_reads() {
        let a = Arbiter::parse(EMBEDDED, "config/intent-arbiter.toml").unwrap();
        assert!(a.fingerprint().starts_with("fnv64:"));
    }
}
