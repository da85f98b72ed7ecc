//! Knowledge gaps: turns no published article answered and no other rule
//! classified (they went to the operator unclassified), grouped by their
//! most frequent content words, so whoever owns the knowledge base sees
//! what to write next.
//!
//! Content words: lower-cased letters-only tokens of three or more
//! characters, without English and Indonesian stop words (the Stopwords ISO
//! lists of the `stop-words` crate) and the desk's own fillers
//! (`config/report/stopwords.txt`). Tokens with digits or `@` (numbers,
//! invoices, emails) are never words, and example texts are shown with
//! digits and emails masked: customer text is untrusted and personal.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The desk's own filler words, kept with the config.
const EXTRA_STOPWORDS: &str = include_str!("../../config/report/stopwords.txt");

/// Most groups shown, and examples per group.
pub const MAX_GROUPS: usize = 20;
const MAX_EXAMPLES: usize = 3;
const EXAMPLE_CHARS: usize = 160;

fn stopwords() -> &'static HashSet<String> {
    static WORDS: OnceLock<HashSet<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut set: HashSet<String> = HashSet::new();
        for lang in ["en", "id"] {
            if let Some(words) = stop_words::lookup(lang) {
                set.extend(words.iter().map(|w| w.to_lowercase()));
            }
        }
        set.extend(
            EXTRA_STOPWORDS
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_lowercase),
        );
        set
    })
}

/// The distinct content words of a text, in order of first appearance.
pub fn content_words(text: &str) -> Vec<String> {
    let stop = stopwords();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for token in text.split_whitespace() {
        if token.chars().any(|c| c.is_numeric() || c == '@') {
            continue;
        }
        for raw in token.split(|c: char| c.is_ascii_punctuation()) {
            let word: String = raw
                .chars()
                .filter(|c| c.is_alphabetic())
                .flat_map(char::to_lowercase)
                .collect();
            let word = squeeze_repeats(&word);
            if word.chars().count() < 3 || stop.contains(&word) {
                continue;
            }
            if seen.insert(word.clone()) {
                out.push(word);
            }
        }
    }
    out
}

/// "pleeeease" → "please": customers stretch words; three or more of a
/// letter become one.
fn squeeze_repeats(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = j - i;
        let keep = if run >= 3 { 1 } else { run };
        out.extend(std::iter::repeat_n(chars[i], keep));
        i = j;
    }
    out
}

/// A text with emails and digit runs masked, cut to a readable length.
pub fn masked_example(text: &str) -> String {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        if word.contains('@') {
            out.push("[email]".to_string());
        } else if word.chars().any(|c| c.is_ascii_digit()) {
            out.push(
                word.chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect(),
            );
        } else {
            out.push(word.to_string());
        }
    }
    let joined = out.join(" ");
    if joined.chars().count() <= EXAMPLE_CHARS {
        return joined;
    }
    let cut: String = joined.chars().take(EXAMPLE_CHARS).collect();
    format!("{cut}…")
}

/// Turns grouped under one content word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapGroup {
    pub word: String,
    pub turns: u64,
    /// Words most often seen with it in the group's turns.
    pub related: Vec<String>,
    pub examples: Vec<String>,
}

/// Groups turns: each under its content word seen in most turns overall
/// (ties: alphabetical), biggest groups first. Turns with no content word
/// are counted under "(no content words)".
pub fn group(texts: &[String]) -> Vec<GapGroup> {
    let words: Vec<Vec<String>> = texts.iter().map(|t| content_words(t)).collect();
    let mut df: HashMap<&str, u64> = HashMap::new();
    for ws in &words {
        for w in ws {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    // Per key word: turns, co-occurring words with counts, examples.
    type Group = (u64, HashMap<String, u64>, Vec<String>);
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for (text, ws) in texts.iter().zip(&words) {
        let key = ws
            .iter()
            .max_by(|a, b| df[a.as_str()].cmp(&df[b.as_str()]).then_with(|| b.cmp(a)))
            .cloned()
            .unwrap_or_else(|| "(no content words)".to_string());
        let g = groups.entry(key.clone()).or_default();
        g.0 += 1;
        for w in ws.iter().filter(|w| **w != key) {
            *g.1.entry(w.clone()).or_default() += 1;
        }
        if g.2.len() < MAX_EXAMPLES {
            let example = masked_example(text);
            if !g.2.contains(&example) {
                g.2.push(example);
            }
        }
    }
    let mut out: Vec<GapGroup> = groups
        .into_iter()
        .map(|(word, (turns, related, examples))| {
            let mut related: Vec<(String, u64)> = related.into_iter().collect();
            related.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            GapGroup {
                word,
                turns,
                related: related.into_iter().take(4).map(|(w, _)| w).collect(),
                examples,
            }
        })
        .collect();
    out.sort_by(|a, b| b.turns.cmp(&a.turns).then_with(|| a.word.cmp(&b.word)));
    out.truncate(MAX_GROUPS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_of_both_languages_and_fillers_are_left_out() {
        assert_eq!(
            content_words("Halo kak, apakah ada PARKIR mobil di studio?"),
            vec!["parkir", "mobil", "studio"]
        );
        assert_eq!(
            content_words("is there parking for cars near the studio please"),
            vec!["parking", "cars", "studio"]
        );
        assert_eq!(content_words("parkiiiir dong"), vec!["parkir"]);
    }

    #[test]
    fn numbers_and_emails_are_never_words_and_are_masked_in_examples() {
        assert_eq!(
            content_words("INV-2026-001 sari@example.com refund"),
            vec!["refund"]
        );
        assert_eq!(
            masked_example("my number 0812345 and sari@example.com"),
            "my number ####### and [email]"
        );
    }

    #[test]
    fn turns_group_under_their_most_frequent_word() {
        let texts: Vec<String> = [
            "ada parkir mobil?",
            "parkir motor dimana kak",
            "parkir gratis?",
            "boleh bawa teman ke kelas?",
            "ok",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let groups = group(&texts);
        assert_eq!(groups[0].word, "parkir");
        assert_eq!(groups[0].turns, 3);
        assert!(groups[0].related.contains(&"mobil".to_string()));
        assert_eq!(groups.iter().map(|g| g.turns).sum::<u64>(), 5);
        assert!(groups.iter().any(|g| g.word == "(no content words)"));
    }
}
