//! The business vocabulary of intent detection: words, phrases and slang
//! per intent, negation, courtesy and filler words, injection patterns and
//! knowledge-base synonyms, read from TOML (`config/intents.toml`, also
//! built into the binary) and checked as a whole before use.
//!
//! Every vocabulary word is stored once, in the form matching uses (lower
//! case, slang resolved), with the entries that use it; matching looks up a
//! message's words here, so its cost does not grow with the vocabulary.
//!
//! Errors name the file, the entry and the problem.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::Intent;
use super::combine::Thresholds;
use super::normalize;

/// The vocabulary shipped in the binary (and in `config/intents.toml`).
pub const EMBEDDED: &str = include_str!("../../../config/intents.toml");

/// What is wrong with a vocabulary file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabularyError {
    #[error("{file}: not a valid vocabulary: {reason}")]
    Syntax { file: String, reason: String },
    #[error("{file}: {entry}: {problem}")]
    Entry {
        file: String,
        entry: String,
        problem: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    #[serde(default)]
    slang: HashMap<String, String>,
    #[serde(default)]
    classes: HashMap<String, Vec<String>>,
    words: WordsFile,
    #[serde(default)]
    fuzzy: FuzzyFile,
    #[serde(default)]
    injection: InjectionFile,
    #[serde(default)]
    aside: AsideFile,
    #[serde(default, rename = "intent")]
    intents: Vec<IntentFile>,
    #[serde(default)]
    kb: KbFile,
    #[serde(default)]
    classifier: ClassifierFile,
}

/// The mark of a vocabulary word that matches only as written, never an
/// affixed form or a typo (`=mundur`, quitting, is not `dimundurin`,
/// postponing): stored as this character and the word.
pub const EXACT_FORM: char = '=';

/// `[classifier]`: whether the statistical second opinion runs and when
/// its view changes a detection (see `combine`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ClassifierFile {
    enabled: bool,
    name: f64,
    question: f64,
    establish: f64,
    add: f64,
    suspect: f64,
    faq: f64,
    moving: f64,
    overrule: f64,
    dismiss: f64,
    part: f64,
    aside: f64,
}

impl Default for ClassifierFile {
    fn default() -> Self {
        let t = Thresholds::default();
        ClassifierFile {
            enabled: true,
            name: t.name,
            question: t.question,
            establish: t.establish,
            add: t.add,
            suspect: t.suspect,
            faq: t.faq,
            moving: t.moving,
            overrule: t.overrule,
            dismiss: t.dismiss,
            part: t.part,
            aside: t.aside,
        }
    }
}

/// The classifier's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierSettings {
    pub enabled: bool,
    pub thresholds: Thresholds,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsFile {
    negation: Vec<String>,
    #[serde(default)]
    negation_bridge: Vec<String>,
    #[serde(default)]
    negation_after: Vec<String>,
    #[serde(default)]
    courtesy: Vec<String>,
    #[serde(default)]
    filler: Vec<String>,
    #[serde(default)]
    question: Vec<String>,
    #[serde(default)]
    mention: Vec<String>,
    #[serde(default)]
    human: Vec<String>,
    #[serde(default)]
    conditional: Vec<String>,
    #[serde(default)]
    others: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FuzzyFile {
    #[serde(default)]
    known: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectionFile {
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    near: Vec<Vec<String>>,
    #[serde(default)]
    markers: Vec<String>,
}

/// `[aside]`: requests the desk has no intent for (a change of coach, a
/// complaint about a lesson, a package moved to a sibling), said beside an
/// account question.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AsideFile {
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    near: Vec<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentFile {
    name: String,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    near: Vec<Vec<String>>,
    #[serde(default)]
    hints: Vec<String>,
    #[serde(default)]
    asked: Vec<String>,
    #[serde(default)]
    fallback: Vec<String>,
    /// Whether a negation before an entry takes the intent back ("I don't
    /// want a refund"). Off where negation is the request itself ("don't
    /// share my data").
    #[serde(default = "yes")]
    negatable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KbFile {
    #[serde(default)]
    synonyms: Vec<Vec<String>>,
    #[serde(default)]
    implied: Vec<String>,
}

/// How an entry's words must appear in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One word, in any inflected or affixed form.
    Word,
    /// Words in this order, at most [`PHRASE_GAP`] other words between two.
    Phrase,
    /// All words within [`NEAR_WINDOW`] consecutive words, in any order.
    Near,
}

/// Most words allowed between two words of a phrase.
pub const PHRASE_GAP: usize = 2;
/// Largest span, in words, of a `near` group.
pub const NEAR_WINDOW: usize = 6;

/// What an entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Evidence of the intent.
    Intent(Intent),
    /// Alone, only a hint: a risky intent is suspected, never established.
    Hint(Intent),
    /// Instruction-like text.
    Injection,
    /// A request the desk has no intent for (`[aside]`): beside account
    /// intents, a person answers the turn.
    Aside,
    /// Said after a word, takes it back ("refund gak usah").
    NegationAfter,
}

/// When an intent entry counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only in a message that asks something ("les besok?").
    Asked,
    /// Only when no other intent is found ("invoice?" alone).
    Alone,
}

