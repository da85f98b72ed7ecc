//! Candidate stems of a word, for matching it against the vocabulary.
//!
//! Formal Indonesian is stemmed with `sastrawi-rs` (crate `sastrawi`, MIT),
//! an implementation of the Nazief–Adriani algorithm with Enhanced Confix
//! Stripping (Nazief & Adriani 1996; Arifin, Mahendra & Ciptaningtyas 2009,
//! "Enhanced Confix Stripping Stemmer and Ants Algorithm for Classifying
//! News Document in Indonesian Language") over its dictionary of about
//! 30,000 root words: "dibatalkan", "pembatalan", "membatalkan" -> "batal".
//!
//! That dictionary knows neither informal Jakarta affixes nor English loan
//! stems, so informal rules are added here, each yielding candidates only
//! (a candidate counts when the vocabulary knows it):
//! - suffixes `-in`, `-nya`, `-lah`, `-kah`, `-dong`, `-deh`, `-ku`, `-mu`,
//!   `-kan`, `-an`, `-i` and their stacks ("balikinnya" -> "balik");
//! - prefixes `di-`, `ke-`, `ter-`, `ber-`, `se-`, `me-`/`pe-` with their
//!   nasal forms, and the colloquial nasal forms `nge-`, `ng-`, `ny-`,
//!   `m-`, `n-` ("mindahin" -> "pindah", "ngembaliin" -> "kembali",
//!   "ngapus" -> "hapus", "ngecancel" -> "cancel", "nuntut" -> "tuntut");
//! - confixes `ke-...-an`, `pe-...-an`, `per-...-an` ("pengembalian" ->
//!   "kembali", which the dictionary holds as a root of its own);
//! - Javanese suffixes `-e`, `-ne`, `-no`, `-ke` and Sundanese `-keun`, `-eun` on words that are neither
//!   English nor Indonesian roots ("duwite", "dibalikne", "diterusno");
//! - English inflection: `-s`, `-es`, `-ed`, `-ing`, `-ation`, `-ment`,
//!   with the final `e` restored and doubled consonants undone
//!   ("cancelled", "cancellation" -> "cancel"; "deleting" -> "delete").
//!
//! Work per word is bounded (a few dozen short strings); nothing here
//! depends on the size of the vocabulary.

use std::collections::HashSet;
use std::sync::LazyLock;

use sastrawi::{Dictionary, Stemmer};

static DICTIONARY: LazyLock<Dictionary> = LazyLock::new(Dictionary::new);
static STEMMER: LazyLock<Stemmer<'static>> = LazyLock::new(|| Stemmer::new(&DICTIONARY));

/// Whether `word` is an Indonesian root word of the stemmer's dictionary.
pub fn is_root_word(word: &str) -> bool {
    DICTIONARY.find(word)
}

/// English words of three letters or more (SCOWL size 50, see the file's
/// header), built into the binary.
static ENGLISH: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../../config/dictionary-en.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Whether `word` (lower case) is an English word of the built-in list
/// (`config/dictionary-en.txt`, words of three letters or more): such a word
/// is written on purpose, never a typo of a vocabulary word.
pub fn is_english_word(word: &str) -> bool {
    ENGLISH.contains(word)
}

/// The Nazief–Adriani / ECS stem of an Indonesian word (itself when the
/// stemmer knows no better).
pub fn formal_stem(word: &str) -> String {
    if !word.is_ascii() || word.len() < 4 {
        return word.to_string();
    }
    STEMMER.stem_word(word).into_owned()
}

const SUFFIXES: &[&str] = &[
    "nya", "lah", "kah", "dong", "deh", "sih", "pun", "ku", "mu", "kan", "in", "an", "i",
];

/// Javanese `-ne`, `-no`, `-ke`, `-e`; Sundanese `-keun`, `-eun`
/// ("dieureunkeun", "dibalikeun").
const REGIONAL_SUFFIXES: &[&str] = &["keun", "eun", "ne", "no", "ke", "e"];

