//! Identity: the sender's WhatsApp number equal to the student's registered
//! number is verified; otherwise an invoice number AND the registered email
//! of the same student, taken from the customer's messages.

use serde::{Deserialize, Serialize};

use crate::core::records::Student;

/// Digits of a phone number in international form: `0812…` and `+62812…`
/// both become `62812…`.
pub fn normalize_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('0') {
        Some(rest) => format!("62{rest}"),
        None => digits,
    }
}

pub fn wa_match(sender: &str, student: &Student) -> bool {
    let s = normalize_phone(sender);
    !s.is_empty() && s == normalize_phone(&student.phone)
}

/// What the customer has claimed so far, across messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub invoice: Option<String>,
    pub email: Option<String>,
}

impl Claims {
    pub fn complete(&self) -> bool {
        self.invoice.is_some() && self.email.is_some()
    }

    /// Newer claims replace older ones field by field.
    pub fn merge(&mut self, newer: Claims) {
        if newer.invoice.is_some() {
            self.invoice = newer.invoice;
        }
        if newer.email.is_some() {
            self.email = newer.email;
        }
    }
}

fn trim_token(t: &str) -> &str {
    t.trim_matches(|c: char| !c.is_alphanumeric())
}

fn looks_like_email(t: &str) -> bool {
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
}

/// Letters then digits, as invoice numbers are written: `INV-2026-0012`,
/// `inv/2026/12`, `INV2026001`.
fn looks_like_invoice(t: &str) -> bool {
    let letters = t.chars().take_while(|c| c.is_ascii_alphabetic()).count();
    let rest = &t[letters..];
    (2..=6).contains(&letters)
        && rest.chars().any(|c| c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
}

/// The last invoice number and email found in `text`.
pub fn extract(text: &str) -> Claims {
    let mut claims = Claims::default();
    for raw in text.split_whitespace() {
        let token = trim_token(raw);
        if looks_like_email(token) {
            claims.email = Some(token.to_lowercase());
        } else if looks_like_invoice(token) {
            claims.invoice = Some(token.to_uppercase().replace('/', "-"));
        }
    }
    claims
}

/// Key under which invoice numbers are compared: `INV/2026/12` = `inv-2026-12`.
/// Tokens that could be an invoice number in any format (at least four
/// characters with a digit, not an email): checked against the records when
/// no token has the usual `INV-...` shape.
pub fn candidates(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(trim_token)
        .filter(|t| t.len() >= 4 && t.chars().any(|c| c.is_ascii_digit()) && !t.contains('@'))
        .map(invoice_key)
        .collect()
}

pub fn invoice_key(number: &str) -> String {
    number.trim().to_uppercase().replace('/', "-")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Both claims name the same student.
    Match,
    /// Both claims given, and they do not name the same student.
    Mismatch,
    /// Something is still missing.
    Incomplete,
}

/// Checks complete claims against the owner of the claimed invoice.
pub fn verify(claims: &Claims, invoice_owner: Option<&Student>) -> Verdict {
    let (Some(_), Some(email)) = (&claims.invoice, &claims.email) else {
        return Verdict::Incomplete;
    };
    match invoice_owner {
        Some(s) if s.email.trim().eq_ignore_ascii_case(email) => Verdict::Match,
        _ => Verdict::Mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_invoice_format_is_a_candidate() {
        assert_eq!(
            candidates("nomor invoice 20261124001, email a@b.id, kode ab12"),
            vec!["20261124001", "AB12"]
        );
    }
    use crate::core::types::Timestamp;

    fn student() -> Student {
        Student {
            id: "s1".into(),
            name: "Siti".into(),
            phone: "+6281234567890".into(),
            email: "Siti@Example.com".into(),
            rev: 1,
            invoices: vec![],
            sessions: vec![],
            reschedule_history: vec![],
            synced_at: Timestamp(0),
        }
    }

    #[test]
    fn whatsapp_numbers_match_in_any_common_spelling() {
        assert!(wa_match("+6281234567890", &student()));
        assert!(wa_match("081234567890", &student()));
        assert!(wa_match("62 812-3456-7890", &student()));
        assert!(!wa_match("+6281234567891", &student()));
        assert!(!wa_match("", &student()));
    }

    #[test]
    fn claims_come_from_free_text_in_one_message_or_several() {
        let c = extract("invoice saya INV-2026-0012, email siti@example.com ya kak");
        assert_eq!(c.invoice.as_deref(), Some("INV-2026-0012"));
        assert_eq!(c.email.as_deref(), Some("siti@example.com"));
        let mut c = extract("no invoice: inv/2026/0012.");
        assert_eq!(c.invoice.as_deref(), Some("INV-2026-0012"));
        assert!(!c.complete());
        c.merge(extract("emailnya SITI@example.com"));
        assert!(c.complete());
        assert_eq!(extract("jadwal les hari kamis jam 4"), Claims::default());
        assert_eq!(extract("see you at 10am"), Claims::default());
    }

    #[test]
    fn both_claims_must_name_the_same_student() {
        let full = Claims {
            invoice: Some("INV-1".into()),
            email: Some("siti@example.com".into()),
        };
        assert_eq!(verify(&full, Some(&student())), Verdict::Match);
        let wrong_email = Claims {
            email: Some("budi@example.com".into()),
            ..full.clone()
        };
        assert_eq!(verify(&wrong_email, Some(&student())), Verdict::Mismatch);
        assert_eq!(
            verify(&full, None),
            Verdict::Mismatch,
            "an unknown invoice is a mismatch"
        );
        let half = Claims {
            invoice: None,
            ..full
        };
        assert_eq!(verify(&half, Some(&student())), Verdict::Incomplete);
    }
}
