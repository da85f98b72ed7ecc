//! Text clean-up before intent matching: Unicode NFKC, case, accents,
//! zero-width and control characters, emoji and punctuation, repeated
//! letters ("refunddd", "CANCELLLL", "pleaseee"), look-alike digits inside
//! words ("b0doh"), masked letters ("f*ck"), apostrophes ("don't"),
//! hyphenated affixes and reduplication ("di-reschedule", "anak-anak",
//! "siap2"), clause breaks and quoted spans.
//!
//! Produces words, not meanings: slang and stems are the vocabulary's and
//! the morphology's business. Owns no state; allocation is one `String`
//! per word.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A word of the message, lower-cased and cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word with runs of three or more equal letters cut to two
    /// ("pleaseee" -> "pleasee", "goood" -> "good").
    pub text: String,
    /// The same with those runs cut to one ("pleaseee" -> "please"), when
    /// the word had such a run.
    pub squeezed: Option<String>,
    /// Inside a balanced pair of quotation marks: a mention, not a request.
    pub quoted: bool,
    /// Index of the clause (split at . , ! ? ; : and line breaks).
    pub clause: u16,
    /// Contains a masking `*` ("f*ck"): compared letter by letter.
    pub masked: bool,
}

/// Splits `text` into cleaned words (see the module doc).
/// The end of an email address starting at `i` (at the start of a
/// whitespace-separated token: something, `@`, a domain with a dot).
fn email_at(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && !chars[i - 1].is_whitespace() {
        return None;
    }
    let end = chars[i..]
        .iter()
        .position(|c| c.is_whitespace())
        .map_or(chars.len(), |n| i + n);
    let token = &chars[i..end];
    let at = token.iter().position(|&c| c == '@')?;
    let domain = &token[at + 1..];
    (at > 0 && domain.len() > 2 && domain[..domain.len() - 1].contains(&'.')).then_some(end)
}

pub fn words(text: &str) -> Vec<Word> {
    let clean = clean(text);
    let mut out: Vec<Word> = Vec::new();
    let mut clause: u16 = 0;
    let mut quote: Option<char> = None;
    let mut quote_start = 0usize;
    let chars: Vec<char> = clean.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(end) = email_at(&chars, i) {
            // An email address is identity data, not words: its local part
            // ("wrong1@...", "refund.team@...") says nothing of the request.
            i = end;
            continue;
        }
        if is_word_char(c) {
            let start = i;
            while i < chars.len() && continues_word(&chars, i) {
                i += 1;
            }
            push_word(&mut out, &chars[start..i], quote.is_some(), clause);
            continue;
        }
        match c {
            '"' | '\u{201c}' | '\u{201d}' | '\u{ab}' | '\u{bb}' | '`' | '\u{2018}' | '\u{2019}'
            | '\'' => {
                let opens = matches!(c, '\u{201c}' | '\u{ab}' | '\u{2018}')
                    || (matches!(c, '"' | '`' | '\'' | '\u{2019}')
                        && quote.is_none()
                        && next_is_word(&chars, i));
                if let Some(open) = quote
                    && closes(open, c)
                {
                    quote = None;
                } else if opens && quote.is_none() {
                    quote = Some(c);
                    quote_start = out.len();
                }
            }
            '.' | ',' | '!' | '?' | ';' | ':' | '\n' | '(' | ')' | '-' | '\u{2013}'
            | '\u{2014}' => {
                clause = clause.saturating_add(1);
            }
            _ => {}
        }
        i += 1;
    }
    // An unbalanced quotation mark quotes nothing.
    if quote.is_some() {
        for w in &mut out[quote_start..] {
            w.quoted = false;
        }
    }
    join_spelled_out(out)
}

/// Fewest single letters in a row read as one word spelled out.
const SPELLED_OUT: usize = 3;

