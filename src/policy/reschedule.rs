//! Reschedule policy: a free reschedule needs quota left this calendar month
//! and a request before the cutoff, both in the business timezone.
//!
//! Cutoff `calendar_days { days }`: the request must be made on a calendar
//! day at least `days` before the session's day ("H-1 allowed, H-0
//! consumed" with days = 1). Cutoff `minutes { minutes }`: at least that many
//! minutes before the session starts.

use chrono::{Datelike, TimeZone};
use chrono_tz::Tz;

use crate::core::types::Timestamp;

/// When a reschedule request is too late to be in policy (CONTRACT section
/// 2, "Reschedule"): `calendar_days` before the session's day in the
/// business timezone ("H-1 allowed, H-0 consumed" is `days = 1`), or
/// `minutes` before the session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Cutoff {
    CalendarDays { days: u32 },
    Minutes { minutes: u32 },
}

/// What the policy says about one reschedule request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Reschedules already used this calendar month (business timezone).
    pub used_this_month: u32,
    pub quota_left: bool,
    pub before_cutoff: bool,
}

impl Check {
    pub fn in_policy(&self) -> bool {
        self.quota_left && self.before_cutoff
    }
}

fn local(t: Timestamp, tz: Tz) -> chrono::DateTime<Tz> {
    tz.timestamp_millis_opt(t.millis())
        .single()
        .expect("a UTC instant has exactly one local time")
}

/// Reschedules in `history` that fall in the same calendar month as `now`.
pub fn used_this_month(history: &[Timestamp], now: Timestamp, tz: Tz) -> u32 {
    let today = local(now, tz);
    history
        .iter()
        .map(|t| local(*t, tz))
        .filter(|t| t.year() == today.year() && t.month() == today.month())
        .count() as u32
}

/// True when a request made at `now` is before the cutoff for a session
/// starting at `session`.
pub fn before_cutoff(session: Timestamp, now: Timestamp, tz: Tz, cutoff: Cutoff) -> bool {
    match cutoff {
        Cutoff::CalendarDays { days } => {
            let session_day = local(session, tz).date_naive();
            let today = local(now, tz).date_naive();
            (session_day - today).num_days() >= i64::from(days)
        }
        Cutoff::Minutes { minutes } => session.since(now) >= i64::from(minutes) * 60_000,
    }
}

pub fn check(
    history: &[Timestamp],
    session: Timestamp,
    now: Timestamp,
    tz: Tz,
    quota_per_month: u32,
    cutoff: Cutoff,
) -> Check {
    let used = used_this_month(history, now, tz);
    Check {
        used_this_month: used,
        quota_left: used < quota_per_month,
        before_cutoff: before_cutoff(session, now, tz, cutoff),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAKARTA: Tz = chrono_tz::Asia::Jakarta;

    /// A Jakarta wall-clock time as a timestamp.
    fn wib(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Timestamp {
        Timestamp(
            JAKARTA
                .with_ymd_and_hms(y, mo, d, h, mi, 0)
                .single()
                .unwrap()
                .timestamp_millis(),
        )
    }

    const H1: Cutoff = Cutoff::CalendarDays { days: 1 };

    #[test]
    fn quota_counts_reschedules_in_the_calendar_month_of_the_business_timezone() {
        let now = wib(2026, 11, 24, 10, 0);
        // 1 Nov 00:30 WIB is still 31 Oct in UTC: it counts for November here.
        let early_nov = wib(2026, 11, 1, 0, 30);
        let late_oct = wib(2026, 10, 31, 23, 59);
        let cases = [
            (vec![], 0, true),
            (vec![early_nov], 1, true),
            (vec![early_nov, wib(2026, 11, 20, 9, 0)], 2, false),
            (
                vec![early_nov, wib(2026, 11, 20, 9, 0), wib(2026, 11, 21, 9, 0)],
                3,
                false,
            ),
            (vec![late_oct, late_oct], 0, true),
        ];
        for (history, used, left) in cases {
            let c = check(&history, wib(2026, 11, 28, 10, 0), now, JAKARTA, 2, H1);
            assert_eq!(
                (c.used_this_month, c.quota_left),
                (used, left),
                "{history:?}"
            );
        }
    }

    #[test]
    fn calendar_day_cutoff_allows_the_day_before_and_consumes_the_day_itself() {
        let session = wib(2026, 11, 25, 16, 0);
        let table = [
            (wib(2026, 11, 24, 0, 0), true),   // H-1, start of day
            (wib(2026, 11, 24, 23, 59), true), // H-1, one minute before midnight
            (wib(2026, 11, 25, 0, 0), false),  // H-0 at midnight
            (wib(2026, 11, 25, 15, 0), false), // H-0, an hour before
            (wib(2026, 11, 20, 9, 0), true),
        ];
        for (now, ok) in table {
            assert_eq!(before_cutoff(session, now, JAKARTA, H1), ok, "{now:?}");
        }
    }

    #[test]
    fn a_session_just_after_midnight_is_judged_by_its_own_local_day() {
        // 00:15 WIB on the 26th is 17:15 UTC on the 25th.
        let session = wib(2026, 11, 26, 0, 15);
        assert!(before_cutoff(
            session,
            wib(2026, 11, 25, 23, 59),
            JAKARTA,
            H1
        ));
        assert!(!before_cutoff(
            session,
            wib(2026, 11, 26, 0, 0),
            JAKARTA,
            H1
        ));
        // In UTC both instants are on the 25th; the business day decides.
        assert!(before_cutoff(session, wib(2026, 11, 25, 7, 0), JAKARTA, H1));
    }

    #[test]
    fn minutes_cutoff_is_measured_to_the_minute() {
        let session = wib(2026, 11, 25, 16, 0);
        let m60 = Cutoff::Minutes { minutes: 60 };
        assert!(before_cutoff(
            session,
            wib(2026, 11, 25, 15, 0),
            JAKARTA,
            m60
        ));
        assert!(!before_cutoff(
            session,
            wib(2026, 11, 25, 15, 1),
            JAKARTA,
            m60
        ));
        assert!(before_cutoff(
            session,
            wib(2026, 11, 25, 0, 0),
            JAKARTA,
            m60
        ));
    }

    #[test]
    fn two_days_notice_when_configured() {
        let session = wib(2026, 11, 25, 16, 0);
        let h2 = Cutoff::CalendarDays { days: 2 };
        assert!(before_cutoff(
            session,
            wib(2026, 11, 23, 23, 0),
            JAKARTA,
            h2
        ));
        assert!(!before_cutoff(
            session,
            wib(2026, 11, 24, 8, 0),
            JAKARTA,
            h2
        ));
    }
}
