//! The payment state machine per order (CONTRACT section 2): PENDING,
//! CONFIRMED, FAILED, EXPIRED, and after confirmation REFUNDED or
//! CHARGEBACK. Notifications may come twice or out of order; a state never
//! moves backwards: a late `pending` after `settlement` is ignored.

use crate::core::records::PaymentState;

/// The state a Midtrans notification reports, if it reports one.
///
/// Midtrans ("Transaction Status Cycle", "Handling HTTP Notification"):
/// `capture` is a card payment taken, safe only when the fraud detection
/// says `accept` (`challenge` waits for review, `deny` is refused);
/// `settlement` is funds received; `pending` and `authorize` are not paid
/// yet; `deny`, `cancel` and `failure` failed; `expire` ran out;
/// `refund`/`partial_refund` and `chargeback`/`partial_chargeback` follow a
/// payment. A fraud status other than `accept` never confirms: the desk
/// then says nothing is confirmed, and asks the status API when in doubt.
pub fn state_of(transaction_status: &str, fraud_status: Option<&str>) -> Option<PaymentState> {
    use PaymentState::*;
    Some(match transaction_status {
        "settlement" => match fraud_status {
            None | Some("accept") => Confirmed,
            Some(_) => Pending,
        },
        "capture" => match fraud_status {
            Some("accept") => Confirmed,
            Some("deny") => Failed,
            _ => Pending,
        },
        "pending" | "authorize" => Pending,
        "deny" | "cancel" | "failure" => Failed,
        "expire" => Expired,
        "refund" | "partial_refund" => Refunded,
        "chargeback" | "partial_chargeback" => Chargeback,
        _ => return None,
    })
}

/// Whether an order in `from` may move to `to`.
pub fn may_move(from: PaymentState, to: PaymentState) -> bool {
    use PaymentState::*;
    match (from, to) {
        (a, b) if a == b => false,
        (Pending, _) => true,
        (Confirmed, Refunded | Chargeback) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentState::*;

    fn run(start: Option<PaymentState>, events: &[&str]) -> Option<PaymentState> {
        let mut state = start;
        for e in events {
            let to = state_of(e, None).unwrap();
            state = match state {
                None => Some(to),
                Some(s) if may_move(s, to) => Some(to),
                s => s,
            };
        }
        state
    }

    #[test]
    fn duplicates_and_late_notifications_never_move_backwards() {
        assert_eq!(run(None, &["pending", "settlement"]), Some(Confirmed));
        assert_eq!(run(None, &["settlement", "pending"]), Some(Confirmed));
        assert_eq!(
            run(None, &["settlement", "settlement", "pending", "expire"]),
            Some(Confirmed)
        );
        assert_eq!(run(None, &["pending", "expire", "pending"]), Some(Expired));
        assert_eq!(run(None, &["deny", "settlement"]), Some(Failed));
        assert_eq!(
            run(None, &["settlement", "refund", "settlement"]),
            Some(Refunded)
        );
        assert_eq!(
            run(None, &["pending", "settlement", "chargeback"]),
            Some(Chargeback)
        );
    }

    #[test]
    fn capture_needs_an_accepted_fraud_status() {
        assert_eq!(state_of("capture", Some("accept")), Some(Confirmed));
        assert_eq!(state_of("capture", Some("challenge")), Some(Pending));
        assert_eq!(state_of("capture", Some("deny")), Some(Failed));
        assert_eq!(state_of("capture", None), Some(Pending));
        assert_eq!(state_of("settlement", Some("challenge")), Some(Pending));
        assert_eq!(state_of("whatever", None), None);
    }
}
