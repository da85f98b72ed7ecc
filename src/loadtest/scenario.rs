//! What the simulated customers say: a realistic mix of tiers in English and
//! Bahasa Indonesia, rapid-fire bursts and duplicate webhook deliveries.

use rand::Rng;
use rand::seq::IndexedRandom;

/// The tier a scenario is meant to land in (for the report's breakdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Expect {
    R0,
    R1,
    R2,
    R3,
    Unclassified,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::R0 => "R0",
            Expect::R1 => "R1",
            Expect::R2 => "R2",
            Expect::R3 => "R3",
            Expect::Unclassified => "unclassified",
        }
    }
}

/// One customer's conversation: messages sent in bursts, with pauses.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub expect: Expect,
    /// (delay before sending in ms, text)
    pub messages: Vec<(u64, String)>,
    /// Answer a slot offer with this option once it arrives.
    pub answers_offer: Option<u32>,
}

const R0: &[&str] = &[
    "berapa harga les vokal?",
    "how much is a lesson?",
    "what are your opening hours?",
    "jam buka studio jam berapa kak?",
    "bisa les online ga kak?",
    "can I take lessons online?",
];
const R1: &[&str] = &[
    "kak jadwal les saya kapan ya?",
    "when is my next lesson?",
    "sudah lunas belum pembayaran saya?",
    "has my payment been received?",
    "tolong kirim ulang invoice saya dong",
    "can you resend my invoice please?",
];
const R2: &[&str] = &[
    "mau ganti jadwal les dong kak",
    "I need to reschedule my lesson",
    "bisa pindah jadwal ke hari lain?",
    "can I move my session to another day?",
];
const R3: &[&str] = &[
    "saya mau refund, uang kembali ya",
    "I want a refund for my package",
    "batal les aja kak, mau berhenti",
    "I will file a chargeback if this is not fixed",
    "tolong hapus data saya",
    "please delete my data",
];
const OTHER: &[&str] = &[
    "halo kak",
    "ok makasih",
    "hello?",
    "kak, mau tanya sesuatu",
    "thanks!",
];
const FOLLOW_UPS: &[&str] = &["kak?", "halo??", "tolong dibalas ya", "please reply", "🙏"];

/// Picks a conversation: tier mix 30/30/15/10/15 (R0/R1/R2/R3/other); a
/// fifth of customers send a rapid-fire burst.
pub fn conversation(rng: &mut impl Rng) -> Conversation {
    let roll = rng.random_range(0..100);
    let (expect, pool) = match roll {
        0..30 => (Expect::R0, R0),
        30..60 => (Expect::R1, R1),
        60..75 => (Expect::R2, R2),
        75..85 => (Expect::R3, R3),
        _ => (Expect::Unclassified, OTHER),
    };
    let mut messages = vec![(0, pool.choose(rng).expect("non-empty").to_string())];
    if rng.random_bool(0.2) {
        for _ in 0..rng.random_range(1..=2) {
            let delay = rng.random_range(100..800);
            messages.push((
                delay,
                FOLLOW_UPS.choose(rng).expect("non-empty").to_string(),
            ));
        }
    }
    let answers_offer = (expect == Expect::R2).then(|| rng.random_range(1..=3));
    Conversation {
        expect,
        messages,
        answers_offer,
    }
}