/// One vocabulary entry: a word, a phrase or a `near` group.
#[derive(Debug, Clone)]
pub struct Entry {
    pub role: Role,
    pub shape: Shape,
    pub when: When,
    /// As written in the file (a trigger tag shows it).
    pub text: String,
    /// Ids of its words (see [`Vocabulary::word`]).
    pub words: Vec<u32>,
}

/// The checked, indexed vocabulary.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub(super) slang: HashMap<String, Vec<String>>,
    pub(super) negation: HashSet<String>,
    pub(super) bridge: HashSet<String>,
    pub(super) courtesy: HashSet<String>,
    pub(super) filler: HashSet<String>,
    pub(super) question: HashSet<String>,
    pub(super) mention: HashSet<String>,
    pub(super) human: HashSet<String>,
    /// Words that open a supposition ("kalau", "what if"): an account
    /// request after one, in a question, is asked about, not made.
    pub(super) conditional: HashSet<String>,
    /// Other people a customer tells about ("my friend got a refund"): a
    /// refund or cancellation after one, in the same clause, is news.
    pub(super) others: HashSet<String>,
    pub(super) known: HashSet<String>,
    /// Role and markup markers of instruction-like text, in lower case,
    /// looked for in the raw text (`[injection] markers`).
    pub(super) markers: Vec<String>,
    pub(super) entries: Vec<Entry>,
    /// Distinct words of all entries.
    words: Vec<String>,
    word_ids: HashMap<String, u32>,
    /// Per word: the entries that use it.
    pub(super) uses: Vec<Vec<u32>>,
    /// Forms a typo may be close to (five letters or more), by length:
    /// every vocabulary word, and the affixed forms of risky intents'
    /// words, each with the word it stands for.
    pub(super) fuzzy: Vec<(String, u32)>,
    /// Consonant skeletons of risky intents' words and of their affixed
    /// forms ("btln" for "batalin"), each with the word it stands for:
    /// a word written without its vowels ("btlin", "rfnd") may be one.
    pub(super) skeletons: HashMap<String, Vec<u32>>,
    pub(super) synonyms: HashMap<String, String>,
    /// Words an article need not contain to cover a question (`[kb]
    /// implied`, space-separated): the business's own subject and verbs
    /// that name none.
    pub(super) kb_implied: String,
    /// Intents a negation does not take back.
    pub(super) unnegatable: Vec<Intent>,
    /// How message words matched before.
    pub(super) memo: super::matching::WordMemo,
    pub(super) classifier: ClassifierSettings,
}

struct Builder<'a> {
    file: &'a str,
    v: Vocabulary,
    seen: HashMap<(String, String), String>,
    /// `@name` word classes: their words as matching sees them.
    classes: HashMap<String, Vec<String>>,
    /// When the entries being added count.
    when: When,
    /// Words of intent entries: which intent they are evidence of.
    evidence: HashMap<String, (Intent, String)>,
}

