//! Which language a customer writes in: English or Bahasa Indonesia,
//! including informal WhatsApp spelling. A vote of the message's words:
//! each word that is English (a list of frequent English words) or
//! Indonesian (a list of frequent and informal Indonesian words, or a root
//! of the Indonesian dictionary of the Nazief–Adriani stemmer, directly or
//! after its affixes) counts for its language. Deterministic; pure.
//!
//! Short texts matter most ("alamat studio di mana?", "duit gue balikin"):
//! WhatsApp messages often carry no greeting or pronoun that would tell.

use crate::core::case::Language;
use crate::policy::intent::{morphology, normalize};

/// Frequent and informal Indonesian words, slang and insults the stemmer's
/// dictionary does not hold.
const INDONESIAN: &[&str] = &[
    "kak",
    "kakak",
    "dong",
    "deh",
    "sih",
    "nih",
    "kok",
    "lho",
    "yah",
    "gimana",
    "bagaimana",
    "jadwal",
    "les",
    "saya",
    "aku",
    "gue",
    "gw",
    "gua",
    "lu",
    "lo",
    "elu",
    "mau",
    "bisa",
    "tolong",
    "terima",
    "kasih",
    "makasih",
    "apa",
    "kapan",
    "yang",
    "yg",
    "tidak",
    "nggak",
    "gak",
    "ga",
    "gk",
    "enggak",
    "udah",
    "udh",
    "sudah",
    "belum",
    "blm",
    "ya",
    "iya",
    "bu",
    "pak",
    "halo",
    "selamat",
    "pagi",
    "siang",
    "sore",
    "malam",
    "min",
    "mohon",
    "kenapa",
    "knp",
    "berapa",
    "brp",
    "dimana",
    "di",
    "ke",
    "dari",
    "mana",
    "aja",
    "saja",
    "dgn",
    "utk",
    "sy",
    "tp",
    "tapi",
    "jg",
    "juga",
    "kalo",
    "klo",
    "kalau",
    "gmn",
    "duit",
    "balikin",
    "batalin",
    "hapusin",
    "goblok",
    "gblk",
    "bego",
    "tolol",
    "anjing",
    "anjir",
    "bangsat",
    "kampret",
    "bacot",
    "nya",
    "lesnya",
    "dah",
    "tau",
    "pengen",
    "pgn",
    "bgt",
    "banget",
    "kalian",
    "kamu",
    "anda",
    "dia",
    "kami",
    "kita",
    "ini",
    "itu",
    "untuk",
    "dengan",
    "dan",
    "atau",
    "sesi",
    "bayar",
    "pembayaran",
    "uang",
    "kembali",
    "hapus",
    "ganti",
    "batal",
    "minggu",
    "besok",
    "hari",
    "jam",
    "bulan",
    "tahun",
    "sekarang",
    "skrg",
    "lagi",
    "lg",
];

/// Frequent English words (function words, and the words of customer
/// requests that the Indonesian dictionary also lists as loans).
const ENGLISH: &[&str] = &[
    "the", "a", "an", "my", "your", "our", "is", "are", "was", "were", "be", "been", "am", "i",
    "im", "you", "we", "they", "he", "she", "it", "me", "us", "them", "what", "when", "where",
    "why", "how", "who", "which", "please", "pls", "can", "could", "would", "will", "should",
    "thanks", "thank", "hello", "hi", "hey", "want", "need", "like", "have", "has", "had", "do",
    "does", "did", "dont", "cant", "wont", "not", "no", "yes", "and", "or", "but", "so", "if",
    "to", "of", "for", "with", "from", "at", "on", "in", "by", "about", "this", "that", "there",
    "here", "next", "lesson", "lessons", "class", "classes", "session", "sessions", "paid", "pay",
    "money", "back", "schedule", "time", "today", "tomorrow", "week", "month", "still", "already",
    "again", "get", "got", "send", "sent", "give", "tell", "know", "make", "take", "now", "just",
    "all", "any", "some", "address", "where's", "whats", "wheres", "price", "much", "many", "open",
    "stupid", "idiot", "useless", "sue", "lawyer", "number", "teacher", "kid", "son", "daughter",
    "child", "good", "great", "bad", "see", "come", "go",
];