/// Whether `word` begins with a nasal prefix that Indonesian morphology
/// never writes before the Indonesian root that follows ("pengcara":
/// `peng-` goes only before a vowel, g, h or k; `pen-` never before b or
/// p). Such a word is not a real derived form, whatever root the stemmer
/// strips it to: a typo of another word ("pengacara").
pub fn ill_formed_prefix(word: &str) -> bool {
    let b = word.as_bytes();
    let consonant = |c: u8| c.is_ascii_lowercase() && !vowel(c);
    // Loanwords take a prefix as they are ("mengcancel", "pengrefund"):
    // only a remainder that is an Indonesian root shows a misspelling.
    let root_after = |n: usize| word.get(n..).is_some_and(is_root_word);
    for p in ["meng", "peng"] {
        if word.starts_with(p) {
            return b
                .get(4)
                .is_some_and(|&c| consonant(c) && !matches!(c, b'g' | b'h' | b'k'))
                && root_after(4);
        }
    }
    for p in ["meny", "peny"] {
        if word.starts_with(p) {
            return false;
        }
    }
    for p in ["men", "pen"] {
        if word.starts_with(p) {
            return b
                .get(3)
                .is_some_and(|&c| matches!(c, b'b' | b'p' | b'f' | b'v'))
                && root_after(3);
        }
    }
    false
}

/// Candidate stems of `word`, the word itself first, without duplicates.
/// Every candidate is at least three characters long (or the word itself).
pub fn candidates(word: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![word.to_string()];
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return out;
    }
    let formal = formal_stem(word);
    add(&mut out, &formal);
    // Suffix layers: up to three ("balikinnya": -nya, -in).
    let mut bases: Vec<String> = vec![word.to_string()];
    let mut frontier = vec![word.to_string()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for w in &frontier {
            for s in SUFFIXES {
                if let Some(b) = w.strip_suffix(s)
                    && b.len() >= 3
                    && !bases.iter().any(|x| x == b)
                {
                    next.push(b.to_string());
                }
            }
        }
        bases.extend(next.iter().cloned());
        frontier = next;
    }
    // Javanese and Sundanese suffixes, common in WhatsApp Indonesian: `-e`
    // and `-ne` (possessive, like `-nya`: "duwite", "lese"), `-no` and
    // `-ke` (causative, like `-kan`: "balekno", "diterusno"), also after
    // a prefix ("dibalikne"). Only for a word that is neither English nor
    // an Indonesian root ("sore", "kece", "note" stay whole).
    if !is_english_word(word) && !is_root_word(word) {
        for s in REGIONAL_SUFFIXES {
            if let Some(b) = word.strip_suffix(s)
                && b.len() >= 3
                && !bases.iter().any(|x| x == b)
            {
                bases.push(b.to_string());
            }
        }
    }
    // When the stemmer finds a root, another prefix reading counts only if
    // it gives a root too or keeps that root: "menaikkan" is "naik", never
    // "taik"; "dilaporkan" is still "laporkan".
    let rooted = formal != word && is_root_word(&formal);
    let fits = |c: &str| !rooted || is_root_word(c) || c.contains(formal.as_str());
    for b in &bases {
        add(&mut out, b);
        // A root word has no prefix to take off: "naik" is not a nasal
        // form of "taik", nor "nanti" of "tanti".
        if is_root_word(b) {
            continue;
        }
        for p in unprefixed(b) {
            if fits(&p) {
                add(&mut out, &p);
            }
            // A second prefix layer: "diper-", "memper-", "keber-".
            if is_root_word(&p) {
                continue;
            }
            for q in unprefixed(&p) {
                if fits(&q) {
                    add(&mut out, &q);
                }
            }
        }
    }
    for e in english(word) {
        add(&mut out, &e);
    }
    out
}

fn add(out: &mut Vec<String>, w: &str) {
    if w.len() >= 3 && !out.iter().any(|x| x == w) {
        out.push(w.to_string());
    }
}

