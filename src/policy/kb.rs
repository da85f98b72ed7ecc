//! Knowledge-base matching: a message is answered from a published article
//! only when it matches one of the article's questions above a threshold.
//! Drafts never answer.

use std::collections::BTreeSet;

use crate::core::records::{Article, ArticleStatus};
use crate::policy::intent::normalize;

const STOPWORDS: &[&str] = &[
    "the", "a", "an", "is", "are", "do", "does", "you", "your", "i", "my", "me", "to", "of", "for",
    "in", "on", "at", "and", "or", "please", "can", "could", "hi", "hello", "there", "kak", "ya",
    "dong", "yang", "di", "ke", "dari", "saya", "aku", "apakah", "ada", "nya", "min", "halo",
    "hai", "mau", "tanya", "tolong", "dan", "atau", "untuk", "ini", "itu", "sih", "deh", "kah",
    "nih", "gan", "sis", "bang", "mba", "mas", "pak", "bu",
];

fn terms(text: &str) -> BTreeSet<String> {
    normalize(text)
        .split_whitespace()
        .filter(|w| !STOPWORDS.contains(w))
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct KbMatch {
    pub article_id: String,
    pub version: u32,
    pub score: f64,
}

/// Similarity of two term sets: 2|A∩B| / (|A|+|B|).
fn dice(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    2.0 * a.intersection(b).count() as f64 / (a.len() + b.len()) as f64
}

/// The published article whose question best matches `text`, if its score
/// reaches `threshold`.
pub fn best_match(text: &str, articles: &[Article], threshold: f64) -> Option<KbMatch> {
    let asked = terms(text);
    let asked = &asked;
    articles
        .iter()
        .filter(|a| a.status == ArticleStatus::Published)
        .flat_map(|a| a.questions.iter().map(move |q| (a, dice(asked, &terms(q)))))
        .filter(|(_, score)| *score >= threshold)
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(a, score)| KbMatch {
            article_id: a.id.clone(),
            version: a.version,
            score,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(id: &str, status: ArticleStatus, questions: &[&str]) -> Article {
        Article {
            id: id.into(),
            title: id.into(),
            status,
            body: format!("answer {id}"),
            questions: questions.iter().map(|q| q.to_string()).collect(),
            version: 3,
            body_id: None,
        }
    }

    #[test]
    fn published_articles_answer_close_questions_in_either_language() {
        let kb = vec![
            article(
                "price",
                ArticleStatus::Published,
                &[
                    "berapa harga les vokal per bulan",
                    "how much is a monthly vocal course",
                ],
            ),
            article(
                "address",
                ArticleStatus::Published,
                &["alamat studio di mana", "where is the studio"],
            ),
        ];
        let m = best_match("Kak, berapa harga les vokal per bulan ya?", &kb, 0.6).unwrap();
        assert_eq!((m.article_id.as_str(), m.version), ("price", 3));
        assert_eq!(
            best_match("where is your studio?", &kb, 0.6)
                .unwrap()
                .article_id,
            "address"
        );
        assert!(best_match("my payment failed twice", &kb, 0.6).is_none());
    }

    #[test]
    fn drafts_never_answer() {
        let kb = vec![article(
            "trial",
            ArticleStatus::Draft,
            &["is there a free trial class"],
        )];
        assert!(best_match("is there a free trial class", &kb, 0.1).is_none());
    }
}