/// English words that Indonesian chat borrows as they are: they vote for
/// neither language, since they tell nothing about the words around them
/// ("refunddd kakkk", "REFUND SEKARANG" are Indonesian; "cancel my
/// lesson" is English by "my"). Some are also roots of the Indonesian
/// dictionary ("data", "admin"), which would otherwise count them as
/// Indonesian.
const LOANWORDS: &[&str] = &[
    "refund", "cancel", "delete", "payment", "scam", "data", "account", "coach", "sorry", "ok",
    "okay", "admin", "app", "list",
];

/// Guesses the language of `text`; ties and empty text fall back to `prior`.
pub fn detect(text: &str, prior: Language) -> Language {
    let (mut id, mut en) = (0usize, 0usize);
    for w in normalize::words(text) {
        let word = w.squeezed.as_deref().unwrap_or(&w.text);
        if LOANWORDS.contains(&word) {
            continue;
        }
        if ENGLISH.contains(&word) {
            en += 1;
        } else if INDONESIAN.contains(&word) || indonesian_root(word) {
            id += 1;
        }
    }
    match id.cmp(&en) {
        std::cmp::Ordering::Greater => Language::Id,
        std::cmp::Ordering::Less => Language::En,
        std::cmp::Ordering::Equal => prior,
    }
}

/// A word of the Indonesian dictionary, or an affixed form of one
/// ("dikembalikan", "studionya", "balikin").
fn indonesian_root(word: &str) -> bool {
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    if morphology::is_root_word(word) {
        return true;
    }
    let stem = morphology::formal_stem(word);
    if stem != word && stem.len() >= 3 && morphology::is_root_word(&stem) {
        return true;
    }
    ["nya", "in", "kan", "an"].iter().any(|s| {
        word.strip_suffix(s)
            .is_some_and(|b| b.len() >= 3 && morphology::is_root_word(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_informal_indonesian_and_english() {
        let cases = [
            ("kak, jadwal les saya kapan ya?", Language::Id),
            ("gimana cara ganti jadwal dong", Language::Id),
            ("When is my next session?", Language::En),
            ("I would like a refund please", Language::En),
        ];
        for (text, want) in cases {
            assert_eq!(detect(text, Language::En), want, "{text}");
        }
    }

    #[test]
    fn short_texts_without_greetings_or_pronouns() {
        let indonesian = [
            "lokasi studionya sebelah mana?",
            "parkiran ada?",
            "uang w kembaliin",
            "dasar admin bodoh",
            "ongkos les sebulan berapa",
            "pelatihnya ramah",
            "kelas online tersedia?",
            "duit sy dibalikin dong",
            "hapus nomor ini",
            "jadwalnya geser",
        ];
        for text in indonesian {
            assert_eq!(detect(text, Language::En), Language::Id, "{text}");
        }
        let english = [
            "where's the studio?",
            "refund now",
            "useless admin",
            "money back pls",
            "what time do you open",
            "my kid is sick",
            "price list?",
            "delete my number",
            "stupid app",
            "see you next week",
        ];
        for text in english {
            assert_eq!(detect(text, Language::Id), Language::En, "{text}");
        }
    }

    #[test]
    fn borrowed_english_words_vote_for_neither_language() {
        for text in [
            "refunddd kakkk 😭😭",
            "REFUND SEKARANG",
            "cancel aja deh",
            "admin tolong",
        ] {
            assert_eq!(detect(text, Language::En), Language::Id, "{text}");
        }
        for text in ["cancel my lesson", "refund please", "delete my data"] {
            assert_eq!(detect(text, Language::Id), Language::En, "{text}");
        }
        // Alone, a borrowed word keeps the language the case had.
        assert_eq!(detect("refund", Language::Id), Language::Id);
        assert_eq!(detect("refund", Language::En), Language::En);
    }

    #[test]
    fn keeps_the_prior_language_when_nothing_tells() {
        assert_eq!(detect("INV-2024-001", Language::Id), Language::Id);
        assert_eq!(detect("", Language::En), Language::En);
        assert_eq!(detect("👍", Language::Id), Language::Id);
    }
}
