//! What an inbound message must look like before it is taken in: a sender
//! address (an E.164 phone number, or WhatsApp's business-scoped user id for
//! a user who hides their number) and text that says something. Pure.

/// `+` and 8 to 15 digits not starting with 0 (ITU-T E.164), from a phone
/// number written as digits with or without the leading `+` (WhatsApp's
/// `from` and `wa_id` carry no `+`). `None` for anything else.
/// Longest customer text accepted from any channel, in characters: what a
/// WhatsApp user can send in one text message (65,536; the 4,096 of the
/// Cloud API is the limit on what a business sends). A longer text is
/// refused whole with a reason, never cut: a request after the cut would
/// be lost to tiering.
pub const MAX_TEXT_CHARS: usize = 65_536;

pub fn e164(raw: &str) -> Option<String> {
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    let plausible = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    plausible.then(|| format!("+{digits}"))
}

/// Whether `raw` is a WhatsApp business-scoped user id (BSUID): a two-letter
/// ISO country code, a period, and up to 128 alphanumeric characters, with
/// `ENT.` before them for a parent BSUID (e.g. `US.13491208655302741918`,
/// `US.ENT.11815799212886844830`; Meta, "Business-scoped user IDs", 2026).
pub fn is_bsuid(raw: &str) -> bool {
    let Some((country, rest)) = raw.split_once('.') else {
        return false;
    };
    let rest = rest.strip_prefix("ENT.").unwrap_or(rest);
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && (1..=128).contains(&rest.len())
        && rest.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether a customer address is a phone number (as opposed to a BSUID).
pub fn is_phone_address(address: &str) -> bool {
    address.starts_with('+')
}

/// Characters that render as nothing: zero-width spaces and joiners, word
/// joiners, invisible operators, bidirectional controls, the byte-order
/// mark, soft hyphen, combining grapheme joiner and Hangul fillers.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
        | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}')
}

/// Whether `text` says nothing once whitespace, control and zero-width
/// characters are taken out.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || c.is_control() || invisible(c))
}

/// Whether a provider message id is usable as a dedupe key: 1 to 256
/// characters, none of them control characters, not only whitespace.
pub fn valid_message_id(id: &str) -> bool {
    !id.trim().is_empty() && id.chars().count() <= 256 && !id.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164_digits() {
        assert_eq!(e164("6281234567890").as_deref(), Some("+6281234567890"));
        assert_eq!(e164("+6281234567890").as_deref(), Some("+6281234567890"));
        for bad in [
            "",
            "+",
            "abc",
            "0812345678",
            "+62 812",
            "62-812-3456",
            "1234567",
            "1234567890123456",
            "62812345678９",
        ] {
            assert_eq!(e164(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn business_scoped_user_ids_have_their_documented_shape() {
        assert!(is_bsuid("US.13491208655302741918"));
        assert!(is_bsuid("BR.1502576394655843"));
        assert!(is_bsuid("US.ENT.11815799212886844830"));
        assert!(is_bsuid("ID.abcDEF123"));
        for bad in [
            "",
            "US.",
            "us.123",
            "USA.123",
            "US.12-3",
            "6281234567890",
            "US.1 2",
        ] {
            assert!(!is_bsuid(bad), "{bad:?}");
        }
        assert!(!is_bsuid(&format!("US.{}", "1".repeat(129))));
    }

    #[test]
    fn text_of_only_invisible_characters_is_blank() {
        for blank in [
            "",
            "   ",
            "\u{200B}\u{200C}\u{200D}",
            "\u{FEFF}",
            "\u{0000}\u{0007}",
            " \t\n\r",
            "\u{2060}\u{00AD}\u{3164}",
            "\u{202E}\u{2066}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for said in ["a", "👍", " halo ", "\u{200B}x", "ok\u{0000}"] {
            assert!(!is_blank(said), "{said:?}");
        }
    }

    #[test]
    fn message_ids_are_printable_and_bounded() {
        assert!(valid_message_id(
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
        ));
        for bad in ["", "  ", "a\u{0000}b", "x\ny"] {
            assert!(!valid_message_id(bad), "{bad:?}");
        }
        assert!(!valid_message_id(&"x".repeat(257)));
    }
}
