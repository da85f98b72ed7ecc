//! Matching a message against the vocabulary: words (exactly, by stem, or
//! within a typo's distance), then the entries those words complete
//! (single words, ordered phrases, `near` groups), each checked for
//! negation and quotation.
//!
//! Cost is per message word: a hash lookup per candidate stem, and a
//! bounded edit-distance scan (words of similar length only) for a word
//! that nothing else explains. Only the entries that use a word found in
//! the message are evaluated.

use std::collections::HashMap;

use super::morphology;
use super::normalize::{self, Word};
use super::vocabulary::{NEAR_WINDOW, PHRASE_GAP, Role, Shape, Vocabulary};

/// How a message word matched a vocabulary word; later is weaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum How {
    /// The word itself (after clean-up and slang).
    Exact,
    /// An inflected or affixed form of it.
    Stem,
    /// Within a small edit distance: a probable typo.
    Fuzzy,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Exact => "exact",
            How::Stem => "stem",
            How::Fuzzy => "fuzzy",
        }
    }
}

/// A word of the message, slang resolved.
#[derive(Debug, Clone)]
pub struct Token {
    /// The word matching uses.
    pub word: String,
    /// Its form with repeated letters cut to one, when different.
    pub alt: Option<String>,
    /// The word as cleaned, before slang ("gak" for "tidak").
    pub surface: String,
    pub quoted: bool,
    pub clause: u16,
    pub masked: bool,
}

/// A message word that matched a vocabulary word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub token: usize,
    pub word: u32,
    pub how: How,
}

/// An entry the message contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub entry: u32,
    /// First and last message word of the match.
    pub start: usize,
    pub end: usize,
    /// The message words that matched the entry's words.
    pub at: Vec<usize>,
    /// The weakest way one of its words matched.
    pub how: How,
    /// A negation word governs it ("I don't want a refund", "refund gak
    /// usah").
    pub negated: bool,
    /// Inside quotation marks: mentioned, not asked for.
    pub quoted: bool,
    /// Next to a word that talks *about* it ("refund policy", "the app
    /// says cancelled", "aturan reschedule").
    pub mentioned: bool,
    /// After a word that opens a supposition in the same clause ("kalau
    /// sakit dan tidak bisa datang, ...?", "what if I can't attend?").
    pub conditional: bool,
    /// After a clause that opens with a supposition ("kalau nanti sakit,
    /// uangnya bisa kembali?").
    pub supposed: bool,
    /// Told of someone else, named before it in the same clause ("my
    /// friend got a refund", "temen aku batalin paketnya").
    pub others: bool,
}

/// Everything matching learnt about a message.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub tokens: Vec<Token>,
    pub hits: Vec<Hit>,
    pub found: Vec<Found>,
    /// The message asks something (a question mark or a question word).
    pub asks: bool,
    /// The raw text carries a role or markup marker of instruction-like
    /// text (`[injection] markers`: "SYSTEM:", "</user>", "[INST]").
    pub marked: bool,
}

impl Analysis {
    /// Words that carry content: not courtesy, filler, negation or a
    /// bridge word.
    pub fn content<'a>(&'a self, v: &'a Vocabulary) -> impl Iterator<Item = &'a Token> + 'a {
        self.tokens.iter().filter(move |t| is_content(v, &t.word))
    }
}

/// Whether a word carries content of its own.
pub fn is_content(v: &Vocabulary, word: &str) -> bool {
    !(v.courtesy.contains(word)
        || v.filler.contains(word)
        || v.negation.contains(word)
        || v.bridge.contains(word)
        || is_number(word))
}

/// A word of digits only (a time, an amount, an invoice number).
pub fn is_number(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_digit())
}

/// The message's words with slang resolved.
pub fn tokens(v: &Vocabulary, text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for w in normalize::words(text) {
        push_token(v, &mut out, w);
    }
    out
}

fn push_token(v: &Vocabulary, out: &mut Vec<Token>, w: Word) {
    let expansion = v
        .slang
        .get(&w.text)
        .or_else(|| w.squeezed.as_ref().and_then(|s| v.slang.get(s)));
    if let Some(words) = expansion {
        for word in words {
            out.push(Token {
                word: word.clone(),
                alt: None,
                surface: w.text.clone(),
                quoted: w.quoted,
                clause: w.clause,
                masked: false,
            });
        }
        return;
    }
    out.push(Token {
        surface: w.text.clone(),
        alt: w.squeezed,
        word: w.text,
        quoted: w.quoted,
        clause: w.clause,
        masked: w.masked,
    });
}

