//! Configuration: the TOML file, with every key defaulted so the binary runs
//! on the embedded default with no file at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::core::types::Mode;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("config: `mode` must be \"pilot\" or \"production\", not \"{0}\"")]
    Mode(String),
    #[error("config: {0}")]
    Policy(String),
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub mode: Option<String>,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub engine: EngineConfig,
    pub channels: ChannelsConfig,
    pub midtrans: MidtransConfig,
    pub policy: PolicyConfig,
    /// Per tool: timeout, retry budget and circuit breaker (`[tools.whatsapp]`).
    pub tools: std::collections::BTreeMap<String, ToolConfig>,
    pub limits: LimitsConfig,
    /// Optional source of student records.
    pub notion: NotionConfig,
    pub faults: FaultsConfig,
    /// How long closed cases are kept before their personal data is erased.
    pub retention: RetentionConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Largest WhatsApp webhook delivery accepted, in bytes: WhatsApp
    /// documents deliveries of up to 3 MB.
    pub webhook_body_limit: usize,
    /// A request header must be complete this long after the connection
    /// opened (or the next request's first byte); default 10 s.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Idle keep-alive connections are closed after this; default 60 s.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Connections served at once; more get a 503 and are closed.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit: 64 * 1024,
            webhook_body_limit: 3 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 8192,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// What an acknowledged write survives: `fsync` (power loss) or
    /// `flush` (process crash only). README "Durability".
    pub durability: crate::store::Durability,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("caseflow-data"),
            durability: crate::store::Durability::Fsync,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// The workflow file; empty means the one built into the binary.
    pub workflow: Option<PathBuf>,
    /// The template catalog; empty means the one built into the binary.
    pub templates: Option<PathBuf>,
    /// Rapid-fire messages of a reopened case within this window form one turn.
    #[serde(with = "humantime_serde")]
    pub collect_window: Duration,
    /// A running case that has not moved for this long is stuck.
    #[serde(with = "humantime_serde")]
    pub stuck_after: Duration,
    /// Restarts allowed per case within `restart_window` before quarantine.
    pub restart_budget: u32,
    #[serde(with = "humantime_serde")]
    pub restart_window: Duration,
    /// How long SIGTERM waits for in-flight cases before exiting.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workflow: None,
            templates: None,
            collect_window: Duration::from_millis(1500),
            stuck_after: Duration::from_secs(120),
            restart_budget: 3,
            restart_window: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelsConfig {
    pub whatsapp: WhatsappConfig,
    pub telegram: TelegramConfig,
}

/// Default in-doubt window (`[channels.whatsapp] in_doubt_window`;
/// CONTRACT section 2: 30 s).
pub const DEFAULT_IN_DOUBT_WINDOW: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsappConfig {
    pub api_base: String,
    pub phone_number_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    /// How long a send whose outcome is unknown waits for a status callback
    /// carrying its key before it may be made again.
    #[serde(with = "humantime_serde")]
    pub in_doubt_window: Duration,
}