impl Vocabulary {
    /// Parses and checks a vocabulary; `file` names it in errors.
    pub fn parse(source: &str, file: &str) -> Result<Vocabulary, VocabularyError> {
        let parsed: File = toml::from_str(source).map_err(|e| VocabularyError::Syntax {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        let mut b = Builder {
            file,
            v: Vocabulary {
                slang: HashMap::new(),
                negation: HashSet::new(),
                bridge: HashSet::new(),
                courtesy: HashSet::new(),
                filler: HashSet::new(),
                question: HashSet::new(),
                mention: HashSet::new(),
                human: HashSet::new(),
                conditional: HashSet::new(),
                others: HashSet::new(),
                known: HashSet::new(),
                markers: Vec::new(),
                entries: Vec::new(),
                words: Vec::new(),
                word_ids: HashMap::new(),
                uses: Vec::new(),
                fuzzy: Vec::new(),
                skeletons: HashMap::new(),
                synonyms: HashMap::new(),
                kb_implied: String::new(),
                unnegatable: Vec::new(),
                memo: Default::default(),
                classifier: ClassifierSettings {
                    enabled: true,
                    thresholds: Thresholds::default(),
                },
            },
            seen: HashMap::new(),
            classes: HashMap::new(),
            when: When::Always,
            evidence: HashMap::new(),
        };
        if parsed.version != 1 {
            return Err(b.err(
                "version",
                format!("format version {} is not known (1)", parsed.version),
            ));
        }
        b.slang(&parsed.slang)?;
        b.classes(&parsed.classes)?;
        let w = &parsed.words;
        b.v.negation = b.word_set("words.negation", &w.negation)?;
        b.v.bridge = b.word_set("words.negation_bridge", &w.negation_bridge)?;
        b.v.courtesy = b.word_set("words.courtesy", &w.courtesy)?;
        b.v.filler = b.word_set("words.filler", &w.filler)?;
        b.v.question = b.word_set("words.question", &w.question)?;
        b.v.mention = b.word_set("words.mention", &w.mention)?;
        b.v.human = b.word_set("words.human", &w.human)?;
        b.v.conditional = b.word_set("words.conditional", &w.conditional)?;
        b.v.others = b.word_set("words.others", &w.others)?;
        b.v.known = b.word_set("fuzzy.known", &parsed.fuzzy.known)?;
        if b.v.negation.is_empty() {
            return Err(b.err("words.negation", "must list at least one word".into()));
        }
        for text in &w.negation_after {
            b.entry(
                "words.negation_after",
                Role::NegationAfter,
                Shape::Phrase,
                text,
                &[text.as_str()],
            )?;
        }
        for m in &parsed.injection.markers {
            let m = m.trim().to_lowercase();
            if m.is_empty() {
                return Err(b.err("injection.markers", "a marker is empty".into()));
            }
            if b.v.markers.contains(&m) {
                return Err(b.err("injection.markers", format!("'{m}' is listed twice")));
            }
            b.v.markers.push(m);
        }
        b.lists(
            "injection",
            Role::Injection,
            &[],
            &parsed.injection.phrases,
            &parsed.injection.near,
        )?;
        b.lists(
            "aside",
            Role::Aside,
            &parsed.aside.words,
            &parsed.aside.phrases,
            &parsed.aside.near,
        )?;
        let mut named = HashSet::new();
        for (n, i) in parsed.intents.iter().enumerate() {
            let at = format!("intent #{} ('{}')", n + 1, i.name);
            let intent = Intent::parse(&i.name)
                .ok_or_else(|| b.err(&at, format!("unknown intent '{}'", i.name)))?;
            if intent == Intent::Other {
                return Err(b.err(
                    &at,
                    "'other' is what no entry matches: it has no words".into(),
                ));
            }
            if !named.insert(intent) {
                return Err(b.err(&at, "this intent is declared twice".into()));
            }
            let at = format!("intent '{}'", i.name);
            if !i.negatable {
                b.v.unnegatable.push(intent);
            }
            for text in &i.words {
                b.entry(
                    &at,
                    Role::Intent(intent),
                    Shape::Word,
                    text,
                    &[text.as_str()],
                )?;
            }
            for text in &i.phrases {
                b.entry(
                    &at,
                    Role::Intent(intent),
                    Shape::Phrase,
                    text,
                    &[text.as_str()],
                )?;
            }
            for group in &i.near {
                let text = group.join(" + ");
                let parts: Vec<&str> = group.iter().map(String::as_str).collect();
                b.entry(&at, Role::Intent(intent), Shape::Near, &text, &parts)?;
            }
            for (list, when) in [(&i.asked, When::Asked), (&i.fallback, When::Alone)] {
                b.when = when;
                for text in list {
                    let shape = if text.split_whitespace().count() == 1 {
                        Shape::Word
                    } else {
                        Shape::Phrase
                    };
                    b.entry(&at, Role::Intent(intent), shape, text, &[text.as_str()])?;
                }
                b.when = When::Always;
            }
            for text in &i.hints {
                if !super::eval::RISKY.contains(&intent) {
                    return Err(b.err(&at, format!("hint '{text}': only risky intents take hints")));
                }
                b.entry(
                    &at,
                    Role::Hint(intent),
                    Shape::Phrase,
                    text,
                    &[text.as_str()],
                )?;
            }
        }
        for (n, group) in parsed.kb.synonyms.iter().enumerate() {
            b.synonyms(n, group)?;
        }
        for text in &parsed.kb.implied {
            let w = b.canonical("kb.implied", text)?;
            if w.len() != 1 {
                return Err(b.err("kb.implied", format!("'{text}' must be a single word")));
            }
            for w in w {
                b.v.kb_implied.push_str(&w);
                b.v.kb_implied.push(' ');
            }
        }
        b.classifier(&parsed.classifier)?;
        let mut v = b.v;
        let mut risky_words: Vec<u32> = v
            .entries
            .iter()
            .filter(|e| match e.role {
                Role::Intent(i) | Role::Hint(i) => i.is_risky(),
                _ => false,
            })
            .flat_map(|e| e.words.iter().copied())
            .collect();
        risky_words.sort_unstable();
        risky_words.dedup();
        let mut fuzzy: Vec<(String, u32)> = Vec::new();
        for (id, w) in v.words.iter().enumerate() {
            let id = id as u32;
            if !w.bytes().all(|c| c.is_ascii_lowercase()) {
                continue;
            }
            if w.len() >= 5 {
                fuzzy.push((w.clone(), id));
            }
            if risky_words.binary_search(&id).is_ok() {
                for form in std::iter::once(w.clone()).chain(super::morphology::affixed_forms(w)) {
                    let sk = skeleton(&form);
                    if sk.len() >= 3 {
                        let ids = v.skeletons.entry(sk).or_default();
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                }
                fuzzy.extend(
                    super::morphology::affixed_forms(w)
                        .into_iter()
                        .filter(|f| f.len() >= 5)
                        .map(|f| (f, id)),
                );
            }
        }
        fuzzy.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
        fuzzy.dedup();
        v.fuzzy = fuzzy;
        Ok(v)
    }

    /// Whether word `id` belongs to an entry of a harassment intent (the
    /// only words customers mask: "f***", "b#ngsat").
    pub fn is_insult(&self, id: u32) -> bool {
        self.uses[id as usize].iter().any(|e| {
            matches!(
                self.entries[*e as usize].role,
                Role::Intent(Intent::Harassment) | Role::Hint(Intent::Harassment)
            )
        })
    }

    /// A vocabulary word by id.
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// The id of a vocabulary word, if the vocabulary has it.
    pub fn word_id(&self, word: &str) -> Option<u32> {
        self.word_ids.get(word).copied()
    }

    /// Whether `word` is any word the vocabulary knows (an entry's word,
    /// slang, negation, courtesy, filler, question or known word).
    pub fn knows(&self, word: &str) -> bool {
        self.word_ids.contains_key(word)
            || self.slang.contains_key(word)
            || self.negation.contains(word)
            || self.bridge.contains(word)
            || self.courtesy.contains(word)
            || self.filler.contains(word)
            || self.question.contains(word)
            || self.mention.contains(word)
            || self.human.contains(word)
            || self.known.contains(word)
    }
}

impl Builder<'_> {
    fn classifier(&mut self, c: &ClassifierFile) -> Result<(), VocabularyError> {
        for (key, value) in [
            ("name", c.name),
            ("question", c.question),
            ("establish", c.establish),
            ("add", c.add),
            ("suspect", c.suspect),
            ("faq", c.faq),
            ("moving", c.moving),
            ("overrule", c.overrule),
            ("dismiss", c.dismiss),
            ("part", c.part),
            ("aside", c.aside),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(self.err(
                    &format!("classifier.{key}"),
                    format!("{value} is not a probability between 0 and 1"),
                ));
            }
        }
        self.v.classifier = ClassifierSettings {
            enabled: c.enabled,
            thresholds: Thresholds {
                name: c.name,
                question: c.question,
                establish: c.establish,
                add: c.add,
                suspect: c.suspect,
                faq: c.faq,
                moving: c.moving,
                overrule: c.overrule,
                dismiss: c.dismiss,
                part: c.part,
                aside: c.aside,
            },
        };
        Ok(())
    }

    /// The words, phrases and `near` groups of one section (`at`) that are
    /// all evidence of `role`.
    fn lists(
        &mut self,
        at: &str,
        role: Role,
        words: &[String],
        phrases: &[String],
        near: &[Vec<String>],
    ) -> Result<(), VocabularyError> {
        for (list, shape, key) in [
            (words, Shape::Word, "words"),
            (phrases, Shape::Phrase, "phrases"),
        ] {
            for text in list {
                self.entry(&format!("{at}.{key}"), role, shape, text, &[text.as_str()])?;
            }
        }
        for group in near {
            let text = group.join(" + ");
            let parts: Vec<&str> = group.iter().map(String::as_str).collect();
            self.entry(&format!("{at}.near"), role, Shape::Near, &text, &parts)?;
        }
        Ok(())
    }

    fn err(&self, entry: &str, problem: String) -> VocabularyError {
        VocabularyError::Entry {
            file: self.file.to_string(),
            entry: entry.to_string(),
            problem,
        }
    }

    /// The words of `text` as matching sees them: cleaned, slang resolved.
    fn canonical(&self, at: &str, text: &str) -> Result<Vec<String>, VocabularyError> {
        let mut out = Vec::new();
        for w in normalize::words(text) {
            if w.masked || w.squeezed.is_some() {
                return Err(self.err(
                    at,
                    format!(
                        "'{text}': write the word plainly (no '*', no letter repeated three times)"
                    ),
                ));
            }
            match self.v.slang.get(&w.text) {
                Some(expansion) => out.extend(expansion.iter().cloned()),
                None => out.push(w.text),
            }
        }
        if out.is_empty() {
            return Err(self.err(at, format!("'{text}' has no letters or digits")));
        }
        Ok(out)
    }

    fn slang(&mut self, map: &HashMap<String, String>) -> Result<(), VocabularyError> {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        for key in keys {
            let at = format!("slang '{key}'");
            let k = normalize::words(key);
            if k.len() != 1 || k[0].text != key.as_str() {
                return Err(self.err(
                    &at,
                    "a slang key is one lower-case word of letters and digits".into(),
                ));
            }
            let value: Vec<String> = normalize::words(&map[key])
                .into_iter()
                .map(|w| w.text)
                .collect();
            if value.is_empty() {
                return Err(self.err(&at, "the replacement is empty".into()));
            }
            if value.len() == 1 && value[0] == *key {
                return Err(self.err(&at, "replaces the word with itself".into()));
            }
            if let Some(w) = value.iter().find(|w| map.contains_key(*w)) {
                return Err(self.err(
                    &at,
                    format!("the replacement '{w}' is itself a slang key: write its meaning"),
                ));
            }
            self.v.slang.insert(key.clone(), value);
        }
        Ok(())
    }

    fn classes(&mut self, map: &HashMap<String, Vec<String>>) -> Result<(), VocabularyError> {
        for (name, list) in map {
            let at = format!("classes.{name}");
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(self.err(&at, "a class name is lower-case letters and '_'".into()));
            }
            let set = self.word_set(&at, list)?;
            if set.is_empty() {
                return Err(self.err(&at, "a class needs at least one word".into()));
            }
            let mut words: Vec<String> = set.into_iter().collect();
            words.sort();
            self.classes.insert(name.clone(), words);
        }
        Ok(())
    }

