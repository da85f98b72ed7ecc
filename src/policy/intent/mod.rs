//! Intent detection in English and Bahasa Indonesia as customers write on
//! WhatsApp: informal spelling, slang and abbreviations, Indonesian
//! affixes, English–Indonesian mixing, typos, repeated letters, negated and
//! quoted mentions, instruction-like text (CONTRACT section 2, "Trigger
//! words"). Deterministic and pure.
//!
//! # Layout
//! - [`normalize`]: Unicode NFKC, case, accents, zero-width characters,
//!   emoji, punctuation, repeated letters, quotes and clauses;
//! - [`morphology`]: candidate stems of a word. Formal Indonesian goes
//!   through the Nazief–Adriani stemmer with Enhanced Confix Stripping
//!   (crate `sastrawi-rs`); informal Jakarta affixes (`-in`, `nge-`,
//!   nasal `m-`/`n-`/`ng-`/`ny-`), particles and English inflection are
//!   added here;
//! - [`vocabulary`]: the business's words per intent, slang, negation,
//!   injection patterns, KB synonyms: data in `config/intents.toml`, checked
//!   at start, built in as the default;
//! - [`matching`]: message words against vocabulary words (exact, stem,
//!   fuzzy), entries (words, phrases, `near` groups), negation, quotes;
//! - [`eval`]: scoring on labelled corpora (`caseflow intents eval`).
//!
//! # What a detection says
//! [`Detection::intents`] are what the customer asks for, strongest first
//! (a risky intent established by a word, its affixed form, or a probable
//! typo of it). [`Detection::suspected`] lists risky intents (legal threat,
//! harassment, privacy, refund, cancel) that rest only on weak evidence: a
//! typo-distance match, a negated mention ("I don't want a refund"), a
//! quoted one ("the app says \"cancelled\""), or a hint word. **A turn with
//! a suspected risky intent goes to a human and is never answered
//! automatically** ([`Detection::risk_suspected`]). A general question is
//! answered from the knowledge base only when nothing else is in the turn
//! ([`Detection::may_answer_from_kb`]); whether an article covers it is
//! `policy::kb`'s decision.

use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

pub mod arbiter;
pub mod classifier;
pub mod combine;
pub mod crossval;
pub mod eval;
pub mod matching;
pub mod morphology;
pub mod normalize;
pub mod vocabulary;

pub use arbiter::{Arbiter, ArbiterError};
pub use classifier::{Classifier, ExamplesError};
pub use combine::{Opinion, Thresholds, arbitrate, aside_of_parts, combine, raise_by_parts};
pub use normalize::normalize;
pub use vocabulary::VocabularyError;

use matching::{Analysis, How};
use vocabulary::{Role, Vocabulary, When};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Intent {
    LegalThreat,
    Harassment,
    Privacy,
    Refund,
    Cancel,
    Reschedule,
    InvoiceResend,
    PaymentStatus,
    NextSession,
    Faq,
    Other,
}