impl Default for WhatsappConfig {
    fn default() -> Self {
        WhatsappConfig {
            api_base: String::new(),
            phone_number_id: String::new(),
            access_token: String::new(),
            app_secret: String::new(),
            verify_token: String::new(),
            in_doubt_window: DEFAULT_IN_DOUBT_WINDOW,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    pub api_base: String,
    pub bot_token: String,
    pub operator_chat_id: String,
    pub coach_chat_id: String,
    pub secret_token: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MidtransConfig {
    pub api_base: String,
    pub server_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    pub timezone: String,
    pub reschedule_quota_per_month: u32,
    pub cutoff: Cutoff,
    /// The tier decision table; empty means the one built into the binary.
    pub tiers: Option<PathBuf>,
    /// The intent vocabulary; empty means the one built into the binary.
    pub intents: Option<PathBuf>,
    /// Labelled examples the intent classifier learns from (text, label,
    /// lang, kind; tab-separated); empty means the ones built into the
    /// binary (`config/intent-examples.tsv`).
    pub intent_examples: Option<PathBuf>,
    /// The intent arbiter's weights (`caseflow intents arbiter --write`),
    /// trained with this vocabulary and these examples; empty means the
    /// one built into the binary (`config/intent-arbiter.toml`), used only
    /// with the built-in vocabulary and examples.
    pub intent_arbiter: Option<PathBuf>,
    /// Lowest knowledge-base match score (0..1) that may answer R0.
    pub kb_threshold: f64,
    /// Failed identity attempts before the case escalates to the coach.
    pub identity_attempts: u32,
    /// Student records older than this are answered as pending verification.
    #[serde(with = "humantime_serde")]
    pub record_ttl: Duration,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            timezone: "Asia/Jakarta".into(),
            reschedule_quota_per_month: 2,
            cutoff: Cutoff::CalendarDays { days: 1 },
            tiers: None,
            intents: None,
            intent_examples: None,
            intent_arbiter: None,
            kb_threshold: 0.5,
            identity_attempts: 3,
            record_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

impl PolicyConfig {
    /// The policy the stages apply, with its tier table read and checked.
    pub fn build(&self) -> Result<crate::policy::Policy, ConfigError> {
        let bad = |reason: String| ConfigError::Policy(reason);
        let timezone: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
            bad(format!(
                "policy.timezone: unknown timezone '{}'",
                self.timezone
            ))
        })?;
        if !(0.0..=1.0).contains(&self.kb_threshold) {
            return Err(bad(format!(
                "policy.kb_threshold: {} is not between 0 and 1",
                self.kb_threshold
            )));
        }
        if self.identity_attempts == 0 {
            return Err(bad("policy.identity_attempts: must be at least 1".into()));
        }
        // A file a `[policy]` key names, read whole; errors name the key.
        let read = |key: &str, p: &std::path::Path| {
            std::fs::read_to_string(p)
                .map_err(|e| bad(format!("policy.{key}: cannot read {}: {e}", p.display())))
        };
        let source = match &self.tiers {
            Some(p) => read("tiers", p)?,
            None => crate::policy::tier::EMBEDDED.to_string(),
        };
        let tiers = crate::policy::tier::TierTable::parse(&source)
            .map_err(|e| bad(format!("policy.tiers: {e}")))?;
        let detector = match &self.intents {
            Some(p) => {
                let source = read("intents", p)?;
                crate::policy::intent::Detector::parse(&source, &p.display().to_string())
                    .map_err(|e| bad(format!("policy.intents: {e}")))?
            }
            None => crate::policy::intent::Detector::shipped(),
        };
        let detector = match &self.intent_examples {
            Some(p) => {
                let source = read("intent_examples", p)?;
                detector
                    .with_examples(&source, &p.display().to_string())
                    .map_err(|e| bad(format!("policy.intent_examples: {e}")))?
            }
            None => detector,
        };
        let detector = match &self.intent_arbiter {
            Some(p) => {
                let source = read("intent_arbiter", p)?;
                detector
                    .with_arbiter(&source, &p.display().to_string())
                    .map_err(|e| bad(format!("policy.intent_arbiter: {e}")))?
            }
            None => detector,
        };
        if let Some(why) = detector.arbiter_missing() {
            tracing::warn!("{why}");
        }
        Ok(crate::policy::Policy {
            timezone,
            reschedule_quota_per_month: self.reschedule_quota_per_month,
            cutoff: self.cutoff,
            kb_threshold: self.kb_threshold,
            identity_attempts: self.identity_attempts,
            record_ttl_ms: self.record_ttl.as_millis() as i64,
            tiers,
            detector,
            provider_lookup: false,
        })
    }
}

pub use crate::policy::reschedule::Cutoff;

/// How one tool is called: timeout, retry with backoff, circuit breaker.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolConfig {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max_interval: Duration,
    pub retry_multiplier: f64,
    /// Total retry time from the first attempt; then the case pauses as stuck.
    #[serde(with = "humantime_serde")]
    pub max_elapsed: Duration,
    /// Consecutive transient failures that open the breaker.
    pub failure_threshold: u32,
    #[serde(with = "humantime_serde")]
    pub open_for: Duration,
}

impl Default for ToolConfig {
    fn default() -> Self {
        ToolConfig {
            timeout: Duration::from_secs(10),
            retry_initial: Duration::from_millis(200),
            retry_max_interval: Duration::from_secs(10),
            retry_multiplier: 2.0,
            max_elapsed: Duration::from_secs(120),
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// Deliberate faults for chaos drills; all off by default.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsConfig {
    /// A case whose inbound text contains this marker panics in its actor.
    pub panic_on_text: Option<String>,
    /// The process aborts right after a write tool call returns, before its
    /// completion is recorded: the crash window idempotency keys cover.
    pub abort_after_tool_call: bool,
    /// Share (0..1) of customer-message send attempts that fail as a 503
    /// would, to exercise retries and breakers.
    pub send_failure_rate: f64,
    /// While this file exists, every store write fails as on a full disk.
    pub store_write_error_file: Option<PathBuf>,
    /// When this file exists, the store's writer panics outside any op.
    pub store_writer_panic_file: Option<PathBuf>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        config.mode()?;
        config.policy.build()?;
        if config.retention.closed_cases.is_zero() {
            return Err(ConfigError::Policy(
                "retention.closed_cases: must be longer than 0 (e.g. \"365d\")".into(),
            ));
        }
        Ok(config)
    }

    pub fn mode(&self) -> Result<Mode, ConfigError> {
        match self.mode.as_deref() {
            None => Ok(Mode::Pilot),
            Some(m) => Mode::parse(m).ok_or_else(|| ConfigError::Mode(m.to_string())),
        }
    }
}

/// `[retention]`: how long closed cases keep their personal data.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Closed cases older than this are erased (default 365 days).
    #[serde(with = "humantime_serde")]
    pub closed_cases: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            closed_cases: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// Limits from `[limits]` in config.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Messages per minute one sender may send before being flagged.
    pub inbound_per_sender_per_minute: u32,
    /// Messages a sender may send at once before the rate applies.
    pub inbound_burst: u32,
    /// Messages per second through the business number.
    pub outbound_per_second: u32,
    /// Least time between two messages to the same customer.
    #[serde(with = "humantime_serde")]
    pub outbound_per_recipient: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            inbound_per_sender_per_minute: 20,
            inbound_burst: 10,
            outbound_per_second: 80,
            outbound_per_recipient: Duration::from_secs(6),
        }
    }
}

