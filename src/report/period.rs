//! The report's period and its ISO weeks, in the business timezone.
//!
//! A period is whole calendar days: `from` 00:00 to the end of `to`, local
//! time (CONTRACT section 6: DATE is YYYY-MM-DD in the business timezone).
//! Weeks are ISO weeks (Monday to Sunday) cut to the period.

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::core::types::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`{field}` must be a date YYYY-MM-DD, not '{value}'")]
    BadDate { field: &'static str, value: String },
    #[error("`from` ({from}) is after `to` ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("the period from {from} to {to} is longer than {max} days")]
    TooLong {
        from: NaiveDate,
        to: NaiveDate,
        max: i64,
    },
}

/// Longest period a report covers (about two years).
pub const MAX_DAYS: i64 = 750;

/// Whole days from `from` to `to` (both included) in `tz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
}

/// One ISO week of the period, cut to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    /// `2026-W48`.
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Parses an optional `YYYY-MM-DD` field.
pub fn parse_date(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<NaiveDate>, PeriodError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| PeriodError::BadDate {
                field,
                value: v.to_string(),
            }),
    }
}

/// Local midnight starting `date`, as a timestamp. A midnight skipped by a
/// clock change starts at the first instant of the day that exists.
pub fn day_start(date: NaiveDate, tz: Tz) -> Timestamp {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let at = tz
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| naive.and_utc().timestamp_millis());
    Timestamp(at)
}

/// The local date of an instant.
pub fn local_date(at: Timestamp, tz: Tz) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(at.millis())
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

impl Period {
    /// The period from the given dates; the defaults are the last four ISO
    /// weeks up to `today` (this week included).
    pub fn new(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
        tz: Tz,
    ) -> Result<Period, PeriodError> {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| {
            let monday = to - chrono::Duration::days(to.weekday().num_days_from_monday() as i64);
            monday - chrono::Duration::weeks(3)
        });
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(PeriodError::TooLong {
                from,
                to,
                max: MAX_DAYS,
            });
        }
        Ok(Period { from, to, tz })
    }

    pub fn start(&self) -> Timestamp {
        day_start(self.from, self.tz)
    }

    /// The first instant after the period.
    pub fn end(&self) -> Timestamp {
        day_start(self.to + chrono::Duration::days(1), self.tz)
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        at >= self.start() && at < self.end()
    }

    /// The period's ISO weeks, in order, cut to the period.
    pub fn weeks(&self) -> Vec<Week> {
        let mut out = Vec::new();
        let mut day = self.from;
        while day <= self.to {
            let monday = day - chrono::Duration::days(day.weekday().num_days_from_monday() as i64);
            let sunday = monday + chrono::Duration::days(6);
            let to = sunday.min(self.to);
            let iso = day.iso_week();
            out.push(Week {
                label: format!("{}-W{:02}", iso.year(), iso.week()),
                from: day,
                to,
                start: day_start(day, self.tz),
                end: day_start(to + chrono::Duration::days(1), self.tz),
            });
            day = to + chrono::Duration::days(1);
        }
        out
    }

    /// Index of the week holding `at`, if it is in the period.
    pub fn week_of(&self, at: Timestamp) -> Option<usize> {
        if !self.contains(at) {
            return None;
        }
        let date = local_date(at, self.tz);
        let first_monday =
            self.from - chrono::Duration::days(self.from.weekday().num_days_from_monday() as i64);
        Some(((date - first_monday).num_days() / 7) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_default_period_is_four_iso_weeks_up_to_today() {
        let tz = chrono_tz::Asia::Jakarta;
        // 2026-11-26 is a Thursday.
        let p = Period::new(None, None, d("2026-11-26"), tz).unwrap();
        assert_eq!(p.from, d("2026-11-02"));
        let weeks = p.weeks();
        assert_eq!(weeks.len(), 4);
        assert_eq!(weeks[0].label, "2026-W45");
        assert_eq!(weeks[3].to, d("2026-11-26"));
    }

    #[test]
    fn weeks_are_cut_to_the_period_and_instants_fall_in_local_days() {
        let tz = chrono_tz::Asia::Jakarta;
        let p = Period::new(
            Some(d("2026-11-04")),
            Some(d("2026-11-10")),
            d("2026-12-01"),
            tz,
        )
        .unwrap();
        let weeks = p.weeks();
        assert_eq!(weeks.len(), 2);
        assert_eq!(
            (weeks[0].from, weeks[0].to),
            (d("2026-11-04"), d("2026-11-08"))
        );
        assert_eq!(
            (weeks[1].from, weeks[1].to),
            (d("2026-11-09"), d("2026-11-10"))
        );
        // 2026-11-08 20:00 UTC is Monday 03:00 in Jakarta: the second week.
        let at = Timestamp(
            chrono::DateTime::parse_from_rfc3339("2026-11-08T20:00:00Z")
                .unwrap()
                .timestamp_millis(),
        );
        assert_eq!(p.week_of(at), Some(1));
        assert_eq!(p.start(), weeks[0].start);
        assert_eq!(p.end(), weeks[1].end);
        assert_eq!(p.week_of(p.end()), None);
    }

    #[test]
    fn bad_periods_are_refused_by_name() {
        let tz = chrono_tz::Asia::Jakarta;
        assert!(matches!(
            parse_date("from", Some("2026-13-01")),
            Err(PeriodError::BadDate { field: "from", .. })
        ));
        assert!(matches!(
            Period::new(
                Some(d("2026-11-10")),
                Some(d("2026-11-01")),
                d("2026-12-01"),
                tz
            ),
            Err(PeriodError::Reversed { .. })
        ));
    }
}