impl Intent {
    pub const ALL: [Intent; 11] = [
        Intent::LegalThreat,
        Intent::Harassment,
        Intent::Privacy,
        Intent::Refund,
        Intent::Cancel,
        Intent::Reschedule,
        Intent::InvoiceResend,
        Intent::PaymentStatus,
        Intent::NextSession,
        Intent::Faq,
        Intent::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::LegalThreat => "legal_threat",
            Intent::Harassment => "harassment",
            Intent::Privacy => "privacy",
            Intent::Refund => "refund",
            Intent::Cancel => "cancel",
            Intent::Reschedule => "reschedule",
            Intent::InvoiceResend => "invoice_resend",
            Intent::PaymentStatus => "payment_status",
            Intent::NextSession => "next_session",
            Intent::Faq => "faq",
            Intent::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// Intents that need the student's records (and so identity).
    pub fn is_account(self) -> bool {
        matches!(
            self,
            Intent::Reschedule
                | Intent::InvoiceResend
                | Intent::PaymentStatus
                | Intent::NextSession
        )
    }

    /// Intents that are always R3 when asked for (CONTRACT section 2).
    pub fn is_risky(self) -> bool {
        eval::RISKY.contains(&self)
    }
}

/// What detection found in a text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    /// Intents found, strongest (highest risk) first; empty means none.
    pub intents: Vec<Intent>,
    /// Vocabulary entries of risky intents found, as the vocabulary writes
    /// them ("refund", "uang kembali", "delete my data"), also when only
    /// suspected: the case is tagged `trigger:<entry>`.
    pub triggers: Vec<String>,
    /// The text tries to instruct the engine ("ignore previous instructions").
    pub injection: bool,
    /// Risky intents (legal threat, harassment, privacy, refund, cancel)
    /// resting only on weak evidence: a typo-distance match, a negated or
    /// quoted mention, a hint word. Any entry means a human gets the turn.
    pub suspected: Vec<Intent>,
    /// The turn carries something besides general questions, greetings and
    /// thanks (an account or risky intent, a suspicion, instruction-like
    /// text): then no article can answer it fully.
    pub beyond_faq: bool,
    /// The rules found no intent and called the turn a general question
    /// only because it asks something.
    pub faq_by_default: bool,
    /// The turn is a single word of content and nothing else, a menu word
    /// or a topic ("Payment", "jadwal?"): it names a subject but asks
    /// nothing the desk could act on, so a person reads it.
    pub topic_only: bool,
    /// A part of the turn reads as a request its account intents do not
    /// cover (that part's likeliest intent; `Other` for one the desk cannot
    /// place): the account answers wait on a person.
    pub aside: Option<Intent>,
    /// The classifier's view, when one is trained.
    pub learned: Option<Opinion>,
}

impl Detection {
    /// The strongest intent, `Other` when none was found.
    pub fn primary(&self) -> Intent {
        self.intents.first().copied().unwrap_or(Intent::Other)
    }

    pub fn has(&self, intent: Intent) -> bool {
        self.intents.contains(&intent)
    }

    /// The classifier named the turn's intent below even odds
    /// ([`Opinion::tentative`]): its automatic answers wait on a person.
    pub fn tentative(&self) -> bool {
        self.learned.is_some_and(|o| o.tentative)
    }

    /// A risky intent may be present though it was not established: the
    /// turn must go to a human and never be answered automatically.
    pub fn risk_suspected(&self) -> bool {
        !self.suspected.is_empty()
    }

    /// All the intents found are account requests and nothing risky is
    /// suspected: production may answer the turn without a person.
    pub fn account_only(&self) -> bool {
        self.intents.iter().any(|i| i.is_account())
            && self
                .intents
                .iter()
                .all(|i| i.is_account() || *i == Intent::Faq)
            && !self.risk_suspected()
    }

    /// Whether a published article may answer this turn at all (R0): a
    /// general question and nothing else, nothing suspected, no
    /// instruction-like text.
    pub fn may_answer_from_kb(&self) -> bool {
        self.has(Intent::Faq)
            && !self.beyond_faq
            && !self.risk_suspected()
            && !self.injection
            && !self.learned.is_some_and(|o| o.withheld)
    }
}

/// Intent detection over a checked vocabulary. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Detector {
    vocabulary: Arc<Vocabulary>,
    /// The statistical second opinion, unless `[classifier] enabled =
    /// false`.
    classifier: Option<Classifier>,
    /// The vocabulary file's text, which the arbiter's fingerprint covers.
    vocabulary_source: Arc<str>,
    /// [`arbiter::fingerprint`] of the vocabulary and the examples the
    /// classifier was trained on.
    fingerprint: String,
    /// The arbiter, when the classifier is on and an arbiter trained with
    /// this vocabulary and these examples is at hand.
    arbiter: Option<Arbiter>,
    /// Knowledge-base terms of texts seen before (article questions and
    /// bodies repeat on every turn): a memo, so the result is the same as
    /// computing them again.
    kb_memo: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Vec<String>>>>>,
}

/// Most texts the knowledge-base memo keeps before it starts afresh.
const KB_MEMO_LIMIT: usize = 4096;

/// The built-in arbiter (`config/intent-arbiter.toml`).
fn shipped_arbiter() -> Arbiter {
    static ARBITER: LazyLock<Arbiter> = LazyLock::new(|| {
        Arbiter::parse(arbiter::EMBEDDED, "config/intent-arbiter.toml (built in)")
            .expect("the shipped arbiter is valid")
    });
    ARBITER.clone()
}

