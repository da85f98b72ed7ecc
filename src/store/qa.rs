//! Post-send audit records: drawn samples (`q` + sample id) and the labels
//! reviewers put on their items (`r` + sample id + item index). Both are
//! versioned kinds; a label for an item replaces the earlier one.

use serde::{Deserialize, Serialize};

use super::codec::{Versioned, decode, encode};
use super::{Store, StoreError, keys};
use crate::core::types::{CaseId, Tier, Timestamp};

/// One sampled reply: where it is stored and what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaItem {
    pub case: CaseId,
    /// The reply's log sequence in its case.
    pub seq: u64,
    pub tier: Option<Tier>,
    pub template: Option<String>,
    pub sent_at: Timestamp,
}

/// A drawn sample, stored so that labels refer to it by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaSample {
    pub id: uuid::Uuid,
    pub created_at: Timestamp,
    pub by: String,
    pub from: Timestamp,
    /// The first instant after the sampled period.
    pub to: Timestamp,
    pub requested: u32,
    pub seed: u64,
    /// Replies sent in the period, before sampling.
    pub eligible: u64,
    pub items: Vec<QaItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Correct,
    Incorrect,
    Risky,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [Verdict::Correct, Verdict::Incorrect, Verdict::Risky];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Incorrect => "incorrect",
            Verdict::Risky => "risky",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The scorecard's dimensions, in the order they are stored and shown.
pub const DIMENSIONS: [&str; 6] = [
    "correctness",
    "completeness",
    "safety",
    "tone",
    "efficiency",
    "tool_integrity",
];

/// Scores 0 (bad) .. 2 (good), one per [`DIMENSIONS`] entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scores(pub [u8; 6]);

/// A reviewer's label on one sampled reply. Labelling an item again
/// replaces the earlier label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaLabel {
    pub sample: uuid::Uuid,
    pub item: u32,
    pub reply: QaItem,
    pub verdict: Verdict,
    pub scores: Scores,
    pub reviewer: String,
    pub note: Option<String>,
    pub at: Timestamp,
}

impl Versioned for QaSample {
    const KIND: &'static str = "qa sample";
    const TAG: u8 = 60;
    const VERSION: u16 = 1;
}

impl Versioned for QaLabel {
    const KIND: &'static str = "qa label";
    const TAG: u8 = 61;
    const VERSION: u16 = 1;
}

impl Store {
    pub async fn put_qa_sample(&self, sample: QaSample) -> Result<(), StoreError> {
        let value = encode(&sample)?;
        self.committer
            .run(move |tx| {
                tx.insert(keys::qa_sample(sample.id), value);
                Ok(())
            })
            .await
    }

