//! How the classifier's view ([`super::classifier`]) joins the rules'
//! detection, conservatively (CONTRACT section 2: "when a turn may carry a
//! risky request but the engine is not sure, it is routed to a human, never
//! answered"):
//!
//! - it may **name** an intent when the rules found none, or found only a
//!   question without a subject they know (`name`; a risky one needs
//!   `establish` too; on such a question, `question` is enough for an
//!   account request), but never an account intent from a lone topic word
//!   ("Payment", "jadwal?": a menu word asks nothing, a person reads it);
//!   a question it reads as no request at all (`other`)
//!   loses its general-question reading and goes to the operator;
//! - it may **add** a risky intent (`establish`) or an account intent
//!   (`add`) beside what the rules found, so the turn's tier can only rise;
//! - it may **raise** risk: when the probabilities of the risky intents
//!   together reach `suspect`, the likeliest of them is suspected and the
//!   turn goes to the coach;
//! - it may **overrule** the rules' reading when it is sure of another
//!   request (`overrule`): its intent becomes the primary one, and the
//!   stronger intents the rules found are dropped, a risky one kept as
//!   *suspected* so a human still gets the turn ("receipt please, I need it
//!   for my report to the office" is an invoice request, and "report" only
//!   a suspicion of a complaint to the authorities);
//! - it never lowers a turn below a human's attention and never makes a
//!   turn answerable from an article: it does not overrule in favour of a
//!   general question or of no request, and a general question is
//!   answered only when the rules say so and the classifier gives it at
//!   least `faq` (both agree).
//!
//! Last, the arbiter ([`super::arbiter`], when one is in use) decides the
//! primary intent within the same safety ([`arbitrate`]).
//!
//! The thresholds live in `config/intents.toml` (`[classifier]`), chosen on
//! the development part only (`caseflow intents cv`): by cross-validation,
//! or, for those that weigh the classifier against the rules, by forward
//! validation on its newest batches (the rules are written from the
//! development part's misses, so cross-validation flatters them).

use super::classifier::{self, Probabilities};
use super::{Detection, Intent};

/// When the classifier's view changes a detection (probabilities, 0..=1;
/// 1 turns that use off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Names its intent when the rules found none (or only a question).
    pub name: f64,
    /// Names its account request (a risky one still needs `name` and
    /// `establish`; a reading of no request still needs `name`) at this
    /// probability or more,
    /// when it is also its likeliest reading, on a turn the rules call a
    /// general question only because it asks something
    /// ([`Detection::faq_by_default`]): asking is no evidence of a general
    /// question, so the likelier reading decides ("hi whats the tiem for
    /// my daugter's class on sat?" is a schedule question). The lower of
    /// this and `name` applies.
    pub question: f64,
    /// Adds its risky intent beside the rules' intents.
    pub establish: f64,
    /// Adds its account intent beside the rules' intents.
    pub add: f64,
    /// Suspects the likeliest risky intent when the risky intents together
    /// are this probable.
    pub suspect: f64,
    /// A general question may be answered from an article only when the
    /// classifier gives it at least this probability.
    pub faq: f64,
    /// A cancellation beside a reschedule is taken for the moving of one
    /// session (which facts may lower to R2) only while the risky intents
    /// together stay below this; at or above it the coach decides.
    pub moving: f64,
    /// Its intent (a request: not a general question, not `other`)
    /// replaces the rules' stronger ones; their risky ones stay suspected.
    pub overrule: f64,
    /// Its reading of a general question or of no request replaces the
    /// rules' requests: their risky ones stay suspected, and the turn goes
    /// to a person (a general question read this way is never answered
    /// from an article).
    pub dismiss: f64,
    /// A part of a turn of several clauses (the words before or after a
    /// clause boundary) whose risky intents together are this probable
    /// makes its likeliest risky intent suspected.
    pub part: f64,
    /// A part of a turn whose intents are all account requests, read as
    /// another request at this probability or more: the automatic answers
    /// wait on a person (see [`aside_of_parts`]).
    pub aside: f64,
}

impl Default for Thresholds {
    /// The shipped thresholds (docs/intent-eval.md says how they were
    /// chosen).
    fn default() -> Self {
        Thresholds {
            name: 0.7,
            question: 1.0,
            establish: 0.8,
            add: 0.9,
            suspect: 0.5,
            faq: 0.2,
            moving: 0.1,
            overrule: 1.0,
            dismiss: 1.0,
            part: 1.0,
            aside: 1.0,
        }
    }
}