static SHIPPED: LazyLock<Detector> = LazyLock::new(|| {
    Detector::parse(vocabulary::EMBEDDED, "config/intents.toml (built in)")
        .expect("the shipped vocabulary is valid")
});

/// One matched vocabulary entry, for `caseflow intents explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// `intent:<name>`, `hint:<name>`, `injection` or `negation-after`.
    pub role: String,
    pub entry: String,
    /// The message words it matched.
    pub words: String,
    pub how: How,
    pub negated: bool,
    pub quoted: bool,
}

/// Why a text was classified as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The message words after clean-up and slang (`surface->word` where
    /// slang changed it).
    pub tokens: Vec<String>,
    /// Per content word: its formal stem and the vocabulary words it
    /// matched, with how.
    pub stems: Vec<String>,
    pub evidence: Vec<Evidence>,
    /// The classifier's features that speak most for its intent.
    pub learned_from: Vec<String>,
    pub detection: Detection,
}

impl Detector {
    /// The vocabulary built into the binary (`config/intents.toml`).
    pub fn shipped() -> Detector {
        SHIPPED.clone()
    }

    /// A detector over a vocabulary file's text (`file` names it in
    /// errors), with the classifier trained on the built-in examples
    /// (`config/intent-examples.tsv`) unless the vocabulary turns it off.
    pub fn parse(source: &str, file: &str) -> Result<Detector, VocabularyError> {
        let vocabulary = Vocabulary::parse(source, file)?;
        let classifier = vocabulary.classifier.enabled.then(|| {
            Classifier::train(
                &vocabulary,
                classifier::EMBEDDED_EXAMPLES,
                "config/intent-examples.tsv (built in)",
            )
            .expect("the built-in examples cover every intent")
        });
        let mut d = Detector {
            vocabulary: Arc::new(vocabulary),
            classifier,
            vocabulary_source: Arc::from(source),
            fingerprint: arbiter::fingerprint(source, classifier::EMBEDDED_EXAMPLES),
            arbiter: None,
            kb_memo: Arc::default(),
        };
        d.settle_arbiter(shipped_arbiter());
        Ok(d)
    }

    /// Uses `candidate` when the classifier is on and it was trained with
    /// this vocabulary and these examples; otherwise no arbiter.
    fn settle_arbiter(&mut self, candidate: Arbiter) {
        self.arbiter = (self.classifier.is_some() && candidate.fingerprint() == self.fingerprint)
            .then_some(candidate);
    }

    /// The same detector with the arbiter of an arbiter file's text
    /// (`file` names it in errors; [`Arbiter::parse`]).
    ///
    /// Errors: the file cannot be read as an arbiter, or it was trained
    /// with another vocabulary or other examples (its fingerprint differs).
    pub fn with_arbiter(&self, source: &str, file: &str) -> Result<Detector, ArbiterError> {
        let a = Arbiter::parse(source, file)?;
        if a.fingerprint() != self.fingerprint {
            return Err(ArbiterError::Unreadable {
                file: file.to_string(),
                problem: format!(
                    "trained with another vocabulary or other examples (fingerprint {}, these \
                     are {}): write it again with `caseflow intents arbiter --write {file}`",
                    a.fingerprint(),
                    self.fingerprint
                ),
            });
        }
        let mut d = self.clone();
        d.settle_arbiter(a);
        Ok(d)
    }

    /// The arbiter in use ([`arbiter`]), if any.
    pub fn arbiter(&self) -> Option<&Arbiter> {
        self.arbiter.as_ref()
    }

    /// [`arbiter::fingerprint`] of this vocabulary and the classifier's
    /// examples: an arbiter is used only with its own.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Why the built-in arbiter is not in use, when the classifier is on
    /// but the vocabulary or the examples are not those it was trained
    /// with (the desk logs it at start).
    pub fn arbiter_missing(&self) -> Option<String> {
        (self.classifier.is_some() && self.arbiter.is_none()).then(|| {
            "the intent arbiter was trained with another vocabulary or other examples, so \
             the rules and the classifier are joined by thresholds alone; write one for \
             these with `caseflow intents arbiter --write FILE` and name it in \
             `[policy] intent_arbiter`"
                .to_string()
        })
    }

