//! `caseflow intents cv`: how detection does on development messages it
//! has not learnt from (k-fold cross-validation, or training on one file
//! and testing on another), and the threshold sweep behind the shipped
//! `[classifier]` settings.
//!
//! The edge that reads files and the clock; the work is the pure
//! `policy::intent::crossval`. A held-out part is refused: it is never
//! used to choose anything.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::intents_cmd::{load_kb, load_policy};
use crate::policy::intent::classifier::{self, Classifier};
use crate::policy::intent::crossval;
use crate::policy::intent::eval::{self, Judge, Report};

/// The arguments of `caseflow intents cv`.
#[derive(Debug)]
pub struct CvArgs {
    pub file: Option<PathBuf>,
    pub folds: usize,
    pub train: Option<PathBuf>,
    pub config: PathBuf,
    pub sweep: bool,
    pub misses: bool,
}

fn refuse_held_out(p: &Path) -> anyhow::Result<()> {
    if p.file_name()
        .is_some_and(|n| n.to_string_lossy().contains("heldout"))
    {
        anyhow::bail!(
            "{}: a held-out part is only ever scored, never used to choose anything",
            p.display()
        );
    }
    Ok(())
}

fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

/// One line of headline figures.
fn line(r: &Report) -> String {
    format!(
        "accuracy {:.4}; R3 recall {:.4}; R3 precision {:.4}; non-faq R0 {}; faq R0 {}/{}",
        r.accuracy(),
        r.r3_recall(),
        r.r3_precision(),
        r.non_faq_auto_answered,
        r.faq_auto_answered,
        r.faq
    )
}