fn vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// Roots `w` may have after one prefix is taken off, with the nasal
/// assimilation undone ("mem"+"indah" may be "pindah").
fn unprefixed(w: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |s: String| {
        if s.len() >= 3 && !out.contains(&s) {
            out.push(s);
        }
    };
    let starts_vowel = |r: &str| r.as_bytes().first().copied().is_some_and(vowel);
    for p in [
        "di", "ke", "ter", "te", "ber", "be", "bel", "se", "per", "pel",
    ] {
        if let Some(r) = w.strip_prefix(p) {
            push(r.to_string());
        }
    }
    // me-/pe- and colloquial nasal prefixes, longest first.
    for (p, colloquial) in [
        ("menge", false),
        ("penge", false),
        ("meng", false),
        ("peng", false),
        ("meny", false),
        ("peny", false),
        ("mem", false),
        ("pem", false),
        ("men", false),
        ("pen", false),
        ("me", false),
        ("pe", false),
        ("nge", true),
        ("ng", true),
        ("ny", true),
        ("m", true),
        ("n", true),
    ] {
        let Some(r) = w.strip_prefix(p) else { continue };
        if r.len() < 2 {
            continue;
        }
        match p {
            "menge" | "penge" | "nge" => push(r.to_string()),
            "meng" | "peng" | "ng" => {
                push(r.to_string());
                if starts_vowel(r) {
                    push(format!("k{r}"));
                    // Colloquial "ngapus" for "menghapus", unless the bare
                    // form is a root of its own ("ngajar" is "ajar").
                    if !is_root_word(r) {
                        push(format!("h{r}"));
                    }
                }
            }
            "meny" | "peny" | "ny" if starts_vowel(r) => {
                push(format!("s{r}"));
                push(format!("c{r}"));
            }
            "mem" | "pem" | "m" => {
                if starts_vowel(r) {
                    push(format!("p{r}"));
                    if !colloquial {
                        push(format!("m{r}"));
                    }
                } else if !colloquial && matches!(r.as_bytes()[0], b'b' | b'p' | b'f' | b'v') {
                    push(r.to_string());
                } else if colloquial && r.as_bytes()[0] == b'b' {
                    // "mbayar", "mbatalin"
                    push(r.to_string());
                }
            }
            "men" | "pen" | "n" => {
                if starts_vowel(r) {
                    push(format!("t{r}"));
                    if !colloquial {
                        push(format!("n{r}"));
                    }
                } else if !colloquial && matches!(r.as_bytes()[0], b'c' | b'd' | b'j' | b't' | b'z')
                {
                    push(r.to_string());
                }
            }
            "me" | "pe" if !starts_vowel(r) => push(r.to_string()),
            _ => {}
        }
    }
    out
}

/// Common affixed forms of an Indonesian (or loan) root, built forward
/// with the nasal assimilation of `me-`/`pe-` (b/f/v: mem-; p: mem- without
/// p; t: men- without t; c/d/j/z: men-; s: meny- without s; k: meng-
/// without k; g/h/vowels: meng-; l/m/n/r/w/y: me-): "batal" ->
/// "dibatalkan", "pembatalan", "membatalkan", "batalin"... Typos are
/// looked for among these too, so "pembatalam" is a typo of "batal".
pub fn affixed_forms(root: &str) -> Vec<String> {
    let mut out = Vec::new();
    if root.len() < 4 || !root.bytes().all(|b| b.is_ascii_lowercase()) {
        return out;
    }
    let nasal = |prefix: &str| -> String {
        let (head, rest) = root.split_at(1);
        let stem = |s: &str| format!("{prefix}{s}");
        match head.as_bytes()[0] {
            b'b' | b'f' | b'v' => stem(&format!("m{root}")),
            b'p' => stem(&format!("m{rest}")),
            b't' => stem(&format!("n{rest}")),
            b'c' | b'd' | b'j' | b'z' => stem(&format!("n{root}")),
            b's' => stem(&format!("ny{rest}")),
            b'k' => stem(&format!("ng{rest}")),
            b'l' | b'm' | b'n' | b'r' | b'w' | b'y' => stem(root),
            _ => stem(&format!("ng{root}")),
        }
    };
    let me = nasal("me");
    let pe = nasal("pe");
    for (prefix_form, suffixes) in [
        (
            root.to_string(),
            &["kan", "an", "i", "in", "nya", "kannya", "innya"][..],
        ),
        (
            format!("di{root}"),
            &["", "kan", "i", "in", "nya", "kannya"][..],
        ),
        (me, &["", "kan", "i"][..]),
        (pe, &["an", "annya"][..]),
        (format!("ke{root}"), &["an"][..]),
        (format!("ter{root}"), &["", "kan"][..]),
        (format!("nge{root}"), &["", "in"][..]),
    ] {
        for s in suffixes {
            out.push(format!("{prefix_form}{s}"));
        }
    }
    out
}