    /// The same vocabulary with the classifier trained on other examples
    /// (the corpus format of [`eval::parse_corpus`]); `file` names them in
    /// errors. Off when the vocabulary turns the classifier off.
    pub fn with_examples(&self, source: &str, file: &str) -> Result<Detector, ExamplesError> {
        let mut d = self.clone();
        if self.vocabulary.classifier.enabled {
            d.classifier = Some(Classifier::train(&self.vocabulary, source, file)?);
        }
        d.fingerprint = arbiter::fingerprint(&self.vocabulary_source, source);
        d.settle_arbiter(shipped_arbiter());
        Ok(d)
    }

    /// The same vocabulary with this classifier (`None`: the rules alone).
    /// The arbiter goes with the classifier it was trained for.
    pub fn with_classifier(&self, classifier: Option<Classifier>) -> Detector {
        Detector {
            arbiter: None,
            classifier,
            ..self.clone()
        }
    }

    pub fn classifier(&self) -> Option<&Classifier> {
        self.classifier.as_ref()
    }

    /// When the classifier's view changes a detection (`[classifier]`).
    pub fn thresholds(&self) -> &Thresholds {
        &self.vocabulary.classifier.thresholds
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// Detects intents, suspicions, trigger words and injection in `text`:
    /// the rules, then the classifier's view joined by [`combine`].
    pub fn detect(&self, text: &str) -> Detection {
        let analysis = matching::analyse(&self.vocabulary, text);
        let rules = self.decide(&analysis);
        let mut d = match &self.classifier {
            Some(c) => self.joined(c, &analysis.tokens, rules),
            None => rules,
        };
        // A request beside others matters only where production would
        // answer them without a person.
        if !d.account_only() {
            d.aside = None;
        }
        d
    }

    /// The rules' detection joined with the classifier's reading of the
    /// whole turn and of its parts.
    fn joined(&self, c: &Classifier, tokens: &[matching::Token], rules: Detection) -> Detection {
        let p = c.probabilities(&classifier::features(&self.vocabulary, tokens));
        let t = self.thresholds();
        let x = self.arbiter.as_ref().map(|_| arbiter::inputs(&rules, &p));
        let mut d = combine(rules, &p, t);
        let parts = std::cell::OnceCell::new();
        let read = || -> &Vec<classifier::Probabilities> {
            parts.get_or_init(|| {
                classifier::part_features(&self.vocabulary, tokens)
                    .iter()
                    .map(|f| c.probabilities(f))
                    .collect()
            })
        };
        raise_by_parts(&mut d, || read().clone(), t);
        aside_of_parts(&mut d, || read().clone(), t);
        if let (Some(a), Some(x)) = (&self.arbiter, x) {
            arbitrate(&mut d, a.read(&x), t);
        }
        d
    }

    /// The rules' detection alone and the classifier's features of `text`
    /// (for cross-validation).
    pub fn rules_and_features(
        &self,
        text: &str,
    ) -> (
        Detection,
        caseflow_textcat::Features,
        Vec<caseflow_textcat::Features>,
    ) {
        let analysis = matching::analyse(&self.vocabulary, text);
        (
            self.decide(&analysis),
            classifier::features(&self.vocabulary, &analysis.tokens),
            classifier::part_features(&self.vocabulary, &analysis.tokens),
        )
    }

    /// [`Detector::detect`] with the words, stems and entries behind it.
    pub fn explain(&self, text: &str) -> Explanation {
        let v = &*self.vocabulary;
        let a = matching::analyse(v, text);
        let tokens = a
            .tokens
            .iter()
            .map(|t| {
                if t.surface == t.word {
                    t.word.clone()
                } else {
                    format!("{}->{}", t.surface, t.word)
                }
            })
            .collect();
        let stems = a
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| matching::is_content(v, &t.word))
            .map(|(i, t)| {
                let matched: Vec<String> = a
                    .hits
                    .iter()
                    .filter(|h| h.token == i)
                    .map(|h| format!("{} ({})", v.word(h.word), h.how.as_str()))
                    .collect();
                format!(
                    "{} -> stem {}{}{}",
                    t.word,
                    morphology::formal_stem(&t.word),
                    if matched.is_empty() { "" } else { "; matches " },
                    matched.join(", ")
                )
            })
            .collect();
        let evidence = a
            .found
            .iter()
            .map(|f| {
                let e = &v.entries[f.entry as usize];
                Evidence {
                    role: match e.role {
                        Role::Intent(i) => format!("intent:{}", i.as_str()),
                        Role::Hint(i) => format!("hint:{}", i.as_str()),
                        Role::Injection => "injection".into(),
                        Role::Aside => "aside".into(),
                        Role::NegationAfter => "negation-after".into(),
                    },
                    entry: e.text.clone(),
                    words: a.tokens[f.start..=f.end]
                        .iter()
                        .map(|t| t.word.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    how: f.how,
                    negated: f.negated,
                    quoted: f.quoted || f.mentioned,
                }
            })
            .collect();
        let rules = self.decide(&a);
        let (detection, learned_from) = match &self.classifier {
            Some(c) => {
                let d = self.joined(c, &a.tokens, rules);
                let top = d.learned.map_or(Intent::Other, |o| o.intent);
                (d, c.reasons(v, &a.tokens, top, 6))
            }
            None => (rules, Vec::new()),
        };
        Explanation {
            tokens,
            stems,
            evidence,
            learned_from,
            detection,
        }
    }

    /// The content words of `text` reduced to roots for knowledge-base
    /// matching: slang resolved, courtesy and filler words dropped (question
    /// words kept), stems taken, synonyms joined (`[kb] synonyms`). Sorted,
    /// without duplicates.
    pub fn kb_terms(&self, text: &str) -> Vec<String> {
        let v = &*self.vocabulary;
        let mut terms: Vec<String> = matching::tokens(v, text)
            .into_iter()
            .filter(|t| matching::is_content(v, &t.word))
            .map(|t| self.kb_root(t.alt.as_deref().filter(|a| v.knows(a)).unwrap_or(&t.word)))
            .collect();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// Whether a knowledge-base term is a question word ("berapa", or a
    /// synonym group headed by one).
    pub fn is_question_word(&self, term: &str) -> bool {
        self.vocabulary.question.contains(term)
    }

    /// Whether an article may cover a question without containing this
    /// knowledge-base term (`[kb] implied`: "les", "studio", "offer").
    pub fn kb_implied(&self, term: &str) -> bool {
        self.kb_terms_memo(&self.vocabulary.kb_implied)
            .binary_search_by(|t| t.as_str().cmp(term))
            .is_ok()
    }

    /// [`Detector::kb_terms`] of a text that recurs (an article's
    /// question, title or body), remembered across turns.
    pub fn kb_terms_memo(&self, text: &str) -> Arc<Vec<String>> {
        // A poisoned memo is only a cache: use it as it is.
        let lock = || self.kb_memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = lock().get(text) {
            return t.clone();
        }
        let terms = Arc::new(self.kb_terms(text));
        let mut memo = lock();
        if memo.len() >= KB_MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(text.to_string(), terms.clone());
        terms
    }

    fn kb_root(&self, word: &str) -> String {
        let syn = &self.vocabulary.synonyms;
        if let Some(head) = syn.get(word) {
            return head.clone();
        }
        let stem = morphology::formal_stem(word);
        if let Some(head) = syn.get(&stem) {
            return head.clone();
        }
        let base = morphology::english_base(word);
        if let Some(head) = syn.get(base) {
            return head.clone();
        }
        if stem != word { stem } else { base.to_string() }
    }

    fn decide(&self, a: &Analysis) -> Detection {
        let v = &*self.vocabulary;
        let mut intents: Vec<Intent> = Vec::new();
        let mut faq_by_default = false;
        let mut weak: Vec<Intent> = Vec::new();
        let mut strong: Vec<Intent> = Vec::new();
        let mut triggers: Vec<String> = Vec::new();
        let mut injection = false;
        let mut aside = false;
        // Message words a phrase or `near` group of some intent claims: a
        // single word of another intent on them is read as part of that
        // phrase ("invoice for *reimbursement*" is not a refund request).
        let claimed: Vec<(usize, Intent)> = a
            .found
            .iter()
            .filter(|f| f.at.len() > 1 && !f.negated && !f.quoted)
            .filter_map(|f| match v.entries[f.entry as usize].role {
                Role::Intent(i) => Some(f.at.iter().map(move |&t| (t, i))),
                _ => None,
            })
            .flatten()
            .collect();
        let mut alone: Vec<Intent> = Vec::new();
        if a.marked {
            injection = true;
        }
        for f in &a.found {
            let e = &v.entries[f.entry as usize];
            if e.when == When::Asked && !a.asks {
                continue;
            }
            match e.role {
                Role::Injection => injection = true,
                // "bukan mau komplain", "ganti coach?" asked about in
                // quotes: no request.
                Role::Aside => aside |= !f.negated && !f.quoted,
                Role::NegationAfter => {}
                Role::Hint(i) => {
                    weak.push(i);
                    push_unique(&mut triggers, &e.text);
                }
                Role::Intent(i) if e.when == When::Alone => {
                    if !f.negated || v.unnegatable.contains(&i) {
                        alone.push(i);
                    }
                }
                Role::Intent(i) => {
                    let claimed_by_other =
                        f.at.len() == 1 && claimed.iter().any(|&(t, j)| t == f.start && j != i);
                    let negated = f.negated && !v.unnegatable.contains(&i);
                    // Quoting a word takes back only a risky request ("the
                    // app says 'payment failed'" is still a payment
                    // question); talking about a policy ("aturan
                    // reschedule") also takes back a reschedule.
                    // A report of abuse is told in reported speech ("my
                    // son said the coach hugged him"): saying does not
                    // take it back. A supposed request in a question
                    // ("kalau sakit, uangnya bisa kembali?") is asked
                    // about: a risky one stays suspected, so a human
                    // still reads it. Threats are conditional by nature
                    // ("kalau tidak dibalas, saya spill di IG"): never
                    // taken back by a supposition.
                    // A reschedule only when the supposition is in its
                    // own clause: "kalau tidak bisa datang besok, bisa
                    // ganti ke jumat?" asks for one.
                    let supposed = a.asks
                        && match i {
                            Intent::Reschedule => f.conditional,
                            Intent::Refund | Intent::Cancel | Intent::Privacy => {
                                f.conditional || f.supposed
                            }
                            _ => false,
                        };
                    // Abuse is reported in quotes ("coach bilang \"suaramu
                    // kayak kambing\""): a quoted insult spelt out stays.
                    let quoted_abuse = i == Intent::Harassment && f.how != How::Fuzzy;
                    let about = (f.quoted && i.is_risky() && !quoted_abuse)
                        || (f.mentioned
                            && ((i.is_risky() && i != Intent::Harassment)
                                || i == Intent::Reschedule))
                        || supposed
                        || (f.others
                            && matches!(i, Intent::Refund | Intent::Cancel | Intent::Harassment));
                    let mention = negated || about || claimed_by_other;
                    if !mention {
                        intents.push(i);
                    }
                    if i.is_risky() {
                        push_unique(&mut triggers, &e.text);
                        if mention || f.how == How::Fuzzy {
                            weak.push(i);
                        } else {
                            strong.push(i);
                        }
                    }
                }
            }
        }
        if intents.is_empty() {
            // A word that counts alone for an account request and one for
            // a risky request: the account object decides ("tagihan
            // kehapus, kirim ulang?" lost an invoice); the risky word
            // stays suspected through its hint, so a human reads it.
            if alone.iter().any(|i| i.is_account()) {
                alone.retain(|i| !i.is_risky() || !weak.contains(i));
            }
            intents = alone;
        }
        let wants_human = a.tokens.iter().any(|t| v.human.contains(&t.word));
        if intents.is_empty() && a.asks && !wants_human && a.content(v).next().is_some() {
            intents.push(Intent::Faq);
            faq_by_default = true;
        }
        intents.sort_unstable();
        intents.dedup();
        let mut suspected: Vec<Intent> = weak.into_iter().filter(|i| !strong.contains(i)).collect();
        suspected.sort_unstable();
        suspected.dedup();
        let beyond_faq = intents.iter().any(|i| *i != Intent::Faq)
            || !suspected.is_empty()
            || injection
            || wants_human;
        Detection {
            // Kept only beside account intents: see `Detector::detect`.
            aside: aside.then_some(Intent::Other),
            intents,
            triggers,
            injection,
            suspected,
            beyond_faq,
            faq_by_default,
            topic_only: a.content(v).count() == 1,
            learned: None,
        }
    }
}

fn push_unique(list: &mut Vec<String>, s: &str) {
    if !list.iter().any(|x| x == s) {
        list.push(s.to_string());
    }
}

#[cfg(test)]
mod tests;
