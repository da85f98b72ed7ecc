//! Estimating how detection does on messages it has not learnt from:
//! k-fold cross-validation of the classifier on a development corpus, alone
//! and joined with the rules, and the sweep of [`Thresholds`] that chose
//! the shipped ones. Pure: the caller reads the files.
//!
//! Row `i` is in fold `i % k`: deterministic, and every label spread over
//! the folds (a corpus is written in runs of one label). The rules are the
//! same in every fold; on the part they were tuned on they look better
//! than they are, so a figure of the rules joined with the classifier is an
//! upper bound there. Training on one file and testing on another
//! ([`held_apart`]) measures a batch the rules were not tuned on.

use caseflow_textcat::{Features, TrainError};

use super::arbiter::{self, Arbiter, INPUTS};
use super::classifier::{self, Classifier, Probabilities};
use super::eval::{self, Judge, Report, Routing, Row};
use super::{Detection, Intent, Thresholds, arbitrate, aside_of_parts, combine, raise_by_parts};
use crate::core::types::Tier;
use crate::policy::kb;
use crate::policy::tier::TierFacts;

/// What is worked out once per row: the rules' detection, the classifier's
/// features, whether a published article matches.
pub struct Prepared {
    pub rules: Vec<Detection>,
    pub features: Vec<Features>,
    /// The features of each row's parts ([`classifier::part_features`]).
    pub parts: Vec<Vec<Features>>,
    pub kb_match: Vec<bool>,
}

/// The classifier's probabilities of a row and of its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub whole: Probabilities,
    pub parts: Vec<Probabilities>,
}

impl Read {
    fn by(c: &Classifier, prepared: &Prepared, i: usize) -> Read {
        Read {
            whole: c.probabilities(&prepared.features[i]),
            parts: prepared.parts[i]
                .iter()
                .map(|f| c.probabilities(f))
                .collect(),
        }
    }
}

/// Works out the rules' side of every row.
pub fn prepare(judge: &Judge<'_>, rows: &[Row<'_>]) -> Prepared {
    let mut p = Prepared {
        rules: Vec::with_capacity(rows.len()),
        features: Vec::with_capacity(rows.len()),
        parts: Vec::with_capacity(rows.len()),
        kb_match: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        let (d, f, parts) = judge.detector.rules_and_features(r.text);
        p.rules.push(d);
        p.features.push(f);
        p.parts.push(parts);
        p.kb_match.push(
            kb::best_match(judge.detector, r.text, judge.articles, judge.kb_threshold).is_some(),
        );
    }
    p
}

/// The probabilities of every row from a classifier trained on the other
/// folds.
pub fn out_of_fold(
    rows: &[Row<'_>],
    prepared: &Prepared,
    folds: usize,
) -> Result<Vec<Read>, TrainError> {
    let folds = folds.max(2);
    let mut post = vec![
        Read {
            whole: [0.0; classifier::CLASSES],
            parts: Vec::new(),
        };
        rows.len()
    ];
    for k in 0..folds {
        let train: Vec<(Features, super::Intent)> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != k)
            .map(|(i, r)| (prepared.features[i].clone(), r.label))
            .collect();
        let c = Classifier::from_features(&train)?;
        for i in (k..rows.len()).step_by(folds) {
            post[i] = Read::by(&c, prepared, i);
        }
    }
    Ok(post)
}

/// The probabilities of every row from a classifier trained elsewhere.
pub fn held_apart(c: &Classifier, prepared: &Prepared) -> Vec<Read> {
    (0..prepared.features.len())
        .map(|i| Read::by(c, prepared, i))
        .collect()
}

/// The arbiter's inputs of every row ([`arbiter::inputs`]): the rules'
/// detection and the classifier's reading of the whole row.
pub fn arbiter_inputs(prepared: &Prepared, post: &[Read]) -> Vec<[f64; INPUTS]> {
    prepared
        .rules
        .iter()
        .zip(post)
        .map(|(r, p)| arbiter::inputs(r, &p.whole))
        .collect()
}

