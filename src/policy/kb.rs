//! Knowledge-base matching: a turn is answered from a published article
//! only when the article *covers* it (CONTRACT section 2: "R0 auto-answers
//! only a turn that a published article fully answers").
//!
//! Two conditions, on the turn's content words (courtesy and filler words
//! aside, slang resolved, stems and bilingual synonyms from
//! `config/intents.toml` joined):
//! 1. the turn is close to one of the article's questions: Dice similarity
//!    `2|A∩B| / (|A|+|B|)` of the word sets at or above the threshold;
//! 2. every content word of the turn appears in the article (its title,
//!    questions or body, in either language): "What's the wifi password at the studio?" shares
//!    "studio" with the address article but asks about the wifi, so the
//!    address article does not answer it. Words of `[kb] implied` are
//!    exempt: the business's own subject ("les", "studio", "vokal") and
//!    verbs that name no subject ("offer", "use", "take").
//!
//! Drafts never answer. Whether the turn asks for anything else (an
//! account matter, a risky request) is intent detection's business
//! (`Detection::may_answer_from_kb`).

use crate::core::records::{Article, ArticleStatus};
use crate::policy::intent::Detector;

#[derive(Debug, Clone, PartialEq)]
pub struct KbMatch {
    pub article_id: String,
    pub version: u32,
    pub score: f64,
}

/// Similarity of two sorted term lists: 2|A∩B| / (|A|+|B|); 0 when they
/// share only question words ("thank you so *much*" is not "how *much*").
fn dice(detector: &Detector, a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common: Vec<&String> = a.iter().filter(|t| b.binary_search(t).is_ok()).collect();
    if common.iter().all(|t| detector.is_question_word(t)) {
        return 0.0;
    }
    2.0 * common.len() as f64 / (a.len() + b.len()) as f64
}

/// The published article that covers `text` and whose question best
/// matches it, if that match reaches `threshold` (0..1).
pub fn best_match(
    detector: &Detector,
    text: &str,
    articles: &[Article],
    threshold: f64,
) -> Option<KbMatch> {
    let asked = detector.kb_terms(text);
    if asked.is_empty() {
        return None;
    }
    let mut close: Vec<(&Article, f64)> = articles
        .iter()
        .filter(|a| a.status == ArticleStatus::Published)
        .filter_map(|a| {
            let score = a
                .questions
                .iter()
                .map(|q| dice(detector, &asked, &detector.kb_terms_memo(q)))
                .fold(0.0, f64::max);
            (score >= threshold && score > 0.0).then_some((a, score))
        })
        .collect();
    close.sort_by(|x, y| y.1.total_cmp(&x.1));
    close
        .into_iter()
        .find(|(a, _)| covers(detector, a, &asked))
        .map(|(a, score)| KbMatch {
            article_id: a.id.clone(),
            version: a.version,
            score,
        })
}