/// Runs `caseflow intents cv`.
pub fn run(args: CvArgs) -> anyhow::Result<()> {
    let policy = load_policy(&args.config)?;
    let articles = load_kb(None)?;
    let file = args
        .file
        .unwrap_or_else(|| PathBuf::from("config/intent-examples.tsv"));
    refuse_held_out(&file)?;
    let source = read(&file)?;
    let rows = eval::parse_corpus(&source).with_context(|| file.display().to_string())?;
    let judge = Judge {
        detector: &policy.detector,
        tiers: &policy.tiers,
        articles: &articles,
        kb_threshold: policy.kb_threshold,
    };
    let started = Instant::now();
    let prepared = crossval::prepare(&judge, &rows);
    let prepared_in = started.elapsed();
    let started = Instant::now();
    let (post, arbiter, how) = match &args.train {
        None => {
            let post = crossval::out_of_fold(&rows, &prepared, args.folds)?;
            let inputs = crossval::arbiter_inputs(&prepared, &post);
            let arbiter = crossval::arbiter_out_of_fold(&rows, &inputs, args.folds)?;
            (
                post,
                arbiter,
                format!("{}-fold cross-validation", args.folds.max(2)),
            )
        }
        Some(t) => {
            refuse_held_out(t)?;
            let source = read(t)?;
            let c = Classifier::train(
                policy.detector.vocabulary(),
                &source,
                &t.display().to_string(),
            )?;
            // The arbiter learns from the training file alone: its rows'
            // out-of-fold readings.
            let train_rows =
                eval::parse_corpus(&source).with_context(|| t.display().to_string())?;
            let train_prepared = crossval::prepare(&judge, &train_rows);
            let train_post = crossval::out_of_fold(&train_rows, &train_prepared, args.folds)?;
            let a = crossval::train_arbiter(
                &train_rows,
                &crossval::arbiter_inputs(&train_prepared, &train_post),
                String::new(),
            )?;
            let post = crossval::held_apart(&c, &prepared);
            let arbiter = crossval::arbiter_inputs(&prepared, &post)
                .iter()
                .map(|x| a.read(x))
                .collect();
            (
                post,
                arbiter,
                format!("trained on {} ({} examples)", t.display(), c.examples()),
            )
        }
    };
    println!(
        "{}: {} messages; {how}; rules and features {:.0} ms, training and scoring {:.0} ms",
        file.display(),
        rows.len(),
        prepared_in.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    );
    let t = *policy.detector.thresholds();
    print!(
        "{}",
        crossval::alone(&rows, &post).table("classifier alone")
    );
    print!(
        "{}",
        crossval::joined(&judge, &rows, &prepared, None, &t, None).table("rules alone")
    );
    let joined = crossval::joined(&judge, &rows, &prepared, Some(&post), &t, None);
    print!(
        "{}",
        joined.table(&format!(
            "rules and classifier (name {}, question {}, establish {}, add {}, suspect {}, faq {}, overrule {}, dismiss {})",
            t.name, t.question, t.establish, t.add, t.suspect, t.faq, t.overrule, t.dismiss
        ))
    );
    println!(
        "arbiter alone: {} of {} right",
        rows.iter()
            .zip(&arbiter)
            .filter(|(r, a)| r.label == a.0)
            .count(),
        rows.len()
    );
    let arbitrated = crossval::joined(&judge, &rows, &prepared, Some(&post), &t, Some(&arbiter));
    print!(
        "{}",
        arbitrated.table("rules and classifier, primary intent by the arbiter (as shipped)")
    );
    if args.misses {
        for &i in &arbitrated.misses {
            let mut d =
                crate::policy::intent::combine(prepared.rules[i].clone(), &post[i].whole, &t);
            crate::policy::intent::raise_by_parts(&mut d, || post[i].parts.clone(), &t);
            crate::policy::intent::arbitrate(&mut d, arbiter[i], &t);
            let (top, p) = crate::policy::intent::classifier::best(&post[i].whole);
            println!(
                "  miss [{} {}] {:?}: label {}, rules {}, classifier {} {:.2}, arbiter {} {:.2}, joined {}{}",
                rows[i].lang,
                rows[i].kind,
                rows[i].text,
                rows[i].label.as_str(),
                prepared.rules[i].primary().as_str(),
                top.as_str(),
                p,
                arbiter[i].0.as_str(),
                arbiter[i].1,
                d.primary().as_str(),
                if d.risk_suspected() {
                    " (suspected risk)"
                } else {
                    ""
                }
            );
        }
    }
    if args.sweep {
        let mut best: Option<(String, Report)> = None;
        let mut consider = |name: String, r: Report| {
            println!("{name}: {}", line(&r));
            if better(&r, best.as_ref().map(|b| &b.1)) {
                best = Some((name, r));
            }
        };
        for part in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0] {
            let g = crate::policy::intent::Thresholds { part, ..t };
            let r = crossval::joined(&judge, &rows, &prepared, Some(&post), &g, None);
            consider(format!("configured thresholds with part {part:.2}"), r);
        }
        for question in [0.0, 0.2, 0.3, 0.4, 0.5, 1.0] {
            let g = crate::policy::intent::Thresholds { question, ..t };
            let r = crossval::joined(&judge, &rows, &prepared, Some(&post), &g, None);
            consider(
                format!("configured thresholds with question {question:.2}"),
                r,
            );
        }
        for g in crossval::grid(t.faq, t.question) {
            let r = crossval::joined(&judge, &rows, &prepared, Some(&post), &g, None);
            consider(
                format!(
                    "name {:.2} establish {:.2} add {:.2} suspect {:.2} faq {:.2} overrule {:.2} dismiss {:.2}",
                    g.name, g.establish, g.add, g.suspect, g.faq, g.overrule, g.dismiss
                ),
                r,
            );
        }
        match best {
            Some((name, r)) => println!(
                "best (R3 recall at least {SWEEP_R3_RECALL}, no non-faq R0, then accuracy): {name}: {}",
                line(&r)
            ),
            None => {
                println!("best: no setting reaches R3 recall {SWEEP_R3_RECALL} with no non-faq R0")
            }
        }
    }
    Ok(())
}