/// Matches `text` against the vocabulary.
pub fn analyse(v: &Vocabulary, text: &str) -> Analysis {
    let tokens = tokens(v, text);
    let mut hits: Vec<Hit> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let key = format!(
            "{}\u{1}{}\u{1}{}",
            t.word,
            t.alt.as_deref().unwrap_or(""),
            t.masked
        );
        let found = v.memo.get(&key).unwrap_or_else(|| {
            let mut own = Vec::new();
            word_hits(v, 0, t, &mut own);
            let found: Vec<(u32, How)> = own.iter().map(|h| (h.word, h.how)).collect();
            v.memo.put(key, found.clone());
            found
        });
        for (word, how) in found {
            add_hit(&mut hits, i, word, how);
        }
    }
    joined_hits(v, &tokens, &mut hits);
    let found = entries(v, &tokens, &hits);
    let mut words = tokens.iter().filter(|t| !v.courtesy.contains(&t.word));
    let asks = text.contains(['?', '\u{ff1f}'])
        || words.next().is_some_and(|t| v.question.contains(&t.word))
        || words
            .next_back()
            .is_some_and(|t| v.question.contains(&t.word));
    Analysis {
        tokens,
        hits,
        found,
        asks,
        marked: marked(v, text),
    }
}

/// Whether `text` carries one of the vocabulary's injection markers. A
/// marker that ends with `:` is a role header ("system:", "assistant:"):
/// it counts at the start of a line, after spaces and markup characters
/// ("### System:", "> system:"); any other marker counts anywhere
/// ("</user>", "<|im_start|>").
pub fn marked(v: &Vocabulary, text: &str) -> bool {
    if v.markers.is_empty() {
        return false;
    }
    let lower = text.to_lowercase();
    v.markers.iter().any(|m| {
        if m.ends_with(':') {
            lower.lines().any(|line| {
                line.trim_start_matches(|c: char| {
                    c.is_whitespace() || matches!(c, '#' | '*' | '>' | '[' | '<' | '-' | '_' | '`')
                })
                .starts_with(m.as_str())
            })
        } else {
            lower.contains(m.as_str())
        }
    })
}

fn add_hit(hits: &mut Vec<Hit>, token: usize, word: u32, how: How) {
    match hits.iter_mut().find(|h| h.token == token && h.word == word) {
        Some(h) => h.how = h.how.min(how),
        None => hits.push(Hit { token, word, how }),
    }
}

/// What message words matched, by word: the same word in the next message
/// matches the same way, so it is looked up once (a memo: the result is
/// the one computing it again would give).
#[derive(Debug, Default)]
pub struct WordMemo(std::sync::Mutex<HashMap<String, Vec<(u32, How)>>>);

/// Most words the memo keeps before it starts afresh.
const WORD_MEMO_LIMIT: usize = 50_000;

impl WordMemo {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(u32, How)>>> {
        // A poisoned memo is only a cache: use it as it is.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &str) -> Option<Vec<(u32, How)>> {
        self.lock().get(key).cloned()
    }

    fn put(&self, key: String, found: Vec<(u32, How)>) {
        let mut memo = self.lock();
        if memo.len() >= WORD_MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(key, found);
    }
}

impl Clone for WordMemo {
    fn clone(&self) -> WordMemo {
        WordMemo::default()
    }
}

/// The `=word` entry word `form` is, if any (see
/// [`super::vocabulary::EXACT_FORM`]).
fn exact_form_hit(v: &Vocabulary, i: usize, form: &str, hits: &mut Vec<Hit>) {
    let mut key = String::with_capacity(form.len() + 1);
    key.push(super::vocabulary::EXACT_FORM);
    key.push_str(form);
    if let Some(id) = v.word_id(&key) {
        add_hit(hits, i, id, How::Exact);
    }
}