/// The arbiter trained on every row (`post` out of fold, so it learns how
/// the classifier reads messages it has not seen); `fingerprint` names the
/// vocabulary and examples ([`arbiter::fingerprint`]).
pub fn train_arbiter(
    rows: &[Row<'_>],
    inputs: &[[f64; INPUTS]],
    fingerprint: String,
) -> Result<Arbiter, caseflow_textcat::DenseError> {
    let samples: Vec<([f64; INPUTS], Intent)> = inputs
        .iter()
        .copied()
        .zip(rows.iter().map(|r| r.label))
        .collect();
    Arbiter::train(&samples, fingerprint)
}

/// The arbiter's reading of every row from an arbiter trained on the other
/// folds (stacking's cross-validation: the classifier's readings it
/// learns from and is tested on are all out of fold).
pub fn arbiter_out_of_fold(
    rows: &[Row<'_>],
    inputs: &[[f64; INPUTS]],
    folds: usize,
) -> Result<Vec<(Intent, f64)>, caseflow_textcat::DenseError> {
    let folds = folds.max(2);
    let mut out = vec![(Intent::Other, 0.0); rows.len()];
    for k in 0..folds {
        let samples: Vec<([f64; INPUTS], Intent)> = (0..rows.len())
            .filter(|i| i % folds != k)
            .map(|i| (inputs[i], rows[i].label))
            .collect();
        let a = Arbiter::train(&samples, String::new())?;
        for i in (k..rows.len()).step_by(folds) {
            out[i] = a.read(&inputs[i]);
        }
    }
    Ok(out)
}

/// The classifier alone: its most probable intent is the primary; a
/// risky one routes the turn to a human; it never answers.
pub fn alone(rows: &[Row<'_>], post: &[Read]) -> Report {
    let outcomes: Vec<Routing> = post
        .iter()
        .map(|p| {
            let primary = classifier::best(&p.whole).0;
            Routing {
                primary,
                risky_routed: primary.is_risky(),
                auto_answered: false,
                aside: None,
                tentative: false,
            }
        })
        .collect();
    eval::score(rows, &outcomes)
}

/// The rules joined with the classifier under `t` (`post: None`: the
/// rules alone), judged as [`Judge::judge`] does.
pub fn joined(
    judge: &Judge<'_>,
    rows: &[Row<'_>],
    prepared: &Prepared,
    post: Option<&[Read]>,
    t: &Thresholds,
    arbiter: Option<&[(Intent, f64)]>,
) -> Report {
    let outcomes: Vec<Routing> = (0..rows.len())
        .map(|i| {
            let d = match post {
                Some(post) => {
                    let mut d = combine(prepared.rules[i].clone(), &post[i].whole, t);
                    raise_by_parts(&mut d, || post[i].parts.clone(), t);
                    aside_of_parts(&mut d, || post[i].parts.clone(), t);
                    if let Some(a) = arbiter {
                        arbitrate(&mut d, a[i], t);
                    }
                    d
                }
                None => {
                    let mut d = prepared.rules[i].clone();
                    if !d.account_only() {
                        d.aside = None;
                    }
                    d
                }
            };
            let decision = judge.tiers.decide(&TierFacts {
                detection: &d,
                kb_match: prepared.kb_match[i],
                reschedule_in_policy: None,
                identity_mismatch: false,
            });
            let r0 = decision.tier == Some(Tier::R0) && d.may_answer_from_kb();
            Routing::of(&d, r0)
        })
        .collect();
    eval::score(rows, &outcomes)
}

/// The thresholds a sweep tries: each of `name`, `establish`, `add`,
/// `suspect`, `overrule` and `dismiss` over its grid, `faq` and
/// `question` fixed. The
/// classifier names, establishes, adds or overrules only at even odds or
/// better (a risky intent it establishes is announced to the customer).
pub fn grid(faq: f64, question: f64) -> Vec<Thresholds> {
    let mut out = Vec::new();
    for name in [0.5, 0.6, 0.8] {
        for establish in [0.5, 0.6, 0.8, 1.0] {
            for add in [0.5, 0.6, 0.8, 1.0] {
                for suspect in [0.15, 0.2, 0.25, 0.3, 0.4, 0.5] {
                    for overrule in [0.5, 0.6, 0.7, 0.8, 0.9, 1.0] {
                        for dismiss in [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] {
                            out.push(Thresholds {
                                name,
                                question,
                                establish,
                                add,
                                suspect,
                                faq,
                                moving: Thresholds::default().moving,
                                overrule,
                                dismiss,
                                part: Thresholds::default().part,
                                aside: Thresholds::default().aside,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn every_row_is_predicted_by_a_model_that_did_not_see_it() {
        let policy = Policy::defaults();
        let judge = Judge {
            detector: &policy.detector,
            tiers: &policy.tiers,
            articles: &[],
            kb_threshold: policy.kb_threshold,
        };
        let all = eval::parse_corpus(classifier::EMBEDDED_EXAMPLES).unwrap();
        // Every fifth row: all labels, small enough to train quickly.
        let rows: Vec<Row<'_>> = all.into_iter().step_by(5).collect();
        let prepared = prepare(&judge, &rows);
        let post = out_of_fold(&rows, &prepared, 5).unwrap();
        assert_eq!(post.len(), rows.len());
        for p in &post {
            assert!((p.whole.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        assert_eq!(post, out_of_fold(&rows, &prepared, 5).unwrap());
        // A model that saw the rows knows them; the folds' models did
        // not see theirs, so they miss some.
        let samples: Vec<_> = rows
            .iter()
            .zip(&prepared.features)
            .map(|(r, f)| (f.clone(), r.label))
            .collect();
        let seen = held_apart(&Classifier::from_features(&samples).unwrap(), &prepared);
        let in_sample = alone(&rows, &seen).accuracy();
        let out_of_sample = alone(&rows, &post).accuracy();
        assert!(in_sample > 0.97, "{in_sample}");
        assert!(out_of_sample < in_sample, "{out_of_sample} {in_sample}");
        let rules = joined(&judge, &rows, &prepared, None, &Thresholds::default(), None);
        assert_eq!(rules.messages, rows.len());
    }
}