/// What the classifier made of a turn, and what it changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Opinion {
    /// Its most probable intent and that probability.
    pub intent: Intent,
    pub probability: f64,
    /// The probability of the risky intents together.
    pub risk: f64,
    /// The probability of a general question.
    pub faq: f64,
    /// It named or added an intent, or dropped a general question.
    pub named: bool,
    /// It made a risky intent suspected.
    pub raised: bool,
    /// It named the turn's intent below even odds (`name`), on a question
    /// the rules could not place (`question`): a person confirms the
    /// reading before any automatic answer.
    pub tentative: bool,
    /// It did not agree that the turn is a general question: no article
    /// answers it.
    pub withheld: bool,
    /// The arbiter's reading ([`super::arbiter`]): its intent and that
    /// probability, when an arbiter is in use.
    pub arbiter: Option<(Intent, f64)>,
    /// The arbiter changed the primary intent, or suspected a risky one
    /// ([`arbitrate`]).
    pub arbitrated: bool,
}

/// The rules' detection `d` with the classifier's probabilities `p` joined
/// under `t` (see the module doc).
pub fn combine(mut d: Detection, p: &Probabilities, t: &Thresholds) -> Detection {
    let (top, top_p) = classifier::best(p);
    let risk = risk_of(p);
    let faq = classifier::probability(p, Intent::Faq);
    let mut o = Opinion {
        intent: top,
        probability: top_p,
        risk,
        faq,
        named: false,
        raised: false,
        tentative: false,
        withheld: false,
        arbiter: None,
        arbitrated: false,
    };
    let rules_found_nothing = d.intents.is_empty() || d.faq_by_default;
    // A risky intent is named on the same evidence as one added beside
    // the rules' intents: a wrong one sends a turn to the coach.
    let needed = if top.is_risky() {
        t.establish.max(t.name)
    } else {
        t.name
    };
    if top == Intent::Other {
        // A question the classifier reads as no request at all is not
        // answered from an article either: it goes to the operator.
        if d.intents == [Intent::Faq] && top_p >= t.name {
            d.intents.clear();
            o.named = true;
        }
    } else if !d.has(top) {
        if rules_found_nothing {
            // A risky request keeps `establish`: naming one announces it
            // to the customer (`wa.r3.refund`); below it, it is suspected
            // and the coach reads the turn without an announcement.
            let needed = if d.faq_by_default && top != Intent::Faq && !top.is_risky() {
                needed.min(t.question)
            } else {
                needed
            };
            if top_p >= needed && !(d.topic_only && top.is_account()) {
                d.intents = vec![top];
                o.named = true;
                o.tentative = top_p < t.name;
            }
        } else if (top.is_risky() && top_p >= t.establish) || (top.is_account() && top_p >= t.add) {
            d.intents.push(top);
            d.intents.sort_unstable();
            o.named = true;
        }
    }
    // A cancellation the rules found beside a reschedule is judged below
    // ("batal les kamis, ganti jumat": the moving of one session).
    let moving_pair = top == Intent::Reschedule && d.has(Intent::Cancel) && d.has(top);
    if top_p >= t.overrule
        && !matches!(top, Intent::Other | Intent::Faq)
        && !d.intents.is_empty()
        && d.primary() != top
        && !moving_pair
    {
        overrule(&mut d, top);
        o.named = true;
    }
    if top_p >= t.dismiss
        && matches!(top, Intent::Other | Intent::Faq)
        && d.intents.iter().any(|i| *i != Intent::Faq)
        && !moving_pair
    {
        overrule(&mut d, top);
        d.intents.retain(|i| *i == Intent::Faq);
        d.beyond_faq = true;
        o.named = true;
        o.withheld = top == Intent::Faq;
    }
    let risky_found = d.intents.iter().any(|i| i.is_risky()) || d.risk_suspected();
    if !risky_found && risk >= t.suspect {
        d.suspected.push(likeliest_risky(p));
        o.raised = true;
    }
    // A cancellation beside a reschedule may be the moving of one session
    // ("batal les kamis, ganti jumat"), which facts may lower to R2; unless
    // the classifier is sure of that, it may be the lessons themselves that
    // are cancelled ("pindah jadwal, kalau ga bisa batalin aja paketnya"),
    // and the coach decides (CONTRACT section 2: any cancellation is R3;
    // when not sure, a human).
    if d.has(Intent::Cancel)
        && d.has(Intent::Reschedule)
        && risk >= t.moving
        && !d.suspected.contains(&Intent::Cancel)
    {
        d.suspected.push(Intent::Cancel);
        o.raised = true;
    }
    if d.intents.iter().any(|i| *i != Intent::Faq) || d.risk_suspected() {
        d.beyond_faq = true;
    }
    // Both must agree that the turn is a general question: the rules (not
    // a question the classifier named) and the classifier's probability.
    if d.has(Intent::Faq) && !d.beyond_faq && (faq < t.faq || (o.named && !d.faq_by_default)) {
        o.withheld = true;
    }
    d.learned = Some(o);
    d
}