/// The vocabulary words token `i` stands for.
fn word_hits(v: &Vocabulary, i: usize, t: &Token, hits: &mut Vec<Hit>) {
    let before = hits.len();
    let plain = !is_content(v, &t.word);
    for form in std::iter::once(&t.word).chain(t.alt.as_ref()) {
        if plain {
            if let Some(id) = v.word_id(form) {
                add_hit(hits, i, id, How::Exact);
            }
            continue;
        }
        // A word with a prefix Indonesian never writes ("pengcara") is
        // no affixed form of anything: only itself, or a typo.
        let ill_formed = morphology::ill_formed_prefix(form);
        for (k, c) in morphology::candidates(form).iter().enumerate() {
            if k > 0 && ill_formed {
                break;
            }
            if let Some(id) = v.word_id(c) {
                add_hit(hits, i, id, if k == 0 { How::Exact } else { How::Stem });
            }
            if k == 0 {
                exact_form_hit(v, i, c, hits);
            }
        }
    }
    if hits.len() > before || plain {
        return;
    }
    if t.masked {
        masked_hits(v, i, &t.word, hits);
        return;
    }
    fuzzy_hits(v, i, t, hits);
    if hits.len() == before {
        skeleton_hits(v, i, t, hits);
    }
}

/// A word written without its vowels ("btlin", "rfnd", "cncl"): at most
/// one vowel, three consonants or more, a word of no language the
/// vocabulary or the stemmer knows, whose consonants are those of a risky
/// intent's word or of one of its affixed forms. Weak evidence (matched
/// as a typo): the intent is suspected, never established.
fn skeleton_hits(v: &Vocabulary, i: usize, t: &Token, hits: &mut Vec<Hit>) {
    let form = t.alt.as_ref().unwrap_or(&t.word);
    if !form.bytes().all(|b| b.is_ascii_lowercase())
        || v.knows(form)
        || morphology::is_root_word(form)
        || morphology::is_english_word(form)
    {
        return;
    }
    let sk = super::vocabulary::skeleton(form);
    let vowels = form.len() - sk.len();
    if sk.len() < 3 || vowels > 1 {
        return;
    }
    if let Some(ids) = v.skeletons.get(&sk) {
        for &id in ids {
            add_hit(hits, i, id, How::Fuzzy);
        }
    }
}

/// A word split in two ("ref und", "can cel"): two adjacent words that
/// nothing else explains and that together make a vocabulary word.
fn joined_hits(v: &Vocabulary, tokens: &[Token], hits: &mut Vec<Hit>) {
    for i in 1..tokens.len() {
        let (a, b) = (&tokens[i - 1], &tokens[i]);
        let joined = format!("{}{}", a.word, b.word);
        let Some(id) = v.word_id(&joined) else {
            continue;
        };
        // English halves ("ref und") still make a risky word: a human
        // reads the turn (the match is weak, as a typo's).
        let risky = v.uses[id as usize]
            .iter()
            .any(|e| match v.entries[*e as usize].role {
                Role::Intent(i) | Role::Hint(i) => i.is_risky(),
                _ => false,
            });
        let unexplained = |k: usize, t: &Token| {
            !hits.iter().any(|h| h.token == k)
                && !v.knows(&t.word)
                && (risky || !morphology::is_english_word(&t.word))
        };
        if a.clause != b.clause || !unexplained(i - 1, a) || !unexplained(i, b) {
            continue;
        }
        add_hit(hits, i - 1, id, How::Fuzzy);
    }
}

/// "f*ck", "a**hole", "f***": a `*` stands for any one letter. Customers
/// mask insults, so only insults are looked for.
fn masked_hits(v: &Vocabulary, i: usize, word: &str, hits: &mut Vec<Hit>) {
    let pattern: Vec<char> = word.chars().collect();
    for id in 0..v.uses.len() as u32 {
        let w = v.word(id);
        if v.is_insult(id)
            && w.chars().count() == pattern.len()
            && w.chars().zip(&pattern).all(|(a, &b)| b == '*' || a == b)
        {
            add_hit(hits, i, id, How::Exact);
        }
    }
}