/// Every asked term appears in the article's title, questions or body (in
/// either language).
fn covers(detector: &Detector, article: &Article, asked: &[String]) -> bool {
    let title = detector.kb_terms_memo(&article.title);
    let body = detector.kb_terms_memo(&article.body);
    let body_id = detector.kb_terms_memo(article.body_id.as_deref().unwrap_or(""));
    let questions: Vec<_> = article
        .questions
        .iter()
        .map(|q| detector.kb_terms_memo(q))
        .collect();
    asked.iter().all(|t| {
        detector.kb_implied(t)
            || title.binary_search(t).is_ok()
            || body.binary_search(t).is_ok()
            || body_id.binary_search(t).is_ok()
            || questions.iter().any(|q| q.binary_search(t).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(id: &str, status: ArticleStatus, questions: &[&str], body: &str) -> Article {
        Article {
            id: id.into(),
            title: id.into(),
            status,
            body: body.into(),
            questions: questions.iter().map(|q| q.to_string()).collect(),
            version: 3,
            body_id: None,
        }
    }

    fn kb() -> Vec<Article> {
        vec![
            article(
                "price",
                ArticleStatus::Published,
                &[
                    "berapa harga les vokal per bulan",
                    "how much is a monthly vocal course",
                    "berapa harga les",
                ],
                "A private vocal lesson is Rp 450.000 for 60 minutes. / Les vokal privat Rp 450.000 per 60 menit.",
            ),
            article(
                "address",
                ArticleStatus::Published,
                &["alamat studio di mana", "where is the studio"],
                "Jl. Kemang Raya No. 10, Jakarta Selatan. Parking in front of the building.",
            ),
            article(
                "hours",
                ArticleStatus::Published,
                &["buka jam berapa", "what are your opening hours"],
                "Monday to Saturday, 10:00 to 21:00. / Senin sampai Sabtu.",
            ),
            article(
                "payment-methods",
                ArticleStatus::Published,
                &["can I pay with QRIS", "bisa bayar pakai QRIS"],
                "QRIS, bank transfer and cards through Midtrans.",
            ),
        ]
    }

    fn answer(text: &str) -> Option<String> {
        best_match(&Detector::shipped(), text, &kb(), 0.5).map(|m| m.article_id)
    }

    #[test]
    fn published_articles_answer_close_questions_in_either_language() {
        let m = best_match(
            &Detector::shipped(),
            "Kak, berapa harga les vokal per bulan ya?",
            &kb(),
            0.6,
        )
        .unwrap();
        assert_eq!((m.article_id.as_str(), m.version), ("price", 3));
        assert_eq!(answer("where is your studio?").as_deref(), Some("address"));
        assert_eq!(
            answer("alamat studionya dimana kak").as_deref(),
            Some("address")
        );
        assert_eq!(answer("brp harga les kak").as_deref(), Some("price"));
        assert_eq!(
            answer("What are your opening hours?").as_deref(),
            Some("hours")
        );
        assert_eq!(
            answer("Can I pay with QRIS?").as_deref(),
            Some("payment-methods")
        );
        assert_eq!(
            answer("bisa bayar pake qris ga kak?").as_deref(),
            Some("payment-methods")
        );
        assert!(answer("my payment failed twice").is_none());
    }

    #[test]
    fn an_article_must_cover_every_content_word_of_the_question() {
        // One shared word is not an answer.
        assert_eq!(answer("What's the wifi password at the studio?"), None);
        assert_eq!(answer("where is the studio toilet key?"), None);
        // The price article does not answer the time of the student's lesson.
        assert_eq!(answer("kak, les saya minggu ini jam brp?"), None);
        assert_eq!(answer("berapa harga les gitar?"), None);
        // What the body says is covered.
        assert_eq!(
            answer("berapa harga les vokal privat?").as_deref(),
            Some("price")
        );
        // The business's own subject and verbs that name none need not be
        // in the article ([kb] implied); a day it does not name must be.
        assert_eq!(answer("What time do you open?").as_deref(), Some("hours"));
        assert_eq!(
            answer("jam operasional studio berapa kak").as_deref(),
            Some("hours")
        );
        assert_eq!(
            answer("bisa bayar pakai QRIS gak kak buat les").as_deref(),
            Some("payment-methods")
        );
        assert_eq!(
            answer("studio di kemang sebelah mana?").as_deref(),
            Some("address")
        );
        assert_eq!(answer("is the studio open on sunday?"), None);
        assert_eq!(answer("do you offer guitar lessons?"), None);
    }

    #[test]
    fn the_indonesian_body_covers_too() {
        let mut a = article(
            "hours",
            ArticleStatus::Published,
            &["buka jam berapa", "what are your opening hours"],
            "Monday to Saturday, 10:00 to 21:00.",
        );
        a.body_id = Some("Senin sampai Sabtu, 10:00 sampai 21:00.".into());
        let kb = [a];
        let answer = |text: &str| best_match(&Detector::shipped(), text, &kb, 0.5);
        assert!(answer("buka jam berapa sampai sabtu?").is_some());
        assert!(answer("buka jam berapa hari minggu?").is_none());
    }

    #[test]
    fn greetings_and_thanks_are_not_content() {
        assert_eq!(
            answer("halo kak, selamat pagi, berapa harga les? makasih").as_deref(),
            Some("price")
        );
        assert_eq!(answer("halo kak"), None);
        assert_eq!(answer("thank you so much!"), None);
    }

    #[test]
    fn drafts_never_answer() {
        let kb = vec![article(
            "trial",
            ArticleStatus::Draft,
            &["is there a free trial class"],
            "A first trial lesson is free.",
        )];
        assert!(
            best_match(
                &Detector::shipped(),
                "is there a free trial class",
                &kb,
                0.1
            )
            .is_none()
        );
    }
}