/// Runs `caseflow intents arbiter`: the classifier's `folds`-fold
/// out-of-fold readings of the configured examples, the arbiter trained on
/// them, its weights written to `write` (or standard output).
pub fn arbiter(config: &Path, folds: usize, write: Option<&Path>) -> anyhow::Result<()> {
    let started = Instant::now();
    let (policy, examples, file) = if config.exists() {
        let mut cfg = crate::config::Config::load(config)?;
        // The arbiter being written replaces the configured one, which may
        // no longer match the vocabulary or the examples.
        cfg.policy.intent_arbiter = None;
        let (examples, file) = match &cfg.policy.intent_examples {
            Some(p) => (read(p)?, p.display().to_string()),
            None => (
                classifier::EMBEDDED_EXAMPLES.to_string(),
                "config/intent-examples.tsv (built in)".to_string(),
            ),
        };
        (cfg.policy.build()?, examples, file)
    } else if config == Path::new("config/default.toml") {
        (
            crate::policy::Policy::defaults(),
            classifier::EMBEDDED_EXAMPLES.to_string(),
            "config/intent-examples.tsv (built in)".to_string(),
        )
    } else {
        anyhow::bail!("config file {} does not exist", config.display())
    };
    if policy.detector.classifier().is_none() {
        anyhow::bail!(
            "the classifier is off ([classifier] enabled = false): an arbiter joins its readings"
        );
    }
    let articles = load_kb(None)?;
    let rows = eval::parse_corpus(&examples).with_context(|| file.clone())?;
    let judge = Judge {
        detector: &policy.detector,
        tiers: &policy.tiers,
        articles: &articles,
        kb_threshold: policy.kb_threshold,
    };
    let prepared = crossval::prepare(&judge, &rows);
    let post = crossval::out_of_fold(&rows, &prepared, folds)?;
    let a = crossval::train_arbiter(
        &rows,
        &crossval::arbiter_inputs(&prepared, &post),
        policy.detector.fingerprint().to_string(),
    )?;
    let text = a.to_toml();
    match write {
        Some(p) => {
            std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => print!("{text}"),
    }
    eprintln!(
        "arbiter trained on {} examples of {file} ({}-fold readings) in {:.1} s; fingerprint {}",
        rows.len(),
        folds.max(2),
        started.elapsed().as_secs_f64(),
        a.fingerprint()
    );
    Ok(())
}

/// The R3 recall a swept setting must keep to be named best (issue
/// target for the held-out part, applied to cross-validation).
const SWEEP_R3_RECALL: f64 = 0.995;

/// Whether `r` is a better setting than `than`: only settings that keep
/// R3 recall at [`SWEEP_R3_RECALL`] and answer no non-faq message from an
/// article qualify (contract section 2: when unsure, a human gets the
/// turn); among them the higher accuracy, then the higher R3 precision,
/// wins; the first of equals stays.
fn better(r: &Report, than: Option<&Report>) -> bool {
    if r.r3_recall() < SWEEP_R3_RECALL || r.non_faq_auto_answered > 0 {
        return false;
    }
    match than {
        None => true,
        Some(b) => (r.accuracy(), r.r3_precision()) > (b.accuracy(), b.r3_precision()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(correct: usize, risky_routed: usize, non_faq_r0: usize) -> Report {
        Report {
            messages: 100,
            correct,
            risky: 50,
            risky_routed,
            flagged_risky: 60,
            non_faq_auto_answered: non_faq_r0,
            ..Report::default()
        }
    }

    #[test]
    fn the_best_swept_setting_keeps_r3_recall_and_no_unsafe_answer_before_accuracy() {
        let safe = report(90, 50, 0);
        assert!(better(&safe, None));
        // More accurate, but a risky request slips past a human.
        assert!(!better(&report(95, 49, 0), Some(&safe)));
        // More accurate, but a non-faq message is answered from an article.
        assert!(!better(&report(95, 50, 1), Some(&safe)));
        assert!(better(&report(91, 50, 0), Some(&safe)));
        // An equal setting does not replace the first.
        assert!(!better(&report(90, 50, 0), Some(&safe)));
    }
}