    fn word_set(&self, at: &str, list: &[String]) -> Result<HashSet<String>, VocabularyError> {
        let mut set = HashSet::new();
        for text in list {
            let words = self.canonical(at, text)?;
            if words.len() != 1 {
                return Err(self.err(at, format!("'{text}' must be a single word")));
            }
            if !set.insert(words[0].clone()) {
                return Err(self.err(at, format!("'{text}' is listed twice")));
            }
        }
        Ok(set)
    }

    fn entry(
        &mut self,
        at: &str,
        role: Role,
        shape: Shape,
        text: &str,
        parts: &[&str],
    ) -> Result<(), VocabularyError> {
        // Each position: one word, or the words of an `@class`.
        let mut slots: Vec<Vec<String>> = Vec::new();
        for p in parts {
            for raw in p.split_whitespace() {
                match raw.strip_prefix('@') {
                    Some(name) => {
                        let class = self.classes.get(name).ok_or_else(|| {
                            self.err(at, format!("'{text}': no word class '@{name}'"))
                        })?;
                        slots.push(class.clone());
                    }
                    None => match raw.strip_prefix('=') {
                        // `=word`: that form only, not its affixed ones.
                        Some(form) => {
                            let w = self.canonical(at, form)?;
                            if w.len() != 1 {
                                return Err(self.err(
                                    at,
                                    format!("'{text}': '={form}' must be a single word"),
                                ));
                            }
                            slots.push(vec![format!("{EXACT_FORM}{}", w[0])]);
                        }
                        None => {
                            for w in self.canonical(at, raw)? {
                                slots.push(vec![w]);
                            }
                        }
                    },
                }
            }
        }
        let count: usize = slots.iter().map(Vec::len).product();
        if count > 2000 {
            return Err(self.err(
                at,
                format!("'{text}' stands for {count} word sequences (at most 2000)"),
            ));
        }
        let mut sequences: Vec<Vec<String>> = vec![Vec::new()];
        for slot in &slots {
            sequences = sequences
                .iter()
                .flat_map(|seq| {
                    slot.iter().map(move |w| {
                        let mut s = seq.clone();
                        s.push(w.clone());
                        s
                    })
                })
                .collect();
        }
        let expanded = count > 1;
        for words in sequences {
            self.entry_words(at, role, shape, text, words, expanded)?;
        }
        Ok(())
    }