/// The optional Notion source of student records (`[notion]`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotionConfig {
    pub api_base: String,
    pub token: String,
    pub database_id: String,
    #[serde(with = "humantime_serde")]
    pub sync_interval: Duration,
    pub requests_per_second: u32,
}

impl Default for NotionConfig {
    fn default() -> Self {
        NotionConfig {
            api_base: String::new(),
            token: String::new(),
            database_id: String::new(),
            sync_interval: Duration::from_secs(300),
            requests_per_second: 3,
        }
    }
}

impl NotionConfig {
    pub fn enabled(&self) -> bool {
        !self.api_base.trim().is_empty() && !self.token.is_empty() && !self.database_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_default_config_parses() {
        let text = include_str!("../config/default.toml");
        let c: Config = toml::from_str(text).expect("config/default.toml parses");
        assert_eq!(c.mode().unwrap(), Mode::Pilot);
        assert_eq!(c.policy.cutoff, Cutoff::CalendarDays { days: 1 });
    }

    #[test]
    fn contract_keys_parse_including_the_minutes_cutoff() {
        let c: Config = toml::from_str(
            r#"
            mode = "production"
            [server]
            listen = "0.0.0.0:9000"
            [store]
            path = "/var/lib/caseflow"
            durability = "flush"
            [channels.whatsapp]
            api_base = "http://127.0.0.1:1"
            phone_number_id = "123"
            access_token = "t"
            app_secret = "s"
            verify_token = "v"
            [channels.telegram]
            api_base = "http://127.0.0.1:2"
            bot_token = "b"
            operator_chat_id = "1"
            coach_chat_id = "2"
            secret_token = "x"
            [midtrans]
            api_base = "http://127.0.0.1:3"
            server_key = "k"
            [policy]
            timezone = "Asia/Jakarta"
            reschedule_quota_per_month = 2
            cutoff = { kind = "minutes", minutes = 60 }
            "#,
        )
        .unwrap();
        assert_eq!(c.mode().unwrap(), Mode::Production);
        assert_eq!(c.policy.cutoff, Cutoff::Minutes { minutes: 60 });
        assert_eq!(c.store.durability, crate::store::Durability::Flush);
        let bad = toml::from_str::<Config>("[store]\ndurability = \"sometimes\"");
        assert!(bad.unwrap_err().to_string().contains("sometimes"));
    }

    #[test]
    fn a_bad_mode_is_named() {
        let c: Config = toml::from_str("mode = \"yolo\"").unwrap();
        assert!(c.mode().unwrap_err().to_string().contains("yolo"));
    }
}