/// The classifier's reading of the parts of a turn (`parts`, the
/// probabilities of [`classifier::part_features`]) joined to `d`: when
/// nothing risky is found or suspected yet and a part reads risky at
/// `part` or more, the likeliest risky intent of that part is suspected
/// and a human gets the turn ("kak next session kapan? aku mau minta
/// duitnya diganti aja": the whole reads as a schedule question).
/// `parts` is only called when they can change `d`: nothing risky is
/// found or suspected and `part` is on.
pub fn raise_by_parts(
    d: &mut Detection,
    parts: impl FnOnce() -> Vec<Probabilities>,
    t: &Thresholds,
) {
    if t.part >= 1.0 || d.intents.iter().any(|i| i.is_risky()) || d.risk_suspected() {
        return;
    }
    let parts = parts();
    let Some(worst) = parts
        .iter()
        .max_by(|a, b| risk_of(a).total_cmp(&risk_of(b)))
    else {
        return;
    };
    if risk_of(worst) < t.part {
        return;
    }
    d.suspected.push(likeliest_risky(worst));
    d.beyond_faq = true;
    if let Some(o) = &mut d.learned {
        o.raised = true;
    }
}

/// The classifier's reading of the parts of a turn whose intents are all
/// account requests, which production answers without a person: a part
/// whose likeliest intent is another request (not a general question, not
/// `Other`, which is mostly a reason or a greeting: "macet parah di tol")
/// at `aside` or more is recorded in [`Detection::aside`], and the answers
/// wait on a person ("did my payment go through? if so please move it to
/// my friend's lessons": the payment answer would leave the move
/// unanswered). CONTRACT section 2: a turn that also asks something else
/// is tiered by that other request. A request the desk has no intent for
/// is found by the vocabulary's `[aside]` entries instead; a part that
/// reads risky at `part` is a suspicion ([`raise_by_parts`]).
/// Also settles a request the rules found aside (`[aside]` entries): kept
/// only for a turn of account intents with nothing suspected. `parts` is
/// only called when it can change `d`.
pub fn aside_of_parts(
    d: &mut Detection,
    parts: impl FnOnce() -> Vec<Probabilities>,
    t: &Thresholds,
) {
    if !d.account_only() {
        d.aside = None;
        return;
    }
    if d.aside.is_some() || t.aside >= 1.0 {
        return;
    }
    d.aside = parts()
        .iter()
        .map(classifier::best)
        .filter(|(top, p)| {
            !matches!(top, Intent::Other | Intent::Faq) && !d.has(*top) && *p >= t.aside
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(top, _)| top);
}

/// The arbiter's reading of a turn (`top` at probability `p`, from
/// [`super::arbiter::Arbiter::read`]) decides its primary intent, after
/// [`combine`] and the parts have been read, within the same safety:
///
/// - a risky intent below `establish` (and `name`) is only suspected: a
///   human reads the turn, and nothing is announced to the customer;
/// - a request becomes the primary intent; the stronger intents go, a
///   risky one kept as suspected; an account request below `name` is
///   tentative (its automatic answers wait on a person);
/// - a general question or no request drops the requests, risky ones kept
///   as suspected, and the turn goes to a person: the arbiter never makes
///   a turn answerable from an article.
///
/// It leaves alone what `combine` settled on purpose: a lone menu word
/// ("Schedule") names no account request, and a cancellation beside a
/// reschedule taken for the moving of one session ("batal les kamis,
/// ganti jumat") keeps both intents for the facts to decide.
///
/// So no turn a human would have read is answered automatically, and the
/// tier can only rise where risk is concerned (CONTRACT section 2).
pub fn arbitrate(d: &mut Detection, (top, p): (Intent, f64), t: &Thresholds) {
    // What [`combine`] settled stays: a lone menu word names no account
    // request, and a cancellation taken for the moving of one session
    // keeps both intents so the facts may lower it to R2.
    let settled = (d.topic_only && top.is_account())
        || (d.has(Intent::Cancel)
            && d.has(Intent::Reschedule)
            && !d.suspected.contains(&Intent::Cancel));
    let mut changed = top != d.primary() && !settled;
    if changed {
        if top.is_risky() && p < t.establish.max(t.name) {
            if d.suspected.contains(&top) || d.has(top) {
                changed = false;
            } else {
                d.suspected.push(top);
                d.beyond_faq = true;
            }
        } else {
            match top {
                Intent::Other | Intent::Faq => {
                    overrule(d, Intent::Other);
                    d.intents.clear();
                    if top == Intent::Faq {
                        d.intents.push(Intent::Faq);
                    }
                }
                _ => overrule(d, top),
            }
            d.beyond_faq = true;
            if let Some(o) = &mut d.learned {
                o.tentative = top.is_account() && p < t.name;
                o.withheld |= top == Intent::Faq;
            }
        }
    }
    if !d.account_only() {
        d.aside = None;
    }
    if let Some(o) = &mut d.learned {
        o.arbiter = Some((top, p));
        o.arbitrated = changed;
    }
}

/// The probability of the risky intents together.
fn risk_of(p: &Probabilities) -> f64 {
    Intent::ALL
        .iter()
        .filter(|i| i.is_risky())
        .map(|i| classifier::probability(p, *i))
        .sum()
}

/// The most probable risky intent.
fn likeliest_risky(p: &Probabilities) -> Intent {
    Intent::ALL
        .iter()
        .copied()
        .filter(|i| i.is_risky())
        .max_by(|a, b| classifier::probability(p, *a).total_cmp(&classifier::probability(p, *b)))
        .unwrap_or(Intent::Refund)
}

/// `top` becomes the primary intent of `d`: the stronger intents go, a
/// risky one kept as suspected.
fn overrule(d: &mut Detection, top: Intent) {
    let (stronger, rest): (Vec<Intent>, Vec<Intent>) = d.intents.iter().partition(|i| **i < top);
    for i in stronger {
        if i.is_risky() && !d.suspected.contains(&i) {
            d.suspected.push(i);
        }
    }
    d.intents = rest;
    if !d.has(top) {
        d.intents.push(top);
        d.intents.sort_unstable();
    }
    d.faq_by_default = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probs(pairs: &[(Intent, f64)]) -> Probabilities {
        let mut p = [0.0; classifier::CLASSES];
        let rest = 1.0 - pairs.iter().map(|x| x.1).sum::<f64>();
        let others = classifier::CLASSES - pairs.len();
        for (c, i) in Intent::ALL.iter().enumerate() {
            p[c] = pairs
                .iter()
                .find(|x| x.0 == *i)
                .map_or(rest / others as f64, |x| x.1);
        }
        p
    }

    fn rules(intents: &[Intent]) -> Detection {
        Detection {
            intents: intents.to_vec(),
            beyond_faq: intents.iter().any(|i| *i != Intent::Faq),
            ..Detection::default()
        }
    }

    const T: Thresholds = Thresholds {
        name: 0.4,
        question: 1.0,
        establish: 0.7,
        add: 0.9,
        suspect: 0.3,
        faq: 0.2,
        moving: 0.1,
        overrule: 1.0,
        dismiss: 1.0,
        part: 1.0,
        aside: 1.0,
    };

    #[test]
    fn names_an_intent_only_where_the_rules_found_none() {
        let d = combine(rules(&[]), &probs(&[(Intent::Cancel, 0.75)]), &T);
        assert_eq!(d.intents, [Intent::Cancel]);
        assert!(d.learned.unwrap().named);
        // Below the threshold nothing is named (but the risk still counts).
        let d = combine(rules(&[]), &probs(&[(Intent::NextSession, 0.35)]), &T);
        assert!(d.intents.is_empty());
        // A question the rules could not place is named too.
        let mut q = rules(&[Intent::Faq]);
        q.faq_by_default = true;
        let d = combine(q, &probs(&[(Intent::PaymentStatus, 0.5)]), &T);
        assert_eq!(d.intents, [Intent::PaymentStatus]);
        assert!(!d.may_answer_from_kb());
    }

    #[test]
    fn on_a_question_the_rules_could_not_place_the_likelier_request_is_named_at_question() {
        let t = Thresholds { question: 0.3, ..T };
        let question = || {
            let mut q = rules(&[Intent::Faq]);
            q.faq_by_default = true;
            q
        };
        // Below `name`, at `question`: named, and not answered from an
        // article.
        let d = combine(question(), &probs(&[(Intent::NextSession, 0.35)]), &t);
        assert_eq!(d.intents, [Intent::NextSession]);
        assert!(d.learned.unwrap().named);
        assert!(!d.may_answer_from_kb());
        // Below even odds (`name`, 0.4 here): a person confirms it first.
        assert!(d.tentative());
        let d = combine(question(), &probs(&[(Intent::NextSession, 0.45)]), &t);
        assert_eq!(d.intents, [Intent::NextSession]);
        assert!(!d.tentative());
        // Below `question`: still the rules' general question.
        let d = combine(question(), &probs(&[(Intent::NextSession, 0.25)]), &t);
        assert_eq!(d.intents, [Intent::Faq]);
        // Not its likeliest reading: a general question at 0.4 outweighs a
        // request at 0.35.
        let p = probs(&[(Intent::Faq, 0.4), (Intent::NextSession, 0.35)]);
        let d = combine(question(), &p, &t);
        assert_eq!(d.intents, [Intent::Faq]);
        // A general question the rules placed (a subject they know) keeps
        // `name`.
        let d = combine(
            rules(&[Intent::Faq]),
            &probs(&[(Intent::NextSession, 0.35)]),
            &t,
        );
        assert_eq!(d.intents, [Intent::Faq]);
        // Nor does it change a turn with no question at all.
        let d = combine(rules(&[]), &probs(&[(Intent::NextSession, 0.35)]), &t);
        assert!(d.intents.is_empty());
        // A risky request below `establish` is not named (that would be
        // announced to the customer) but suspected: the coach reads it.
        let d = combine(question(), &probs(&[(Intent::Refund, 0.4)]), &t);
        assert_eq!(d.intents, [Intent::Faq]);
        assert_eq!(d.suspected, [Intent::Refund]);
        assert!(!d.may_answer_from_kb());
    }

    #[test]
    fn a_lone_topic_word_is_not_named_an_account_request_but_a_risky_one_is() {
        // "Payment", "jadwal?": a menu word; a person reads it.
        let mut word = rules(&[]);
        word.topic_only = true;
        for account in [
            Intent::PaymentStatus,
            Intent::NextSession,
            Intent::InvoiceResend,
        ] {
            let d = combine(word.clone(), &probs(&[(account, 0.97)]), &T);
            assert!(d.intents.is_empty(), "{account:?}");
        }
        // "cancelll": a risky word alone still reaches the coach.
        let d = combine(word, &probs(&[(Intent::Cancel, 0.9)]), &T);
        assert_eq!(d.intents, [Intent::Cancel]);
    }

    #[test]
    fn a_risky_part_of_a_turn_raises_a_suspicion_once() {
        let t = Thresholds { part: 0.7, ..T };
        let parts = [
            probs(&[(Intent::NextSession, 0.9)]),
            probs(&[(Intent::Harassment, 0.6), (Intent::Refund, 0.2)]),
        ];
        let mut d = rules(&[Intent::NextSession]);
        raise_by_parts(&mut d, || parts.to_vec(), &t);
        assert_eq!(d.suspected, [Intent::Harassment]);
        assert!(!d.may_answer_from_kb());
        // Below the threshold, or off, or when the turn is already risky:
        // nothing changes.
        let mut d = rules(&[Intent::NextSession]);
        raise_by_parts(&mut d, || parts[..1].to_vec(), &t);
        assert!(d.suspected.is_empty());
        let mut d = rules(&[Intent::NextSession]);
        raise_by_parts(&mut d, || parts.to_vec(), &T);
        assert!(d.suspected.is_empty(), "part 1.0 is off");
        let mut d = rules(&[Intent::Cancel, Intent::NextSession]);
        raise_by_parts(&mut d, || parts.to_vec(), &t);
        assert!(d.suspected.is_empty());
    }

    #[test]
    fn a_part_read_as_another_request_holds_the_account_answers() {
        let t = Thresholds { aside: 0.5, ..T };
        // "did my payment go through? if so please move it to my
        // friend's lessons": the second part reads as a reschedule.
        let parts = [
            probs(&[(Intent::PaymentStatus, 0.9)]),
            probs(&[(Intent::Reschedule, 0.55)]),
        ];
        let mut d = rules(&[Intent::PaymentStatus]);
        aside_of_parts(&mut d, || parts.to_vec(), &t);
        assert_eq!(d.aside, Some(Intent::Reschedule));
        // A part read as no request (a reason: "macet parah di tol") or as
        // a general question holds nothing; nor does one of the turn's own
        // intents, or one below the threshold.
        for part in [
            probs(&[(Intent::Other, 0.9)]),
            probs(&[(Intent::Faq, 0.9)]),
            probs(&[(Intent::PaymentStatus, 0.9)]),
            probs(&[(Intent::Reschedule, 0.45)]),
        ] {
            let mut d = rules(&[Intent::PaymentStatus]);
            aside_of_parts(&mut d, || vec![part], &t);
            assert_eq!(d.aside, None);
        }
        // Only a turn of account intents, with nothing suspected, is
        // answered without a person: only it is held.
        let mut d = rules(&[Intent::Refund, Intent::PaymentStatus]);
        aside_of_parts(&mut d, || parts.to_vec(), &t);
        assert_eq!(d.aside, None);
        let mut d = rules(&[Intent::PaymentStatus]);
        d.suspected.push(Intent::Cancel);
        aside_of_parts(&mut d, || parts.to_vec(), &t);
        assert_eq!(d.aside, None);
    }

    #[test]
    fn never_removes_what_the_rules_found() {
        for found in [Intent::Refund, Intent::Reschedule, Intent::NextSession] {
            let d = combine(rules(&[found]), &probs(&[(Intent::Other, 0.99)]), &T);
            assert_eq!(d.intents, [found]);
        }
        // A confident risky view is added beside an account intent, never
        // instead of it.
        let d = combine(
            rules(&[Intent::NextSession]),
            &probs(&[(Intent::Cancel, 0.8)]),
            &T,
        );
        assert_eq!(d.intents, [Intent::Cancel, Intent::NextSession]);
        assert_eq!(d.primary(), Intent::Cancel);
    }

    #[test]
    fn a_sure_classifier_overrules_the_rules_but_a_risky_reading_stays_suspected() {
        let t = Thresholds { overrule: 0.7, ..T };
        // "Receipt please, I need it for my report to the office": the
        // rules read "report" as a complaint to the authorities.
        let d = combine(
            rules(&[Intent::LegalThreat]),
            &probs(&[(Intent::InvoiceResend, 0.85)]),
            &t,
        );
        assert_eq!(d.primary(), Intent::InvoiceResend);
        assert_eq!(d.suspected, [Intent::LegalThreat]);
        assert!(d.risk_suspected() && !d.may_answer_from_kb());
        // Between account intents the stronger reading simply goes.
        let d = combine(
            rules(&[Intent::InvoiceResend]),
            &probs(&[(Intent::PaymentStatus, 0.9)]),
            &t,
        );
        assert_eq!(d.intents, [Intent::PaymentStatus]);
        assert!(d.suspected.is_empty());
        // A cancellation beside a reschedule is left to the moving rule.
        let d = combine(
            rules(&[Intent::Cancel, Intent::Reschedule]),
            &probs(&[(Intent::Reschedule, 0.95)]),
            &t,
        );
        assert_eq!(d.intents, [Intent::Cancel, Intent::Reschedule]);
        assert!(d.suspected.is_empty());
        // Weaker intents the rules found stay beside it.
        let d = combine(
            rules(&[Intent::Refund, Intent::NextSession]),
            &probs(&[(Intent::Cancel, 0.8)]),
            &t,
        );
        assert_eq!(d.intents, [Intent::Cancel, Intent::NextSession]);
        assert_eq!(d.suspected, [Intent::Refund]);
        // Never in favour of a general question or of no request, and not
        // below the threshold.
        for (view, p) in [
            (Intent::Faq, 0.99),
            (Intent::Other, 0.99),
            (Intent::PaymentStatus, 0.65),
        ] {
            let d = combine(rules(&[Intent::Refund]), &probs(&[(view, p)]), &t);
            assert_eq!(d.intents, [Intent::Refund], "{view:?} {p}");
        }
        // Off at 1 (the default of `T`).
        let d = combine(
            rules(&[Intent::InvoiceResend]),
            &probs(&[(Intent::PaymentStatus, 0.99)]),
            &T,
        );
        assert_eq!(d.primary(), Intent::InvoiceResend);
    }

    #[test]
    fn a_sure_reading_of_a_general_question_sends_a_request_to_a_person() {
        let t = Thresholds { dismiss: 0.7, ..T };
        // "How many times can I reschedule per month?": asked about, not
        // made; a person answers, never an article.
        let d = combine(
            rules(&[Intent::Reschedule]),
            &probs(&[(Intent::Faq, 0.95)]),
            &t,
        );
        assert_eq!(d.intents, [Intent::Faq]);
        assert!(!d.may_answer_from_kb());
        assert!(d.learned.unwrap().withheld);
        // Read as no request at all: nothing is left (the operator).
        let d = combine(
            rules(&[Intent::NextSession]),
            &probs(&[(Intent::Other, 0.9)]),
            &t,
        );
        assert!(d.intents.is_empty());
        // A risky request the rules found stays suspected: the coach.
        let d = combine(rules(&[Intent::Refund]), &probs(&[(Intent::Faq, 0.9)]), &t);
        assert_eq!(d.suspected, [Intent::Refund]);
        assert!(d.risk_suspected() && !d.may_answer_from_kb());
        // Below the threshold, or off at 1, the rules' reading stands.
        for t in [t, T] {
            let d = combine(
                rules(&[Intent::Reschedule]),
                &probs(&[(Intent::Faq, 0.65)]),
                &t,
            );
            assert_eq!(d.intents, [Intent::Reschedule]);
        }
    }

    #[test]
    fn a_cancellation_beside_a_reschedule_stays_with_the_coach_when_the_turn_reads_risky() {
        let both = || rules(&[Intent::Cancel, Intent::Reschedule]);
        // Moving one session: the classifier sees a reschedule.
        let d = combine(both(), &probs(&[(Intent::Reschedule, 0.9)]), &T);
        assert!(!d.risk_suspected());
        // Read mostly as a reschedule, yet with some risk: the coach decides.
        let d = combine(
            both(),
            &probs(&[(Intent::Reschedule, 0.6), (Intent::Cancel, 0.2)]),
            &T,
        );
        assert_eq!(d.suspected, [Intent::Cancel]);
        // Cancelling the lessons: the cancellation is kept from being lowered.
        let d = combine(both(), &probs(&[(Intent::Cancel, 0.6)]), &T);
        assert_eq!(d.suspected, [Intent::Cancel]);
        assert!(d.learned.unwrap().raised);
        // A cancellation alone is left to the tier table (not lowerable by a reschedule).
        let d = combine(
            rules(&[Intent::Cancel]),
            &probs(&[(Intent::Cancel, 0.9)]),
            &T,
        );
        assert!(!d.risk_suspected());
    }

    #[test]
    fn risky_mass_makes_the_likeliest_risky_intent_suspected() {
        let d = combine(
            rules(&[Intent::Faq]),
            &probs(&[
                (Intent::Faq, 0.5),
                (Intent::Refund, 0.2),
                (Intent::Cancel, 0.15),
            ]),
            &T,
        );
        assert_eq!(d.suspected, [Intent::Refund]);
        assert!(d.learned.unwrap().raised);
        assert!(!d.may_answer_from_kb());
        // Below the mass: nothing suspected, and the question may be
        // answered.
        let d = combine(
            rules(&[Intent::Faq]),
            &probs(&[(Intent::Faq, 0.8), (Intent::Refund, 0.05)]),
            &T,
        );
        assert!(d.suspected.is_empty());
        assert!(d.may_answer_from_kb());
    }

    #[test]
    fn a_general_question_needs_both_to_agree() {
        // The classifier doubts it is a general question.
        let d = combine(
            rules(&[Intent::Faq]),
            &probs(&[(Intent::PaymentStatus, 0.5), (Intent::Faq, 0.1)]),
            &T,
        );
        assert_eq!(d.intents, [Intent::Faq]);
        assert!(!d.may_answer_from_kb());
        assert!(d.learned.unwrap().withheld);
        // It reads no request at all: the question goes to the operator.
        let d = combine(
            rules(&[Intent::Faq]),
            &probs(&[(Intent::Other, 0.85), (Intent::Faq, 0.1)]),
            &T,
        );
        assert!(d.intents.is_empty());
        assert!(!d.may_answer_from_kb());
        // The classifier alone calls it a general question: not answered.
        let d = combine(rules(&[]), &probs(&[(Intent::Faq, 0.9)]), &T);
        assert_eq!(d.intents, [Intent::Faq]);
        assert!(!d.may_answer_from_kb());
    }

    #[test]
    fn a_suspicion_the_rules_raised_is_kept() {
        let mut d = rules(&[Intent::Faq]);
        d.suspected = vec![Intent::Cancel];
        d.beyond_faq = true;
        let d = combine(d, &probs(&[(Intent::Faq, 0.95)]), &T);
        assert_eq!(d.suspected, [Intent::Cancel]);
        assert!(!d.may_answer_from_kb());
    }

    /// A joined detection that a general question answers from an article.
    fn answerable() -> Detection {
        combine(rules(&[Intent::Faq]), &probs(&[(Intent::Faq, 0.9)]), &T)
    }

    #[test]
    fn the_arbiter_names_a_risky_intent_only_at_establish() {
        let mut d = combine(rules(&[]), &probs(&[(Intent::Other, 0.9)]), &T);
        arbitrate(&mut d, (Intent::Refund, 0.6), &T);
        assert!(d.intents.is_empty(), "below establish: not announced");
        assert_eq!(d.suspected, [Intent::Refund], "but a human reads it");
        assert!(d.learned.unwrap().arbitrated);
        let mut d = combine(rules(&[]), &probs(&[(Intent::Other, 0.9)]), &T);
        arbitrate(&mut d, (Intent::Refund, 0.7), &T);
        assert_eq!(d.intents, [Intent::Refund]);
        assert_eq!(d.learned.unwrap().arbiter, Some((Intent::Refund, 0.7)));
    }

    #[test]
    fn a_risky_intent_the_arbiter_drops_stays_suspected() {
        // "batal les kamis, ganti jumat": the moving of one session.
        let mut d = combine(
            rules(&[Intent::Cancel, Intent::Reschedule]),
            &probs(&[(Intent::Reschedule, 0.6)]),
            &T,
        );
        arbitrate(&mut d, (Intent::Reschedule, 0.9), &T);
        assert_eq!(d.primary(), Intent::Reschedule);
        assert!(
            d.suspected.contains(&Intent::Cancel),
            "the coach still decides"
        );
        assert!(!d.account_only(), "production answers nothing on its own");
        // No request at all, or a general question: the same, and no
        // article answers the turn.
        for top in [Intent::Other, Intent::Faq] {
            let mut d = combine(rules(&[Intent::Refund]), &probs(&[(top, 0.5)]), &T);
            arbitrate(&mut d, (top, 0.95), &T);
            assert_eq!(d.primary(), top);
            assert_eq!(d.suspected, [Intent::Refund], "{top:?}");
            assert!(!d.may_answer_from_kb(), "{top:?}");
        }
    }

    #[test]
    fn the_arbiter_never_makes_a_turn_answerable() {
        // The rules found no subject, the arbiter reads a general question.
        let mut d = combine(rules(&[]), &probs(&[(Intent::Other, 0.6)]), &T);
        arbitrate(&mut d, (Intent::Faq, 0.99), &T);
        assert_eq!(d.intents, [Intent::Faq]);
        assert!(!d.may_answer_from_kb());
        // A general question the rules and the classifier agree on, which
        // the arbiter reads as an account request: answered by neither.
        let mut d = answerable();
        assert!(d.may_answer_from_kb());
        arbitrate(&mut d, (Intent::NextSession, 0.8), &T);
        assert_eq!(d.primary(), Intent::NextSession);
        assert!(!d.may_answer_from_kb());
        // It agrees: nothing changes.
        let mut d = answerable();
        arbitrate(&mut d, (Intent::Faq, 0.8), &T);
        assert!(d.may_answer_from_kb());
        assert!(!d.learned.unwrap().arbitrated);
    }

    #[test]
    fn the_arbiter_leaves_what_combine_settled() {
        let mut menu = rules(&[]);
        menu.topic_only = true;
        let mut d = combine(menu, &probs(&[(Intent::NextSession, 0.45)]), &T);
        arbitrate(&mut d, (Intent::NextSession, 0.9), &T);
        assert!(d.intents.is_empty(), "a lone menu word asks nothing");
        assert!(!d.learned.unwrap().arbitrated);
        let mut d = combine(
            rules(&[Intent::Cancel, Intent::Reschedule]),
            &probs(&[(Intent::Reschedule, 0.9)]),
            &T,
        );
        assert!(
            d.suspected.is_empty(),
            "taken for the moving of one session"
        );
        arbitrate(&mut d, (Intent::Reschedule, 0.95), &T);
        assert_eq!(d.intents, [Intent::Cancel, Intent::Reschedule]);
        assert!(d.suspected.is_empty());
    }

    #[test]
    fn an_account_request_the_arbiter_names_below_name_is_tentative() {
        let mut d = combine(rules(&[Intent::Faq]), &probs(&[(Intent::Faq, 0.5)]), &T);
        arbitrate(&mut d, (Intent::NextSession, 0.35), &T);
        assert_eq!(d.primary(), Intent::NextSession);
        assert!(d.tentative(), "below name (0.4): a person confirms");
        let mut d = combine(rules(&[Intent::Faq]), &probs(&[(Intent::Faq, 0.5)]), &T);
        arbitrate(&mut d, (Intent::NextSession, 0.45), &T);
        assert!(!d.tentative());
        assert!(d.account_only());
    }
}