/// A word spelled out letter by letter ("R E F U N D", "b.a.t.a.l",
/// "s h i t"): three single letters or more in a row are one word, in the
/// clause of its last letter.
fn join_spelled_out(words: Vec<Word>) -> Vec<Word> {
    let single = |w: &Word| w.text.chars().count() == 1 && w.text.chars().all(char::is_alphabetic);
    let mut out: Vec<Word> = Vec::with_capacity(words.len());
    let mut run: Vec<Word> = Vec::new();
    let flush = |run: &mut Vec<Word>, out: &mut Vec<Word>| {
        if run.len() >= SPELLED_OUT {
            let letters: Vec<char> = run.iter().flat_map(|w| w.text.chars()).collect();
            let last = &run[run.len() - 1];
            let quoted = run.iter().any(|w| w.quoted);
            out.push(make_word(&letters, quoted, last.clause, false));
            run.clear();
        } else {
            out.append(run);
        }
    };
    for w in words {
        if single(&w) {
            run.push(w);
        } else {
            flush(&mut run, &mut out);
            out.push(w);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// NFKC, lower case, accents dropped, zero-width and control characters
/// removed (joining what they split), every other space a plain space.
fn clean(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c) && !is_invisible(*c))
        .nfc()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_whitespace() && c != '\n' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Zero-width joiners and spaces, soft hyphens, direction marks, BOM,
/// variation selectors and other format characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}')
        || (c.is_control() && c != '\n')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether `chars[i]` belongs to the word that is being read: letters and
/// digits, and inside a word an apostrophe ("don't"), a hyphen between
/// letters ("di-reschedule") or a masking asterisk ("f*ck", "a**hole").
fn continues_word(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    if is_word_char(c) {
        return true;
    }
    let prev = i.checked_sub(1).map(|p| chars[p]);
    let next = chars.get(i + 1).copied();
    let letter = |c: Option<char>| c.is_some_and(char::is_alphabetic);
    match c {
        '\'' | '\u{2019}' => letter(prev) && letter(next),
        '-' => letter(prev) && letter(next),
        '*' | '#' => {
            let mark = |c: char| matches!(c, '*' | '#');
            let mut s = i;
            while s > 0 && mark(chars[s - 1]) {
                s -= 1;
            }
            let mut j = i;
            while j < chars.len() && mark(chars[j]) {
                j += 1;
            }
            // After a letter, masked inside ("f*ck", "b#ngsat") or at the
            // end by two marks or more ("f***").
            s > 0
                && chars[s - 1].is_alphabetic()
                && (chars.get(j).is_some_and(|c| c.is_alphabetic())
                    || (j - s >= 2 && !chars.get(j).is_some_and(|c| is_word_char(*c))))
        }
        _ => false,
    }
}

fn next_is_word(chars: &[char], i: usize) -> bool {
    chars.get(i + 1).is_some_and(|c| is_word_char(*c))
}

fn closes(open: char, c: char) -> bool {
    match open {
        '\u{201c}' | '"' => matches!(c, '\u{201d}' | '"' | '\u{201c}'),
        '\u{ab}' => c == '\u{bb}',
        '\u{2018}' | '\'' | '\u{2019}' => matches!(c, '\u{2019}' | '\''),
        '`' => c == '`',
        _ => false,
    }
}

/// Turns one raw word into zero or more `Word`s.
fn push_word(out: &mut Vec<Word>, raw: &[char], quoted: bool, clause: u16) {
    let mut letters: Vec<char> = Vec::with_capacity(raw.len());
    let mut masked = false;
    for (i, &c) in raw.iter().enumerate() {
        match c {
            '\'' | '\u{2019}' => {}
            '*' | '#' => {
                masked = true;
                letters.push('*');
            }
            '-' => {
                // "di-reschedule" is one word; "anak-anak" is one "anak",
                // and so is an affixed reduplication: "membentak-bentak"
                // is "membentak", "ngata-ngatain" is "ngatain".
                let (left, right) = (&raw[..i], &raw[i + 1..]);
                if left == right || (right.len() >= 3 && left.ends_with(right)) {
                    break;
                }
                if left.len() >= 3 && right.starts_with(left) && !right.contains(&'-') {
                    letters.clear();
                    letters.extend(right.iter().filter(|c| !matches!(c, '\'' | '\u{2019}')));
                    break;
                }
            }
            c if c.is_ascii_digit() && i > 0 && i + 1 < raw.len() => {
                let (p, n) = (raw[i - 1], raw[i + 1]);
                match leet(c) {
                    Some(l) if p.is_alphabetic() && n.is_alphabetic() => letters.push(l),
                    _ => letters.push(c),
                }
            }
            c => letters.push(c),
        }
    }
    // Reduplication written with a 2 ("siap2", "sesi2").
    if letters.len() > 2
        && letters.last() == Some(&'2')
        && letters[..letters.len() - 1]
            .iter()
            .all(|c| c.is_alphabetic())
    {
        letters.pop();
    }
    // "les20" or "tgl20": letters and a number are two words.
    let split = letters
        .iter()
        .position(|c| c.is_ascii_digit())
        .filter(|&p| p > 0 && letters[..p].iter().all(|c| c.is_alphabetic()))
        .filter(|&p| letters[p..].iter().all(|c| c.is_ascii_digit()));
    if let Some(p) = split {
        let (a, b) = letters.split_at(p);
        out.push(make_word(a, quoted, clause, masked));
        out.push(make_word(b, quoted, clause, false));
        return;
    }
    if !letters.is_empty() {
        out.push(make_word(&letters, quoted, clause, masked));
    }
}

fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        _ => return None,
    })
}

