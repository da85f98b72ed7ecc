//! Rate limits with `governor`: inbound per sender (against abuse: messages
//! past the limit are still stored, but do not wake their case, so they
//! bring no extra replies) and outbound per WhatsApp number and recipient.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use crate::config::LimitsConfig;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least 1")
}

/// Inbound flood control per sender.
pub struct InboundLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl InboundLimiter {
    pub fn new(cfg: &LimitsConfig) -> InboundLimiter {
        let quota = Quota::per_minute(nz(cfg.inbound_per_sender_per_minute))
            .allow_burst(nz(cfg.inbound_burst));
        InboundLimiter {
            limiter: RateLimiter::keyed(quota),
        }
    }

    /// False when `sender` is past the limit.
    pub fn allow(&self, sender: &str) -> bool {
        let ok = self.limiter.check_key(&sender.to_string()).is_ok();
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        ok
    }
}

/// Outbound pacing: the number's throughput and one message per interval
/// to the same customer. Awaited before each call to the provider.
pub struct OutboundLimiter {
    number: DefaultDirectRateLimiter,
    recipient: Option<DefaultKeyedRateLimiter<String>>,
}

impl OutboundLimiter {
    pub fn new(cfg: &LimitsConfig) -> OutboundLimiter {
        let recipient = Quota::with_period(cfg.outbound_per_recipient).map(RateLimiter::keyed);
        OutboundLimiter {
            number: RateLimiter::direct(Quota::per_second(nz(cfg.outbound_per_second))),
            recipient,
        }
    }

    pub async fn until_ready(&self, recipient: &str) {
        if let Some(r) = &self.recipient {
            r.until_key_ready(&recipient.to_string()).await;
            if r.len() > 100_000 {
                r.retain_recent();
            }
        }
        self.number.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_sender_past_the_burst_is_flagged_and_others_are_not() {
        let l = InboundLimiter::new(&LimitsConfig {
            inbound_per_sender_per_minute: 1,
            inbound_burst: 3,
            ..LimitsConfig::default()
        });
        let allowed = (0..5).filter(|_| l.allow("+6281")).count();
        assert_eq!(allowed, 3);
        assert!(l.allow("+6282"));
    }

    #[tokio::test]
    async fn the_same_recipient_is_paced_and_others_are_not() {
        let l = OutboundLimiter::new(&LimitsConfig {
            outbound_per_recipient: Duration::from_millis(300),
            ..LimitsConfig::default()
        });
        let t = std::time::Instant::now();
        l.until_ready("+6281").await;
        l.until_ready("+6282").await;
        assert!(t.elapsed() < Duration::from_millis(250));
        l.until_ready("+6281").await;
        assert!(t.elapsed() >= Duration::from_millis(250));
    }
}