/// An English plural undone ("lessons" -> "lesson", "classes" -> "class"),
/// or the word itself.
pub fn english_base(w: &str) -> &str {
    if w.len() > 4 && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        if let Some(b) = w.strip_suffix("sses") {
            return &w[..b.len() + 2];
        }
        if let Some(b) = w.strip_suffix('s') {
            return b;
        }
    }
    w
}

/// English inflections of `w` undone: plural, past, gerund, -ation, -ment.
fn english(w: &str) -> Vec<String> {
    let mut out = Vec::new();
    for suffix in [
        "ations", "ation", "ions", "ion", "ments", "ment", "ing", "ed", "es", "s", "d",
    ] {
        let Some(stem) = w.strip_suffix(suffix) else {
            continue;
        };
        if stem.len() < 3 {
            continue;
        }
        out.push(stem.to_string());
        out.push(format!("{stem}e"));
        let b = stem.as_bytes();
        if b.len() >= 4 && b[b.len() - 1] == b[b.len() - 2] && !vowel(b[b.len() - 1]) {
            out.push(stem[..stem.len() - 1].to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yields(word: &str, stem: &str) -> bool {
        candidates(word).iter().any(|c| c == stem)
    }

    #[track_caller]
    fn all_yield(words: &[&str], stem: &str) {
        for w in words {
            assert!(yields(w, stem), "{w} -> {stem}: {:?}", candidates(w));
        }
    }

    #[test]
    fn formal_affixes_reach_the_root() {
        all_yield(
            &[
                "batal",
                "dibatalkan",
                "pembatalan",
                "membatalkan",
                "batalkan",
                "terbatalkan",
            ],
            "batal",
        );
        all_yield(
            &[
                "kembali",
                "dikembalikan",
                "pengembalian",
                "mengembalikan",
                "kembalikan",
            ],
            "kembali",
        );
        all_yield(
            &[
                "pindah",
                "dipindah",
                "dipindahkan",
                "pemindahan",
                "memindahkan",
            ],
            "pindah",
        );
        all_yield(
            &["hapus", "dihapus", "penghapusan", "menghapus", "hapuskan"],
            "hapus",
        );
        all_yield(
            &["pembayaran", "dibayar", "membayar", "terbayar", "bayaran"],
            "bayar",
        );
        all_yield(&["tuntut", "menuntut", "penuntutan", "dituntut"], "tuntut");
        all_yield(
            &["lapor", "melaporkan", "dilaporkan", "pelaporan", "laporkan"],
            "lapor",
        );
        all_yield(&["kirim", "mengirim", "pengiriman", "dikirimkan"], "kirim");
        all_yield(
            &["jadwal", "dijadwalkan", "penjadwalan", "menjadwalkan"],
            "jadwal",
        );
        all_yield(&["simpan", "menyimpan", "penyimpanan"], "simpan");
        all_yield(&["perbaiki", "diperbaiki", "memperbaiki"], "baik");
        all_yield(&["keberatan"], "berat");
    }

    #[test]
    fn particles_and_possessives_come_off() {
        all_yield(&["uangnya", "uangku", "uangmu"], "uang");
        all_yield(&["batallah", "batalkah", "bataldong", "bataldeh"], "batal");
        all_yield(&["jadwalnya", "jadwalkulah"], "jadwal");
    }

    #[test]
    fn informal_jakarta_affixes_reach_the_root() {
        all_yield(&["batalin", "dibatalin", "batalinnya", "mbatalin"], "batal");
        all_yield(&["balikin", "dibalikin", "balikinnya"], "balik");
        all_yield(&["kembaliin", "ngembaliin", "dikembaliin"], "kembali");
        all_yield(&["mindahin", "dipindahin", "pindahin"], "pindah");
        all_yield(&["hapusin", "dihapusin", "ngapus", "ngapusin"], "hapus");
        all_yield(&["nuntut"], "tuntut");
        all_yield(&["nyimpen"], "simpen");
        all_yield(&["ngirim", "kirimin", "dikirimin"], "kirim");
        all_yield(&["ngecek", "dicekin"], "cek");
    }

    #[test]
    fn english_stems_take_indonesian_affixes() {
        all_yield(
            &[
                "dicancel",
                "ngecancel",
                "cancelin",
                "cancelnya",
                "dicancelin",
            ],
            "cancel",
        );
        all_yield(
            &["direfund", "ngerefund", "refundnya", "refundin"],
            "refund",
        );
        all_yield(&["direschedule", "reschedulenya"], "reschedule");
    }

    #[test]
    fn english_inflections_come_off() {
        all_yield(
            &[
                "cancelled",
                "canceled",
                "cancelling",
                "cancellation",
                "cancels",
            ],
            "cancel",
        );
        all_yield(&["refunded", "refunding", "refunds"], "refund");
        all_yield(&["deleted", "deleting", "deletes", "deletion"], "delete");
        all_yield(&["corrections", "corrected"], "correct");
        all_yield(&["erased", "erasing"], "erase");
        all_yield(&["disputed", "disputing"], "dispute");
        all_yield(&["stopped", "stopping"], "stop");
    }

    #[test]
    fn affixed_forms_follow_the_nasal_rules() {
        let has = |root: &str, form: &str| {
            assert!(
                affixed_forms(root).iter().any(|f| f == form),
                "{root} -> {form}"
            );
        };
        has("batal", "dibatalkan");
        has("batal", "pembatalan");
        has("batal", "membatalkan");
        has("batal", "batalin");
        has("kembali", "pengembalian");
        has("kembali", "mengembalikan");
        has("pindah", "pemindahan");
        has("hapus", "penghapusan");
        has("tuntut", "menuntut");
        has("simpan", "menyimpan");
        has("lapor", "melaporkan");
        has("cancel", "dicancel");
        has("refund", "ngerefund");
        // Every form yields its root back.
        for root in ["batal", "kembali", "pindah", "hapus", "tuntut", "lapor"] {
            for form in affixed_forms(root) {
                assert!(
                    yields(&form, root),
                    "{form} -> {root}: {:?}",
                    candidates(&form)
                );
            }
        }
    }

    #[test]
    fn a_root_word_is_not_read_as_a_prefixed_form_of_another() {
        for (word, not) in [
            ("naik", "taik"),
            ("naikin", "taik"),
            ("dinaikkan", "taik"),
            ("menaikkan", "taik"),
        ] {
            assert!(!yields(word, not), "{word} -> {not}");
        }
        all_yield(&["dilaporkan"], "laporkan");
        all_yield(&["nipu"], "tipu");
        all_yield(&["ngapus"], "hapus");
    }

    #[test]
    fn short_and_non_letter_words_stay_as_they_are() {
        assert_eq!(candidates("ga"), ["ga"]);
        assert_eq!(candidates("les"), ["les"]);
        assert_eq!(candidates("inv2026"), ["inv2026"]);
        assert!(candidates("dia").iter().all(|c| c.len() >= 3));
    }
}
