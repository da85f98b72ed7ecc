//! Reading a WhatsApp Cloud API webhook delivery (the `messages` field of
//! the WhatsApp Business Account webhook) into events, one message or status
//! at a time, so one bad message never rejects the others.
//!
//! Shapes follow Meta's webhook reference for incoming messages (text,
//! image, video, document, audio and voice notes, sticker, location,
//! contacts, interactive `button_reply` / `list_reply` / `nfm_reply`,
//! template `button`, `reaction`, `order`, `system`, `request_welcome`,
//! `edit`, `revoke`, `unsupported` with `errors`) and for statuses (`sent`,
//! `delivered`, `read`, `failed` with `errors`, `conversation` and
//! `pricing`, and `biz_opaque_callback_data` echoed from the send). A user
//! who hides their number carries `from_user_id` (a business-scoped user id)
//! and no `from`.
//!
//! Pure: the caller passes the time of receipt.

use serde_json::Value;

use crate::core::case::{DeliveryStatus, InboundMessage, InboundNote, NoteKind, StatusRecord};
use crate::core::inbound::{MAX_TEXT_CHARS, e164, is_blank, is_bsuid, valid_message_id};
use crate::core::types::{Channel, CustomerKey, IdempotencyKey, MessageId, Timestamp};

/// One thing a delivery carries.
#[derive(Debug, Clone, PartialEq)]
pub enum WaEvent {
    /// A customer message: it joins (or opens) the sender's turn.
    Message {
        customer: CustomerKey,
        message: InboundMessage,
    },
    /// Kept on the case, never opens, reopens or wakes one.
    Note {
        customer: CustomerKey,
        note: InboundNote,
    },
    /// A status callback for one of our outbound messages.
    Status(StatusRecord),
    /// A message or status that cannot be taken, and why. `id` is the
    /// message id when it had a usable one.
    Rejected {
        id: Option<String>,
        reason: String,
        raw: String,
    },
}

/// A delivery that is not a webhook body at all (the signature was good,
/// but the shape is not the Cloud API's).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct NotADelivery(pub String);

/// Reads every entry, change, message and status of a delivery.
pub fn parse(body: &[u8], now: Timestamp) -> Result<Vec<WaEvent>, NotADelivery> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| NotADelivery(format!("body is not JSON: {e}")))?;
    let entries = v["entry"]
        .as_array()
        .ok_or_else(|| NotADelivery("field `entry` must be an array".into()))?;
    let mut out = Vec::new();
    for entry in entries {
        for change in entry["changes"].as_array().into_iter().flatten() {
            let value = &change["value"];
            for m in value["messages"].as_array().into_iter().flatten() {
                out.push(message(m, now));
            }
            for st in value["statuses"].as_array().into_iter().flatten() {
                out.push(status(st, now));
            }
        }
    }
    Ok(out)
}

fn rejected(m: &Value, id: Option<&str>, reason: impl Into<String>) -> WaEvent {
    let raw = m.to_string();
    WaEvent::Rejected {
        id: id.filter(|i| valid_message_id(i)).map(str::to_string),
        reason: reason.into(),
        raw: raw.chars().take(16 * 1024).collect(),
    }
}

/// The sender: the phone number in `from`, else the business-scoped user
/// id in `from_user_id` (a user who hides their number).
fn sender(m: &Value) -> Result<CustomerKey, String> {
    let from = m["from"].as_str().filter(|f| !f.trim().is_empty());
    let address = match (from, m["from_user_id"].as_str()) {
        (Some(f), _) => e164(f).ok_or_else(|| {
            "`from` is not a phone number (E.164 digits, 8 to 15, not starting with 0)".to_string()
        })?,
        (None, Some(u)) if is_bsuid(u) => u.to_string(),
        (None, Some(_)) => {
            return Err("`from_user_id` is not a business-scoped user id".into());
        }
        (None, None) => return Err("message without `from` or `from_user_id`".into()),
    };
    Ok(CustomerKey {
        channel: Channel::Whatsapp,
        address,
    })
}