/// Typos: a word nothing else explains, five letters or more, not a word
/// of its own (the stemmer's Indonesian dictionary, the built-in English
/// word list or the vocabulary's known words),
/// within one edit (two for eight letters or more) of a vocabulary word.
fn fuzzy_hits(v: &Vocabulary, i: usize, t: &Token, hits: &mut Vec<Hit>) {
    for form in std::iter::once(&t.word).chain(t.alt.as_ref()) {
        let n = form.len();
        if n < 5
            || !form.bytes().all(|b| b.is_ascii_lowercase())
            || v.knows(form)
            || morphology::is_root_word(form)
            || morphology::is_english_word(form)
            || stems_to_a_root(form)
            || affixed_english(form)
        {
            continue;
        }
        // "cancell", "lawyerr": a doubled letter too many.
        let single = undoubled(form);
        if let Some(id) = v.word_id(&single) {
            add_hit(hits, i, id, How::Exact);
            return;
        }
        if v.knows(&single) {
            continue;
        }
        let (f0, f1) = (form.as_bytes()[0], form.as_bytes()[1]);
        let mut best: Option<(usize, Vec<u32>)> = None;
        let from = v.fuzzy.partition_point(|(w, _)| w.len() + 2 < n);
        for (w, id) in &v.fuzzy[from..] {
            let id = *id;
            // The distance allowed follows the root's length: an affixed
            // form is no easier to mistype into than its root.
            let allowed = if v.word(id).len() >= 8 { 2 } else { 1 };
            if w.len() > n + 2 {
                break;
            }
            if w.len() + allowed < n || w.len() > n + allowed {
                continue;
            }
            // A typo keeps the first or the second letter in place.
            let b = w.as_bytes();
            if b[0] != f0 && b[1] != f1 {
                continue;
            }
            let d = strsim::osa_distance(form, w);
            if d == 0 || d > allowed {
                continue;
            }
            match &mut best {
                Some((bd, ids)) if d == *bd => {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                Some((bd, _)) if d > *bd => {}
                _ => best = Some((d, vec![id])),
            }
        }
        if let Some((_, ids)) = best {
            for id in ids {
                add_hit(hits, i, id, How::Fuzzy);
            }
            return;
        }
    }
}

/// `word` with doubled letters written once ("dongg" -> "dong").
fn undoubled(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// Whether the stemmer reduces `word` to a root of four letters or more:
/// then it is a real word ("pembatasan" is "batas"), not a typo.
fn stems_to_a_root(word: &str) -> bool {
    let stem = morphology::formal_stem(word);
    stem != word
        && stem.len() >= 4
        && morphology::is_root_word(&stem)
        && !morphology::ill_formed_prefix(word)
}

/// Whether `word` is an English word under an Indonesian affix
/// ("discan", "diupload", "ngeprint", "scannya"): written on purpose, not
/// a typo of a vocabulary word.
fn affixed_english(word: &str) -> bool {
    morphology::candidates(word)
        .iter()
        .skip(1)
        .any(|c| c.len() >= 4 && morphology::is_english_word(c))
}

/// The entries the hits complete, with negation and quotation.
fn entries(v: &Vocabulary, tokens: &[Token], hits: &[Hit]) -> Vec<Found> {
    let mut by_word: HashMap<u32, Vec<(usize, How)>> = HashMap::new();
    for h in hits {
        by_word.entry(h.word).or_default().push((h.token, h.how));
    }
    let mut candidates: Vec<u32> = by_word
        .keys()
        .flat_map(|w| v.uses[*w as usize].iter().copied())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    // A number does not part the words of a `near` group ("voice note
    // jam 11 malam ke murid 13 tahun"): the window counts words only.
    let mut ranks = Vec::with_capacity(tokens.len());
    let mut rank = 0usize;
    for t in tokens {
        ranks.push(rank);
        if !t.word.bytes().all(|b| b.is_ascii_digit()) {
            rank += 1;
        }
    }
    let mut found = Vec::new();
    for e in candidates {
        let entry = &v.entries[e as usize];
        let spans = match entry.shape {
            Shape::Word => by_word
                .get(&entry.words[0])
                .map(|occ| occ.iter().map(|&(t, how)| (vec![t], how)).collect())
                .unwrap_or_default(),
            Shape::Phrase => phrase_spans(v, &entry.words, &by_word, tokens),
            Shape::Near => near_spans(&entry.words, &by_word, &ranks),
        };
        for (at, how) in spans {
            let (start, end) = (at[0], at[at.len() - 1]);
            found.push(Found {
                entry: e,
                start,
                end,
                at,
                how,
                negated: false,
                quoted: tokens[start..=end].iter().any(|t| t.quoted),
                mentioned: mentioned(v, tokens, start, end),
                // A `near` group is in any order: the supposition may
                // stand among its words ("sesinya hangus atau diganti?").
                conditional: conditional(
                    v,
                    tokens,
                    if entry.shape == Shape::Near {
                        end
                    } else {
                        start
                    },
                    false,
                ),
                supposed: conditional(v, tokens, start, true),
                others: told_of_others(v, tokens, start),
            });
        }
    }
    let after: Vec<(usize, usize)> = found
        .iter()
        .filter(|f| v.entries[f.entry as usize].role == Role::NegationAfter)
        .map(|f| (f.start, f.end))
        .collect();
    for f in &mut found {
        // A `near` group is in any order: a negation before any of its
        // words takes it back ("jam 7 masih kan? gak berubah?").
        let near = v.entries[f.entry as usize].shape == Shape::Near;
        f.negated = negated_before(v, tokens, f.start)
            || (near && f.at.iter().any(|&t| negated_before(v, tokens, t)))
            || negated_after(v, tokens, f.end, &after);
    }
    found.sort_by_key(|f| (f.start, f.entry));
    found
}

/// Ordered occurrences: each next word after the previous one, with at
/// most `PHRASE_GAP` words between, all in one clause ("lessons on
/// weekends? aku kerja" is no "lesson ... saya"), and no negation word
/// between (it takes the later words back: "coachnya ga dateng" is no
/// "coach datang").
fn phrase_spans(
    v: &Vocabulary,
    words: &[u32],
    by_word: &HashMap<u32, Vec<(usize, How)>>,
    tokens: &[Token],
) -> Vec<(Vec<usize>, How)> {
    let Some(first) = by_word.get(&words[0]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    'start: for &(t0, how0) in first {
        let (mut pos, mut how) = (t0, how0);
        let mut at = vec![t0];
        // The gaps of a phrase add up to at most PHRASE_GAP words.
        let mut budget = PHRASE_GAP;
        for w in &words[1..] {
            let next = by_word.get(w).and_then(|occ| {
                occ.iter()
                    .filter(|(t, _)| *t > pos && *t <= pos + 1 + budget)
                    .filter(|(t, _)| tokens[*t].clause == tokens[t0].clause)
                    .filter(|(t, _)| {
                        !tokens[pos + 1..*t]
                            .iter()
                            .any(|g| v.negation.contains(&g.word))
                    })
                    .min_by_key(|(t, _)| *t)
                    .copied()
            });
            match next {
                Some((t, h)) => {
                    budget -= t - pos - 1;
                    pos = t;
                    how = how.max(h);
                    at.push(t);
                }
                None => continue 'start,
            }
        }
        out.push((at, how));
    }
    out
}

/// All words of the group within `NEAR_WINDOW` consecutive words
/// (`ranks`: each token's position among the tokens that are not
/// numbers).
fn near_spans(
    words: &[u32],
    by_word: &HashMap<u32, Vec<(usize, How)>>,
    ranks: &[usize],
) -> Vec<(Vec<usize>, How)> {
    let mut occ: Vec<(usize, usize, How)> = Vec::new();
    for (k, w) in words.iter().enumerate() {
        match by_word.get(w) {
            Some(list) => occ.extend(list.iter().map(|&(t, h)| (t, k, h))),
            None => return Vec::new(),
        }
    }
    occ.sort_unstable();
    let mut out = Vec::new();
    let mut next_start = 0;
    for (a, &(start, _, _)) in occ.iter().enumerate() {
        if start < next_start {
            continue;
        }
        let mut seen = vec![false; words.len()];
        let mut how = How::Exact;
        let mut at: Vec<usize> = Vec::new();
        for &(t, k, h) in &occ[a..] {
            if ranks[t] >= ranks[start] + NEAR_WINDOW {
                break;
            }
            if !seen[k] && !at.contains(&t) {
                seen[k] = true;
                how = how.max(h);
                at.push(t);
            }
            if seen.iter().all(|s| *s) {
                break;
            }
        }
        if seen.iter().all(|s| *s) {
            next_start = at[at.len() - 1] + 1;
            out.push((at, how));
        }
    }
    out
}

/// A mention word ("policy", "aturan", "says", "tulisan") within two words
/// before or after the match, in the same clause.
/// A conjunction between the two ends it ("ignore the policy *and* refund
/// me" asks for the refund).
fn mentioned(v: &Vocabulary, tokens: &[Token], start: usize, end: usize) -> bool {
    const JOINS: &[&str] = &[
        "and", "dan", "then", "lalu", "terus", "but", "tapi", "or", "atau",
    ];
    let clause = tokens[start].clause;
    let fits = |t: &&Token| t.clause == clause && !JOINS.contains(&t.word.as_str());
    let before = tokens[start.saturating_sub(2)..start]
        .iter()
        .rev()
        .take_while(fits)
        .any(|t| v.mention.contains(&t.word));
    let after = tokens[end + 1..(end + 3).min(tokens.len())]
        .iter()
        .take_while(fits)
        .any(|t| v.mention.contains(&t.word));
    before || after
}

/// Someone else is the subject of the match: one of `[words] others`
/// at most three words before it in the same clause, with no word of
/// wanting or asking between ("my friend got a refund", "temen aku
/// batalin paketnya"; not "my friend and I want a refund").
fn told_of_others(v: &Vocabulary, tokens: &[Token], start: usize) -> bool {
    const ASKING: &[&str] = &[
        "mau", "ingin", "minta", "tolong", "mohon", "want", "wants", "need", "please", "and",
        "dan", "sama", "i", "we", "kami", "kita",
    ];
    let clause = tokens[start].clause;
    for t in tokens[start.saturating_sub(3)..start].iter().rev() {
        if t.clause != clause || ASKING.contains(&t.word.as_str()) {
            return false;
        }
        if v.others.contains(&t.word) {
            return true;
        }
    }
    false
}

/// A supposition word ("kalau", "if", "misal") before `start` in the same
/// clause, not one of politeness ("kalau bisa", "if possible").
/// With `before`, the supposition may also open the clause before
/// ("kalau nanti sakit, uangnya bisa kembali?"). A question of how often
/// ("berapa kali boleh ganti jadwal?", "how many times can I
/// reschedule?") asks about the request, not for it.
fn conditional(v: &Vocabulary, tokens: &[Token], start: usize, before: bool) -> bool {
    // "kalau bisa", "if possible" are politeness; "if so", "kalo iya"
    // refer back to a question already asked.
    const POLITE: &[&str] = &[
        "bisa",
        "boleh",
        "possible",
        "memungkinkan",
        "you",
        "so",
        "iya",
        "ya",
        "yes",
        "gitu",
        "begitu",
        "benar",
        "bener",
    ];
    const HOW_OFTEN: &[(&str, &str)] = &[
        ("berapa", "kali"),
        ("many", "times"),
        ("how", "often"),
        ("berapa", "sering"),
    ];
    let clause = tokens[start].clause;
    tokens[..start]
        .iter()
        .enumerate()
        .rev()
        .take_while(|(_, t)| t.clause == clause || (before && t.clause + 1 == clause))
        .any(|(k, t)| {
            let next = tokens.get(k + 1);
            let supposes = v.conditional.contains(&t.word)
                && !next.is_some_and(|n| POLITE.contains(&n.word.as_str()));
            let how_often = t.clause == clause
                && next.is_some_and(|n| HOW_OFTEN.contains(&(t.word.as_str(), n.word.as_str())));
            // The clause before counts only when it opens with the
            // supposition ("kalau nanti sakit, ..."), not when it merely
            // contains one.
            let opens_clause = t.clause == clause
                || k == 0
                || tokens[k - 1].clause != t.clause
                || tokens[..k]
                    .iter()
                    .rev()
                    .take_while(|p| p.clause == t.clause)
                    .all(|p| !is_content(v, &p.word));
            (supposes && opens_clause) || how_often
        })
}

/// A negation word before `start` in the same clause, with only bridge
/// words between ("tidak *mau* refund", "don't *want a* refund"); an
/// ability word breaks the bridge ("tidak bisa dibatalkan?" asks for it).
fn negated_before(v: &Vocabulary, tokens: &[Token], start: usize) -> bool {
    let clause = tokens[start].clause;
    let mut j = start;
    while j > 0 && start - j < 4 {
        j -= 1;
        let t = &tokens[j];
        if t.clause != clause {
            return false;
        }
        if v.negation.contains(&t.word) {
            return true;
        }
        if !v.bridge.contains(&t.word) {
            return false;
        }
    }
    false
}

/// A `negation_after` phrase right after `end` ("refund gak usah"), with
/// only bridge or courtesy words between.
fn negated_after(v: &Vocabulary, tokens: &[Token], end: usize, after: &[(usize, usize)]) -> bool {
    after.iter().any(|&(s, _)| {
        s > end
            && s <= end + 3
            && tokens[end + 1..s]
                .iter()
                .all(|t| v.bridge.contains(&t.word) || v.courtesy.contains(&t.word))
    })
}
