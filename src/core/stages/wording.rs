//! How facts are worded in replies: dates and times in the business
//! timezone and the customer's language, rupiah amounts, payment states.

use chrono::TimeZone;

use crate::core::case::Language;
use crate::core::records::PaymentState;
use crate::core::types::Timestamp;

/// Date and time of an instant in the business timezone, in the reply's
/// language: ("Friday 27 November 2026", "19:00").
pub fn when(t: Timestamp, tz: chrono_tz::Tz, lang: Language) -> (String, String) {
    use chrono::Datelike;
    let local = tz
        .timestamp_millis_opt(t.millis())
        .single()
        .expect("a UTC instant has one local time");
    let time = local.format("%H:%M").to_string();
    let date = match lang {
        Language::En => local.format("%A %-d %B %Y").to_string(),
        Language::Id => {
            const DAYS: [&str; 7] = [
                "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
            ];
            const MONTHS: [&str; 12] = [
                "Januari",
                "Februari",
                "Maret",
                "April",
                "Mei",
                "Juni",
                "Juli",
                "Agustus",
                "September",
                "Oktober",
                "November",
                "Desember",
            ];
            format!(
                "{} {} {} {}",
                DAYS[local.weekday().num_days_from_monday() as usize],
                local.day(),
                MONTHS[local.month0() as usize],
                local.year()
            )
        }
    };
    (date, time)
}

/// A slot's short label in the business timezone: "27/11 19:00".
pub fn short_label(t: Timestamp, tz: chrono_tz::Tz) -> String {
    tz.timestamp_millis_opt(t.millis())
        .single()
        .expect("a UTC instant has one local time")
        .format("%d/%m %H:%M")
        .to_string()
}

/// An amount in rupiah: "Rp 450.000".
pub fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    format!("Rp {}{out}", if amount < 0 { "-" } else { "" })
}

pub fn status_word(state: PaymentState, lang: Language) -> &'static str {
    match (state, lang) {
        (PaymentState::Confirmed, Language::En) => "confirmed",
        (PaymentState::Confirmed, Language::Id) => "lunas",
        (PaymentState::Failed, Language::En) => "failed",
        (PaymentState::Failed, Language::Id) => "gagal",
        (PaymentState::Expired, Language::En) => "expired",
        (PaymentState::Expired, Language::Id) => "kedaluwarsa",
        (PaymentState::Refunded, Language::En) => "refunded",
        (PaymentState::Refunded, Language::Id) => "sudah dikembalikan",
        (PaymentState::Chargeback, Language::En) => "under a chargeback",
        (PaymentState::Chargeback, Language::Id) => "dalam proses chargeback",
        (PaymentState::Pending, Language::En) => "pending",
        (PaymentState::Pending, Language::Id) => "menunggu",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render_in_the_business_timezone_and_language() {
        // 2026-11-27 12:00 UTC is 19:00 in Jakarta.
        let t = Timestamp(1_795_780_800_000);
        let tz = chrono_tz::Asia::Jakarta;
        assert_eq!(
            when(t, tz, Language::En),
            ("Friday 27 November 2026".into(), "19:00".into())
        );
        assert_eq!(when(t, tz, Language::Id).0, "Jumat 27 November 2026");
        assert_eq!(rupiah(450_000), "Rp 450.000");
        assert_eq!(rupiah(1_250_000), "Rp 1.250.000");
    }
}