fn make_word(letters: &[char], quoted: bool, clause: u16, masked: bool) -> Word {
    let (text, squeezed) = squeeze(letters);
    Word {
        text,
        squeezed,
        quoted,
        clause,
        masked,
    }
}

/// Runs of three or more equal letters: cut to two, and (second result)
/// to one. Digits are left alone ("1000").
fn squeeze(letters: &[char]) -> (String, Option<String>) {
    let mut two = String::with_capacity(letters.len());
    let mut one = String::with_capacity(letters.len());
    let mut long_run = false;
    let mut i = 0;
    while i < letters.len() {
        let c = letters[i];
        let mut j = i;
        while j < letters.len() && letters[j] == c {
            j += 1;
        }
        let run = j - i;
        if run >= 3 && c.is_alphabetic() {
            long_run = true;
            two.push(c);
            two.push(c);
            one.push(c);
        } else {
            for _ in 0..run {
                two.push(c);
                one.push(c);
            }
        }
        i = j;
    }
    (two, long_run.then_some(one))
}

/// The plain word normalisation other stages use (slot choices, fact
/// tokens): the cleaned words joined by single spaces, with one space at
/// each end so that phrases match on word boundaries.
pub fn normalize(text: &str) -> String {
    let clean = clean(text);
    let mut out = String::with_capacity(clean.len() + 2);
    out.push(' ');
    for w in clean
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        out.push_str(w);
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        words(s).into_iter().map(|w| w.text).collect()
    }

    fn squeezed(s: &str) -> Vec<String> {
        words(s)
            .into_iter()
            .map(|w| w.squeezed.unwrap_or(w.text))
            .collect()
    }

    #[test]
    fn case_width_and_accents_are_folded() {
        assert_eq!(texts("CANCEL My Lesson"), ["cancel", "my", "lesson"]);
        // Full-width and mathematical letters (NFKC).
        assert_eq!(texts("ｒｅｆｕｎｄ"), ["refund"]);
        assert_eq!(texts("𝐫𝐞𝐟𝐮𝐧𝐝 𝓅𝓁𝑒𝒶𝓈𝑒"), ["refund", "please"]);
        assert_eq!(texts("cancél café"), ["cancel", "cafe"]);
        assert_eq!(texts("İPTAL"), ["iptal"]);
    }

    #[test]
    fn invisible_characters_join_what_they_split() {
        assert_eq!(texts("re\u{200b}fund"), ["refund"]);
        assert_eq!(texts("ba\u{200d}tal\u{feff}"), ["batal"]);
        assert_eq!(texts("hap\u{00ad}us da\u{2060}ta"), ["hapus", "data"]);
        assert_eq!(texts("refund\u{00a0}\u{2003}now"), ["refund", "now"]);
    }

    #[test]
    fn repeated_letters_are_cut_to_two_and_to_one() {
        assert_eq!(texts("refunddd pleaseee"), ["refundd", "pleasee"]);
        assert_eq!(squeezed("refunddd pleaseee"), ["refund", "please"]);
        assert_eq!(squeezed("CANCELLLL"), ["cancel"]);
        assert_eq!(texts("goooood"), ["good"]);
        assert_eq!(squeezed("kakkk batalll mauuu"), ["kak", "batal", "mau"]);
        // Legitimate double letters and numbers stay.
        assert_eq!(
            squeezed("cancelled money 1000"),
            ["cancelled", "money", "1000"]
        );
        assert!(words("session").iter().all(|w| w.squeezed.is_none()));
    }

    #[test]
    fn emoji_and_punctuation_are_dropped_and_split_clauses() {
        let w = words("refund!!! 😭😭 now, please");
        assert_eq!(
            w.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["refund", "now", "please"]
        );
        assert!(w[0].clause < w[1].clause && w[1].clause < w[2].clause);
        assert_eq!(texts("👍"), Vec::<String>::new());
        assert_eq!(texts("jam 10:00 ya"), ["jam", "10", "00", "ya"]);
    }

    #[test]
    fn apostrophes_hyphens_and_reduplication() {
        assert_eq!(texts("don't can't I'm"), ["dont", "cant", "im"]);
        assert_eq!(
            texts("lesnya bisa di-reschedule?"),
            ["lesnya", "bisa", "direschedule"]
        );
        assert_eq!(texts("e-mail charge-back"), ["email", "chargeback"]);
        // An email address is no words; an "@" alone or a handle stays.
        assert_eq!(
            texts("INV-1 wrong1@example.com ok, refund.team@studio.co.id"),
            ["inv", "1", "ok"]
        );
        assert_eq!(texts("email saya: sari@example.com"), ["email", "saya"]);
        assert_eq!(texts("anak-anak siap2 sesi2"), ["anak", "siap", "sesi"]);
        assert_eq!(texts("tgl20 jam5"), ["tgl", "20", "jam", "5"]);
    }

    #[test]
    fn look_alike_digits_and_masks_inside_words() {
        assert_eq!(texts("b0doh sh1t"), ["bodoh", "shit"]);
        assert_eq!(texts("4pm 2x"), ["4pm", "2x"]);
        let w = words("f*ck a**hole");
        assert_eq!(w[0].text, "f*ck");
        assert!(w[0].masked && w[1].masked);
        assert!(!words("5 * 3")[0].masked);
    }

    #[test]
    fn balanced_quotes_mark_mentions() {
        let w = words("The app shows \"payment cancelled\" but I paid");
        let quoted: Vec<_> = w
            .iter()
            .filter(|w| w.quoted)
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!(quoted, ["payment", "cancelled"]);
        let w = words("I typed 'cancel' by mistake");
        assert!(w[2].quoted && !w[3].quoted);
        let w = words("tulisannya “batal” padahal");
        assert!(w[1].quoted && !w[2].quoted);
        // An apostrophe is not a quote; an unbalanced quote quotes nothing.
        assert!(words("I don't want it").iter().all(|w| !w.quoted));
        assert!(words("\"refund now").iter().all(|w| !w.quoted));
    }

    #[test]
    fn words_spelled_out_letter_by_letter_are_joined() {
        assert_eq!(texts("R E F U N D now"), ["refund", "now"]);
        assert_eq!(texts("b.a.t.a.l.i.n aja"), ["batalin", "aja"]);
        assert_eq!(texts("s h i t service"), ["shit", "service"]);
        // Two single letters are not a word spelled out.
        assert_eq!(texts("a b c"), ["abc"]);
        assert_eq!(texts("I am a student"), ["i", "am", "a", "student"]);
    }

    #[test]
    fn masks_at_the_end_and_with_hashes() {
        let w = words("f*** you, b#ngsat");
        assert_eq!(w[0].text, "f***");
        assert!(w[0].masked);
        assert_eq!(w[2].text, "b*ngsat");
        assert!(w[2].masked);
        // One trailing mark, or marks alone, mask nothing.
        assert_eq!(texts("a* b"), ["a", "b"]);
        assert_eq!(texts("#refund"), ["refund"]);
    }

    #[test]
    fn plain_normalisation_keeps_words_and_pads() {
        assert_eq!(normalize("Nomor 2, ya KAK!"), " nomor 2 ya kak ");
        assert_eq!(normalize("２"), " 2 ");
    }
}
