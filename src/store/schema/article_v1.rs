//! `Article` schema 1, frozen: one body for every language. Schema 2 added
//! `body_id` (the answer in Bahasa Indonesia). Never change these types.

use serde::{Deserialize, Serialize};

use crate::core::records as live;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum ArticleStatus {
    Published,
    Draft,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub status: ArticleStatus,
    pub body: String,
    pub questions: Vec<String>,
    pub version: u32,
}

impl From<Article> for live::Article {
    fn from(v: Article) -> Self {
        live::Article {
            id: v.id,
            title: v.title,
            status: match v.status {
                ArticleStatus::Published => live::ArticleStatus::Published,
                ArticleStatus::Draft => live::ArticleStatus::Draft,
            },
            body: v.body,
            questions: v.questions,
            version: v.version,
            body_id: None,
        }
    }
}