/// Seconds since the epoch as WhatsApp writes them (a string), never later
/// than the time of receipt: a clock ahead must not stretch the 24-hour
/// window.
fn unix_ts(v: &Value, now: Timestamp) -> Option<Timestamp> {
    let secs: i64 = match v {
        Value::String(s) => s.trim().parse().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    (secs > 0).then(|| Timestamp(secs.saturating_mul(1000).min(now.millis())))
}

/// The reason a text is refused, when it is longer than the inbound limit.
fn too_long(text: &str) -> Option<String> {
    (text.chars().count() > MAX_TEXT_CHARS)
        .then(|| format!("text longer than {MAX_TEXT_CHARS} characters"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v[key].as_str().filter(|s| !is_blank(s))
}

/// The text a customer message stands for in a turn. `Err` for a message
/// that says nothing (a text body that is blank).
fn text_of(kind: &str, m: &Value) -> Result<String, String> {
    let media = |what: &str| -> String {
        let body = &m[kind];
        match str_of(body, "caption") {
            Some(caption) => caption.to_string(),
            None => match str_of(body, "filename") {
                Some(name) => format!("[{what}: {name}]"),
                None => format!("[{what}]"),
            },
        }
    };
    Ok(match kind {
        "text" => match m["text"]["body"].as_str() {
            Some(body) if !is_blank(body) => body.to_string(),
            _ => return Err("`text.body` is empty".into()),
        },
        "image" | "video" | "document" => media(kind),
        "audio" if m["audio"]["voice"].as_bool() == Some(true) => "[voice message]".into(),
        "audio" => "[audio]".into(),
        "voice" => "[voice message]".into(),
        "sticker" => "[sticker]".into(),
        "location" => {
            let l = &m["location"];
            let place: Vec<&str> = [str_of(l, "name"), str_of(l, "address")]
                .into_iter()
                .flatten()
                .collect();
            let at = match (l["latitude"].as_f64(), l["longitude"].as_f64()) {
                (Some(lat), Some(lon)) => format!(" ({lat}, {lon})"),
                _ => String::new(),
            };
            format!("[location: {}{at}]", place.join(", "))
        }
        "contacts" => {
            let people: Vec<String> = m["contacts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let name = c["name"]["formatted_name"].as_str().unwrap_or("");
                    let phones: Vec<&str> = c["phones"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["phone"].as_str())
                        .collect();
                    format!("{name} {}", phones.join(" ")).trim().to_string()
                })
                .collect();
            format!("[contacts: {}]", people.join("; "))
        }
        "interactive" => {
            let i = &m["interactive"];
            let reply = ["list_reply", "button_reply", "nfm_reply"]
                .iter()
                .map(|k| &i[*k])
                .find(|r| r.is_object())
                .ok_or("`interactive` carries no list_reply, button_reply or nfm_reply")?;
            let id = reply["id"].as_str().unwrap_or("");
            let title = reply["title"]
                .as_str()
                .or(reply["body"].as_str())
                .or(reply["name"].as_str())
                .unwrap_or("");
            // A row of our own slot list answers with its number.
            if let Some(n) = id.strip_prefix("option-") {
                n.to_string()
            } else if id.is_empty() || id == title {
                title.to_string()
            } else {
                format!("{title} ({id})")
            }
        }
        "button" => {
            let b = &m["button"];
            let text = b["text"].as_str().unwrap_or("");
            match b["payload"].as_str() {
                Some(p) if !p.is_empty() && p != text => format!("{text} ({p})"),
                _ => text.to_string(),
            }
        }
        "order" => {
            let o = &m["order"];
            let items = o["product_items"].as_array().map_or(0, Vec::len);
            let note = o["text"].as_str().unwrap_or("");
            format!("[order: {items} item(s)] {note}")
                .trim()
                .to_string()
        }
        "unsupported" | "unknown" => {
            let what = m["unsupported"]["type"].as_str().unwrap_or("message");
            match m["errors"][0]["code"].as_i64() {
                Some(code) => format!(
                    "[unsupported {what}: {code} {}]",
                    m["errors"][0]["title"].as_str().unwrap_or("")
                ),
                None => format!("[unsupported {what}]"),
            }
        }
        other => format!("[{other} message]"),
    })
}

fn note_of(kind: &str, m: &Value) -> Option<(NoteKind, Option<String>, String)> {
    Some(match kind {
        "reaction" => (
            NoteKind::Reaction,
            m["reaction"]["message_id"].as_str().map(str::to_string),
            m["reaction"]["emoji"].as_str().unwrap_or("").to_string(),
        ),
        "request_welcome" => (NoteKind::RequestWelcome, None, String::new()),
        "system" => (
            NoteKind::System,
            None,
            m["system"]["body"]
                .as_str()
                .or(m["system"]["type"].as_str())
                .unwrap_or("")
                .to_string(),
        ),
        "edit" => {
            let e = &m["edit"];
            let inner = &e["message"];
            let inner_kind = inner["type"].as_str().unwrap_or("text");
            let text = text_of(inner_kind, inner).unwrap_or_default();
            (
                NoteKind::Edit,
                e["original_message_id"].as_str().map(str::to_string),
                text,
            )
        }
        "revoke" => (
            NoteKind::Revoke,
            m["revoke"]["original_message_id"]
                .as_str()
                .map(str::to_string),
            String::new(),
        ),
        _ => return None,
    })
}

fn message(m: &Value, now: Timestamp) -> WaEvent {
    let id = m["id"].as_str();
    let Some(id) = id.filter(|i| valid_message_id(i)) else {
        return rejected(m, None, "message without a usable `id`");
    };
    let customer = match sender(m) {
        Ok(c) => c,
        Err(reason) => return rejected(m, Some(id), reason),
    };
    let kind = m["type"].as_str().unwrap_or("unknown");
    let sent_at = unix_ts(&m["timestamp"], now);
    if let Some((kind, refers_to, text)) = note_of(kind, m) {
        if let Some(reason) = too_long(&text) {
            return rejected(m, Some(id), &reason);
        }
        return WaEvent::Note {
            customer,
            note: InboundNote {
                message_id: MessageId(id.to_string()),
                kind,
                refers_to: refers_to.filter(|r| valid_message_id(r)).map(MessageId),
                text,
                sent_at,
                received_at: now,
            },
        };
    }
    match text_of(kind, m) {
        Ok(text) if let Some(reason) = too_long(&text) => rejected(m, Some(id), &reason),
        Ok(text) => WaEvent::Message {
            customer,
            message: InboundMessage {
                message_id: MessageId(id.to_string()),
                text,
                sent_at,
                received_at: now,
            },
        },
        Err(reason) => rejected(m, Some(id), reason),
    }
}

fn status(st: &Value, now: Timestamp) -> WaEvent {
    let Some(id) = st["id"].as_str().filter(|i| valid_message_id(i)) else {
        return rejected(st, None, "status without a usable `id`");
    };
    let Some(status) = st["status"].as_str().and_then(DeliveryStatus::parse) else {
        return rejected(
            st,
            Some(id),
            format!(
                "status `{}` is not sent, delivered, read or failed",
                st["status"].as_str().unwrap_or("")
            ),
        );
    };
    let e = &st["errors"][0];
    let error = e["title"].as_str().or(e["message"].as_str()).map(|title| {
        let detail = e["error_data"]["details"].as_str().unwrap_or("");
        let head = match e["code"].as_i64() {
            Some(code) => format!("{code} {title}"),
            None => title.to_string(),
        };
        if detail.is_empty() || detail == title {
            head
        } else {
            format!("{head}: {detail}")
        }
    });
    let key = st["biz_opaque_callback_data"]
        .as_str()
        .filter(|k| !k.is_empty() && k.len() <= 512)
        .map(|k| IdempotencyKey(k.to_string()));
    WaEvent::Status(StatusRecord {
        provider_id: id.to_string(),
        status,
        at: unix_ts(&st["timestamp"], now).unwrap_or(now),
        error,
        key,
        received_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn delivery(messages: Value, statuses: Value) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "42"},
              "messages": messages, "statuses": statuses}}]}]})
        .to_string()
        .into_bytes()
    }

    fn one(m: Value) -> WaEvent {
        parse(&delivery(json!([m]), json!([])), NOW)
            .unwrap()
            .remove(0)
    }

    fn text(m: Value) -> String {
        match one(m) {
            WaEvent::Message { message, .. } => message.text,
            other => panic!("not a message: {other:?}"),
        }
    }

    fn msg(kind: &str, body: Value) -> Value {
        let mut m = json!({"from": "6281234567890", "id": format!("wamid.{kind}"),
            "timestamp": "1764000000", "type": kind});
        m[kind] = body;
        m
    }

    #[test]
    fn media_captions_are_the_text() {
        let caption = "kak ini bukti transfer saya, mau refund";
        for kind in ["image", "video", "document"] {
            assert_eq!(
                text(msg(kind, json!({"id": "m1", "caption": caption}))),
                caption
            );
        }
        assert_eq!(text(msg("image", json!({"id": "m1"}))), "[image]");
        assert_eq!(
            text(msg("document", json!({"id": "m", "filename": "inv.pdf"}))),
            "[document: inv.pdf]"
        );
        assert_eq!(text(msg("audio", json!({"id": "a"}))), "[audio]");
        assert_eq!(
            text(msg("audio", json!({"id": "a", "voice": true}))),
            "[voice message]"
        );
        assert_eq!(text(msg("sticker", json!({"id": "s"}))), "[sticker]");
    }

    #[test]
    fn long_texts_are_kept_whole_or_refused_never_cut() {
        // Longer than a business may send (4,096), well within what a
        // customer may: the request at the end is kept.
        let long = format!("{}saya mau refund", "jam buka studio? ".repeat(260));
        assert_eq!(text(msg("text", json!({"body": long}))), long);
        let caption = format!("{}mau refund", "bukti ".repeat(900));
        assert_eq!(
            text(msg("image", json!({"id": "i", "caption": caption}))),
            caption
        );
        let over = "a".repeat(MAX_TEXT_CHARS + 1);
        match one(msg("text", json!({"body": over}))) {
            WaEvent::Rejected { id, reason, .. } => {
                assert_eq!(id.as_deref(), Some("wamid.text"));
                assert!(reason.contains("65536"), "{reason}");
            }
            other => panic!("a text over the limit must be refused whole: {other:?}"),
        }
    }

    #[test]
    fn replies_carry_title_and_id() {
        let list = msg(
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "option-2", "title": "2) 27/11 19:00"}}),
        );
        assert_eq!(text(list), "2");
        let button = msg(
            "interactive",
            json!({"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes"}}),
        );
        assert_eq!(text(button), "Yes (yes-1)");
        let template = msg("button", json!({"text": "Stop", "payload": "stop-promos"}));
        assert_eq!(text(template), "Stop (stop-promos)");
        let loc = msg(
            "location",
            json!({"latitude": -6.2, "longitude": 106.8, "name": "Studio", "address": "Jl. Sudirman"}),
        );
        assert_eq!(text(loc), "[location: Studio, Jl. Sudirman (-6.2, 106.8)]");
        let contacts = msg(
            "contacts",
            json!([{"name": {"formatted_name": "Budi"}, "phones": [{"phone": "+62 811"}]}]),
        );
        // contacts are an array at `contacts`
        assert_eq!(text(contacts), "[contacts: Budi +62 811]");
        let unsupported = json!({"from": "6281234567890", "id": "wamid.u", "timestamp": "1", "type": "unsupported",
            "errors": [{"code": 131051, "title": "Message type unknown"}], "unsupported": {"type": "poll_update"}});
        assert_eq!(
            text(unsupported),
            "[unsupported poll_update: 131051 Message type unknown]"
        );
    }

    #[test]
    fn reactions_edits_and_notices_are_notes() {
        let cases = [
            (
                msg(
                    "reaction",
                    json!({"message_id": "wamid.OUT", "emoji": "👍"}),
                ),
                NoteKind::Reaction,
            ),
            (msg("request_welcome", json!({})), NoteKind::RequestWelcome),
            (
                msg(
                    "system",
                    json!({"body": "User changed number", "type": "user_changed_number"}),
                ),
                NoteKind::System,
            ),
            (
                msg(
                    "edit",
                    json!({"original_message_id": "wamid.A", "message": {"type": "text", "text": {"body": "new"}}}),
                ),
                NoteKind::Edit,
            ),
            (
                msg("revoke", json!({"original_message_id": "wamid.A"})),
                NoteKind::Revoke,
            ),
        ];
        for (m, want) in cases {
            match one(m) {
                WaEvent::Note { note, .. } => assert_eq!(note.kind, want),
                other => panic!("{want:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_hidden_number_is_keyed_by_its_business_scoped_user_id() {
        let m = json!({"from_user_id": "ID.1502576394655843", "id": "wamid.bs", "timestamp": "1764000000",
            "type": "text", "text": {"body": "halo"}});
        match one(m) {
            WaEvent::Message { customer, .. } => {
                assert_eq!(customer.address, "ID.1502576394655843")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_bad_message_is_rejected_alone() {
        let good = json!({"from": "6281234567890", "id": "wamid.ok", "timestamp": "1764000000",
            "type": "text", "text": {"body": "halo"}});
        let bads = [
            json!({"from": "abc", "id": "wamid.b1", "type": "text", "text": {"body": "x"}}),
            json!({"from": "", "id": "wamid.b2", "type": "text", "text": {"body": "x"}}),
            json!({"id": "wamid.b3", "type": "text", "text": {"body": "x"}}),
            json!({"from": "6281234567890", "id": "", "type": "text", "text": {"body": "x"}}),
            json!({"from": "6281234567890", "id": "a\u{0000}", "type": "text", "text": {"body": "x"}}),
            json!({"from": "6281234567890", "id": "wamid.b6", "type": "text", "text": {"body": "\u{200B} \u{0007}"}}),
            json!({"from_user_id": "not a bsuid", "id": "wamid.b7", "type": "text", "text": {"body": "x"}}),
        ];
        let mut all = vec![good];
        all.extend(bads.iter().cloned());
        let events = parse(&delivery(json!(all), json!([])), NOW).unwrap();
        assert!(matches!(events[0], WaEvent::Message { .. }));
        for (e, bad) in events[1..].iter().zip(bads.iter()) {
            assert!(matches!(e, WaEvent::Rejected { .. }), "{bad} -> {e:?}");
        }
    }

    #[test]
    fn statuses_carry_their_key_and_errors() {
        let events = parse(
            &delivery(
                json!([]),
                json!([{"id": "wamid.OUT", "status": "failed", "timestamp": "1764000003", "recipient_id": "6281234567890",
                   "biz_opaque_callback_data": "case/1",
                   "errors": [{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "Receiver incapable"}}]},
                  {"id": "wamid.OUT", "status": "delivered", "timestamp": "1764000002",
                   "conversation": {"id": "c", "origin": {"type": "service"}},
                   "pricing": {"billable": false, "pricing_model": "PMP", "category": "service"}},
                  {"id": "wamid.OUT", "status": "deleted", "timestamp": "1764000002"}]),
            ),
            NOW,
        )
        .unwrap();
        match &events[0] {
            WaEvent::Status(s) => {
                assert_eq!(s.status, DeliveryStatus::Failed);
                assert_eq!(s.key, Some(IdempotencyKey("case/1".into())));
                assert_eq!(
                    s.error.as_deref(),
                    Some("131026 Message undeliverable: Receiver incapable")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&events[1], WaEvent::Status(s) if s.status == DeliveryStatus::Delivered));
        assert!(matches!(&events[2], WaEvent::Rejected { .. }));
        assert!(parse(b"{}", NOW).is_err());
    }

    #[test]
    fn a_timestamp_from_the_future_is_taken_as_the_time_of_receipt() {
        let m = json!({"from": "6281234567890", "id": "wamid.f", "timestamp": "99999999999",
            "type": "text", "text": {"body": "x"}});
        match one(m) {
            WaEvent::Message { message, .. } => assert_eq!(message.sent_at, Some(NOW)),
            other => panic!("{other:?}"),
        }
    }
}