    fn entry_words(
        &mut self,
        at: &str,
        role: Role,
        shape: Shape,
        text: &str,
        words: Vec<String>,
        expanded: bool,
    ) -> Result<(), VocabularyError> {
        match shape {
            Shape::Word if words.len() != 1 => {
                return Err(self.err(
                    at,
                    format!("word '{text}' is several words: list it under phrases"),
                ));
            }
            Shape::Phrase if words.len() == 1 && matches!(role, Role::Intent(_)) => {
                return Err(self.err(
                    at,
                    format!("phrase '{text}' is a single word: list it under words"),
                ));
            }
            Shape::Near if words.len() < 2 => {
                return Err(self.err(at, format!("near group [{text}] needs at least two words")));
            }
            _ => {}
        }
        let when = self.when;
        let key = (
            format!("{} {shape:?} {when:?}", role_key(role)),
            words.join(" "),
        );
        if let Some(prev) = self.seen.get(&key) {
            if expanded {
                // A class expansion may meet a word listed on its own.
                return Ok(());
            }
            return Err(self.err(at, format!("'{text}' repeats '{prev}'")));
        }
        if let (Role::Intent(intent), When::Always) = (role, when) {
            match self.evidence.get(&key.1) {
                Some((other, prev)) if *other != intent => {
                    return Err(self.err(
                        at,
                        format!(
                            "'{text}' is also evidence of {} ('{prev}'): an entry belongs to one intent",
                            other.as_str()
                        ),
                    ));
                }
                _ => {
                    self.evidence
                        .insert(key.1.clone(), (intent, text.to_string()));
                }
            }
        }
        self.seen.insert(key, text.to_string());
        let entry_id = self.v.entries.len() as u32;
        let mut ids = Vec::with_capacity(words.len());
        for w in words {
            let id = match self.v.word_ids.get(&w) {
                Some(&id) => id,
                None => {
                    let id = self.v.words.len() as u32;
                    self.v.word_ids.insert(w.clone(), id);
                    self.v.words.push(w);
                    self.v.uses.push(Vec::new());
                    id
                }
            };
            if !self.v.uses[id as usize].contains(&entry_id) {
                self.v.uses[id as usize].push(entry_id);
            }
            ids.push(id);
        }
        self.v.entries.push(Entry {
            role,
            shape,
            when,
            text: text.to_string(),
            words: ids,
        });
        Ok(())
    }

