//! Domain vocabulary shared by every layer: ids, time, states, tiers, waits.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC. The core never reads a clock: the
/// engine passes `now` in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn to_rfc3339(self) -> String {
        chrono::DateTime::from_timestamp_millis(self.0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }
}

/// A case's id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CaseId(pub uuid::Uuid);

impl CaseId {
    pub fn parse(s: &str) -> Option<CaseId> {
        uuid::Uuid::parse_str(s).ok().map(CaseId)
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The provider's id of an inbound message (a WhatsApp `wamid`). It is the
/// idempotency key of ingest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageId(pub String);

/// Key of one side effect of a case: case id plus the effect's step number.
/// Stable across retries and restarts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdempotencyKey(pub String);

impl IdempotencyKey {
    pub fn for_step(case: CaseId, step: u32) -> IdempotencyKey {
        IdempotencyKey(format!("{case}/{step}"))
    }

    /// The case and step of a key made by [`IdempotencyKey::for_step`]
    /// (e.g. read back from a provider's echo); `None` for anything else.
    pub fn case_step(&self) -> Option<(CaseId, u32)> {
        let (case, step) = self.0.split_once('/')?;
        let id = CaseId::parse(case)?;
        let step: u32 = step.parse().ok()?;
        (IdempotencyKey::for_step(id, step) == *self).then_some((id, step))
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum Channel {
    Whatsapp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Channel> {
        s.parse().ok()
    }
}

/// Who a case belongs to: a channel and the sender's address on it. A
/// customer has at most one open case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CustomerKey {
    pub channel: Channel,
    pub address: String,
}

impl CustomerKey {
    /// The customer's address with all but the first four and last four
    /// characters hidden, for logs and list views.
    pub fn masked(&self) -> String {
        mask_address(&self.address)
    }
}

impl fmt::Display for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.channel.as_str(), self.address)
    }
}

/// Masks a phone number or an email address for logs and list views.
pub fn mask_address(address: &str) -> String {
    if let Some((local, domain)) = address.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = address.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// The declared states of the support workflow. `Closed` is terminal.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum State {
    Intake,
    Tier,
    Verify,
    Execute,
    Qa,
    Send,
    Close,
    Closed,
    /// Waiting for an unavailable tool after a "pending verification" notice.
    Degraded,
}

impl State {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<State> {
        s.parse().ok()
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
pub enum Tier {
    R0,
    R1,
    R2,
    R3,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Tier> {
        s.parse().ok()
    }
}

/// What a case is waiting for. `None` means it is running (or should be).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WaitingOn {
    None,
    Customer,
    Operator,
    Coach,
    Tool(String),
    Timer,
}

impl WaitingOn {
    pub fn label(&self) -> String {
        match self {
            WaitingOn::None => "none".into(),
            WaitingOn::Customer => "customer".into(),
            WaitingOn::Operator => "operator".into(),
            WaitingOn::Coach => "coach".into(),
            WaitingOn::Tool(name) => format!("tool:{name}"),
            WaitingOn::Timer => "timer".into(),
        }
    }

    /// The kind of wait as the workflow file names it (`tool:x` is `tool`).
    pub fn kind(&self) -> Option<WaitKind> {
        match self {
            WaitingOn::None => None,
            WaitingOn::Customer => Some(WaitKind::Customer),
            WaitingOn::Operator => Some(WaitKind::Operator),
            WaitingOn::Coach => Some(WaitKind::Coach),
            WaitingOn::Tool(_) => Some(WaitKind::Tool),
            WaitingOn::Timer => Some(WaitKind::Timer),
        }
    }

    pub fn is_human(&self) -> bool {
        matches!(self, WaitingOn::Operator | WaitingOn::Coach)
    }
}

/// The kinds of wait a workflow state may declare.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum WaitKind {
    Customer,
    Operator,
    Coach,
    Tool,
    Timer,
}

impl WaitKind {
    pub fn parse(s: &str) -> Option<WaitKind> {
        s.parse().ok()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum Identity {
    WaMatch,
    InvoiceEmail,
    Unverified,
    Mismatch,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Default,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum Mode {
    #[default]
    Pilot,
    Production,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Mode> {
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phone_numbers_and_emails() {
        assert_eq!(mask_address("+6281234567890"), "+628******7890");
        assert_eq!(mask_address("siti@example.com"), "s***@example.com");
        assert_eq!(mask_address("12345"), "*****");
    }

    #[test]
    fn state_names_round_trip() {
        use strum::IntoEnumIterator;
        for s in State::iter() {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("limbo"), None);
        assert_eq!(State::Qa.as_str(), "qa");
        assert_eq!(Identity::WaMatch.as_str(), "wa_match");
        assert_eq!(Tier::parse("R2"), Some(Tier::R2));
        assert_eq!(WaitKind::parse("tool"), Some(WaitKind::Tool));
    }
}