    pub fn qa_sample(&self, id: uuid::Uuid) -> Result<Option<QaSample>, StoreError> {
        match self.db()?.get(keys::qa_sample(id))? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// The `limit` most recently drawn samples, newest first (sample ids
    /// are UUID v7, so key order is drawing order).
    pub fn recent_qa_samples(&self, limit: usize) -> Result<Vec<QaSample>, StoreError> {
        self.db()?
            .scan_prefix([keys::QA_SAMPLE])
            .rev()
            .take(limit)
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    /// Stores labels, all or none.
    pub async fn put_qa_labels(&self, labels: Vec<QaLabel>) -> Result<(), StoreError> {
        let encoded = labels
            .iter()
            .map(|l| Ok((keys::qa_label(l.sample, l.item), encode(l)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.committer
            .run(move |tx| {
                for (k, v) in encoded {
                    tx.insert(k, v);
                }
                Ok(())
            })
            .await
    }

    /// The labels of one sample, by item.
    pub fn qa_labels_of(&self, sample: uuid::Uuid) -> Result<Vec<QaLabel>, StoreError> {
        self.db()?
            .scan_prefix(keys::qa_label_prefix(sample))
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    /// Every label of every sample.
    pub fn qa_labels(&self) -> Result<Vec<QaLabel>, StoreError> {
        self.db()?
            .scan_prefix([keys::QA_LABEL])
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{QaItem, Scores, Verdict};
    use crate::core::types::{CaseId, Tier, Timestamp};

    fn item(seq: u64) -> QaItem {
        QaItem {
            case: CaseId(uuid::Uuid::from_u128(9)),
            seq,
            tier: Some(Tier::R1),
            template: Some("wa.r1.schedule".into()),
            sent_at: Timestamp(1_000),
        }
    }

    #[tokio::test]
    async fn samples_and_labels_round_trip_and_a_label_replaces_the_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        let id = uuid::Uuid::now_v7();
        let sample = QaSample {
            id,
            created_at: Timestamp(5),
            by: "dewi".into(),
            from: Timestamp(0),
            to: Timestamp(10),
            requested: 2,
            seed: 42,
            eligible: 2,
            items: vec![item(1), item(2)],
        };
        store.put_qa_sample(sample.clone()).await.unwrap();
        assert_eq!(store.qa_sample(id).unwrap(), Some(sample.clone()));
        let later = QaSample {
            id: uuid::Uuid::now_v7(),
            ..sample.clone()
        };
        store.put_qa_sample(later.clone()).await.unwrap();
        assert_eq!(
            store.recent_qa_samples(5).unwrap(),
            vec![later.clone(), sample.clone()],
            "newest first"
        );
        assert_eq!(store.recent_qa_samples(1).unwrap(), vec![later]);
        let label = |verdict, reviewer: &str| QaLabel {
            sample: id,
            item: 1,
            reply: item(2),
            verdict,
            scores: Scores([2, 2, 1, 2, 2, 2]),
            reviewer: reviewer.into(),
            note: None,
            at: Timestamp(20),
        };
        store
            .put_qa_labels(vec![label(Verdict::Correct, "rina")])
            .await
            .unwrap();
        store
            .put_qa_labels(vec![label(Verdict::Risky, "dewi")])
            .await
            .unwrap();
        let labels = store.qa_labels_of(id).unwrap();
        assert_eq!(labels, vec![label(Verdict::Risky, "dewi")]);
        assert_eq!(store.qa_labels().unwrap().len(), 1);
    }

    #[test]
    fn the_encoded_kinds_carry_their_tags_and_versions() {
        let bytes = encode(&QaLabel {
            sample: uuid::Uuid::nil(),
            item: 0,
            reply: item(1),
            verdict: Verdict::Correct,
            scores: Scores([0; 6]),
            reviewer: "a".into(),
            note: Some("n".into()),
            at: Timestamp(0),
        })
        .unwrap();
        assert_eq!(&bytes[..3], &[61, 0, 1]);
        assert!(decode::<QaSample>(&bytes).is_err());
    }
}

#[cfg(test)]
mod fixtures {
    //! What schema 1 of each kind wrote, committed as bytes: a later
    //! binary must still read them (change a struct, bump its version).

    use super::*;
    use super::{QaItem, Scores, Verdict};
    use crate::core::types::{CaseId, Tier, Timestamp};

    fn item() -> QaItem {
        QaItem {
            case: CaseId(uuid::Uuid::from_u128(
                0x0192_0000_0000_7000_8000_0000_0000_0001,
            )),
            seq: 42,
            tier: Some(Tier::R2),
            template: Some("wa.r2.reschedule.done".into()),
            sent_at: Timestamp(1_795_489_200_000),
        }
    }

    fn sample_v1() -> QaSample {
        QaSample {
            id: uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002),
            created_at: Timestamp(1_795_500_000_000),
            by: "dewi".into(),
            from: Timestamp(1_795_000_000_000),
            to: Timestamp(1_795_600_000_000),
            requested: 10,
            seed: 7,
            eligible: 120,
            items: vec![item()],
        }
    }

    fn label_v1() -> QaLabel {
        QaLabel {
            sample: uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002),
            item: 0,
            reply: item(),
            verdict: Verdict::Risky,
            scores: Scores([2, 1, 0, 2, 2, 1]),
            reviewer: "dewi".into(),
            note: Some("promised a refund".into()),
            at: Timestamp(1_795_510_000_000),
        }
    }

    fn bytes(hex_text: &str) -> Vec<u8> {
        hex::decode(hex_text.trim()).expect("fixture is hex")
    }

    #[test]
    fn schema_1_bytes_still_read() {
        let sample = bytes(include_str!("../../tests/data/fixtures/qa_sample.v1.hex"));
        assert_eq!(decode::<QaSample>(&sample).unwrap(), sample_v1());
        let label = bytes(include_str!("../../tests/data/fixtures/qa_label.v1.hex"));
        assert_eq!(decode::<QaLabel>(&label).unwrap(), label_v1());
    }

    #[test]
    #[ignore = "writes the fixtures; run once when a new schema version is added"]
    fn write_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fixtures");
        std::fs::write(
            format!("{dir}/qa_sample.v1.hex"),
            hex::encode(encode(&sample_v1()).unwrap()) + "\n",
        )
        .unwrap();
        std::fs::write(
            format!("{dir}/qa_label.v1.hex"),
            hex::encode(encode(&label_v1()).unwrap()) + "\n",
        )
        .unwrap();
    }
}