    fn synonyms(&mut self, n: usize, group: &[String]) -> Result<(), VocabularyError> {
        let at = format!("kb.synonyms group #{}", n + 1);
        if group.len() < 2 {
            return Err(self.err(&at, "a synonym group needs at least two words".into()));
        }
        let mut canonical = Vec::new();
        for text in group {
            let w = self.canonical(&at, text)?;
            if w.len() != 1 {
                return Err(self.err(&at, format!("'{text}' must be a single word")));
            }
            canonical.push(w.into_iter().next().unwrap_or_default());
        }
        let head = canonical[0].clone();
        for w in canonical {
            if let Some(prev) = self.v.synonyms.get(&w)
                && *prev != head
            {
                return Err(self.err(&at, format!("'{w}' is already in the group of '{prev}'")));
            }
            self.v.synonyms.insert(w, head.clone());
        }
        Ok(())
    }
}

fn role_key(role: Role) -> String {
    match role {
        Role::Intent(i) => format!("intent:{}", i.as_str()),
        Role::Hint(i) => format!("hint:{}", i.as_str()),
        Role::Injection => "injection".into(),
        Role::Aside => "aside".into(),
        Role::NegationAfter => "negation_after".into(),
    }
}

/// `word` without its vowels ("batalin" -> "btln").
pub fn skeleton(word: &str) -> String {
    word.chars()
        .filter(|c| !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        Vocabulary::parse(src, "test.toml").unwrap_err().to_string()
    }

    const HEAD: &str = "version = 1\n[words]\nnegation = [\"tidak\"]\n";

    #[test]
    fn the_shipped_vocabulary_is_valid() {
        let v = Vocabulary::parse(EMBEDDED, "config/intents.toml").unwrap();
        assert!(v.entries.len() > 100);
        assert!(v.knows("batal") && v.knows("refund"));
    }

    #[test]
    fn errors_name_the_file_the_entry_and_the_problem() {
        assert!(err("version = 1\n[words\n").starts_with("test.toml: not a valid vocabulary"));
        assert_eq!(
            err(&format!("{HEAD}[[intent]]\nname = \"gossip\"\n")),
            "test.toml: intent #1 ('gossip'): unknown intent 'gossip'"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}[[intent]]\nname = \"refund\"\nwords = [\"money back\"]\n"
            )),
            "test.toml: intent 'refund': word 'money back' is several words: list it under phrases"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}[[intent]]\nname = \"refund\"\nwords = [\"refund\"]\n[[intent]]\nname = \"cancel\"\nwords = [\"Refund\"]\n"
            )),
            "test.toml: intent 'cancel': 'Refund' is also evidence of refund ('refund'): an entry belongs to one intent"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}[[intent]]\nname = \"refund\"\nwords = [\"refund\", \"refund\"]\n"
            )),
            "test.toml: intent 'refund': 'refund' repeats 'refund'"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}[[intent]]\nname = \"cancel\"\nnear = [[\"stop\"]]\n"
            )),
            "test.toml: intent 'cancel': near group [stop] needs at least two words"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}[slang]\nwanna = \"want to\"\n[[intent]]\nname = \"cancel\"\nphrases = [\"=mundur saja\", \"=wanna quit\"]\n"
            )),
            "test.toml: intent 'cancel': '=wanna quit': '=wanna' must be a single word"
        );
        assert_eq!(
            err(&format!("{HEAD}[aside]\nphrases = [\"@boss call\"]\n")),
            "test.toml: aside.phrases: '@boss call': no word class '@boss'"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}[[intent]]\nname = \"faq\"\nhints = [\"harga\"]\n"
            )),
            "test.toml: intent 'faq': hint 'harga': only risky intents take hints"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}[[intent]]\nname = \"other\"\nwords = [\"hi\"]\n"
            )),
            "test.toml: intent #1 ('other'): 'other' is what no entry matches: it has no words"
        );
        assert_eq!(
            err(
                "version = 1\n[slang]\ngak = \"ga\"\nga = \"tidak\"\n[words]\nnegation = [\"tidak\"]\n"
            ),
            "test.toml: slang 'gak': the replacement 'ga' is itself a slang key: write its meaning"
        );
        assert_eq!(
            err("version = 2\n[words]\nnegation = [\"no\"]\n"),
            "test.toml: version: format version 2 is not known (1)"
        );
        assert!(err(&format!("{HEAD}bogus = 1\n")).contains("bogus"));
        assert_eq!(
            err(&format!(
                "{HEAD}[[intent]]\nname = \"refund\"\nwords = [\"refunddd\"]\n"
            )),
            "test.toml: intent 'refund': 'refunddd': write the word plainly (no '*', no letter repeated three times)"
        );
    }

    #[test]
    fn entry_words_are_stored_with_slang_resolved() {
        let v = Vocabulary::parse(
            "version = 1\n[slang]\ngak = \"tidak\"\n[words]\nnegation = [\"tidak\"]\n[[intent]]\nname = \"cancel\"\nphrases = [\"gak jadi les\"]\n",
            "t",
        )
        .unwrap();
        let e = &v.entries[0];
        let words: Vec<&str> = e.words.iter().map(|&id| v.word(id)).collect();
        assert_eq!(words, ["tidak", "jadi", "les"]);
        assert_eq!(e.text, "gak jadi les");
    }
}
