//! Which language a customer writes in: English or Bahasa Indonesia,
//! including informal WhatsApp spelling. Deterministic word lists.

use crate::core::case::Language;

const INDONESIAN: &[&str] = &[
    "kak",
    "kakak",
    "dong",
    "gimana",
    "bagaimana",
    "jadwal",
    "les",
    "saya",
    "aku",
    "mau",
    "bisa",
    "tolong",
    "terima",
    "kasih",
    "makasih",
    "apa",
    "kapan",
    "yang",
    "tidak",
    "nggak",
    "gak",
    "ga",
    "sudah",
    "udah",
    "belum",
    "ya",
    "bu",
    "pak",
    "halo",
    "selamat",
    "pagi",
    "siang",
    "sore",
    "malam",
    "batal",
    "uang",
    "kembali",
    "hapus",
    "ganti",
    "minggu",
    "besok",
    "hari",
    "ini",
    "itu",
    "untuk",
    "dengan",
    "dan",
    "atau",
    "sesi",
    "bayar",
    "pembayaran",
    "sudahkah",
    "min",
    "mohon",
    "kenapa",
    "berapa",
    "dimana",
    "jam",
];

const ENGLISH: &[&str] = &[
    "the", "my", "is", "what", "when", "please", "can", "i", "you", "thanks", "thank", "hello",
    "hi", "session", "how", "want", "would", "like", "next", "payment", "is", "are", "do", "does",
    "where", "to", "of", "and", "for", "with", "me", "have", "paid",
];

/// Guesses the language of `text`; ties and empty text fall back to `prior`.
pub fn detect(text: &str, prior: Language) -> Language {
    let (mut id, mut en) = (0usize, 0usize);
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = word.to_lowercase();
        if INDONESIAN.contains(&w.as_str()) {
            id += 1;
        }
        if ENGLISH.contains(&w.as_str()) {
            en += 1;
        }
    }
    match id.cmp(&en) {
        std::cmp::Ordering::Greater => Language::Id,
        std::cmp::Ordering::Less => Language::En,
        std::cmp::Ordering::Equal => prior,
    }
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
    fn keeps_the_prior_language_when_nothing_tells() {
        assert_eq!(detect("INV-2024-001", Language::Id), Language::Id);
        assert_eq!(detect("", Language::En), Language::En);
    }
}
