//! The console's pages as maud markup: the frame (header, navigation,
//! language switch, sign-out) and each page's body. Handlers prepare plain
//! data; nothing here reads the store.
//!
//! Every text from outside (customer messages, names, reasons) goes through
//! maud's escaping. Customer text is shown as quoted, untrusted data.

use maud::{DOCTYPE, Markup, html};

use super::labels::L;
use super::session::Session;
use crate::core::case::Language;
use crate::core::types::Timestamp;
use crate::http::auth::Role;

/// Which section a page belongs to, for the navigation's `aria-current`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Here {
    Lane,
    Stuck,
    Desk,
    Retry,
    Search,
    Case,
    Qa,
}

/// What every signed-in page needs.
pub struct Frame<'a> {
    pub session: &'a Session,
    pub here: Here,
    /// Where the language switch brings the reader back to.
    pub back_to: String,
    pub tz: chrono_tz::Tz,
    pub now: Timestamp,
}

impl Frame<'_> {
    pub fn lang(&self) -> Language {
        self.session.lang
    }

    pub fn t(&self, l: L) -> &'static str {
        l.text(self.session.lang)
    }

    /// A time in the business timezone, e.g. "29 Nov 2026 16:05 WIB".
    pub fn when(&self, t: Timestamp) -> String {
        local(t, self.tz)
    }

    /// The hidden CSRF field of a form.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.session.csrf); }
    }

    pub fn may(&self, role: Role) -> bool {
        self.session.principal.role.allows(role)
    }

    /// A live SLA clock: counts down to `due`, then shows how overdue.
    pub fn countdown(&self, due: Timestamp) -> Markup {
        let left = due.since(self.now);
        let (words, over) = if left >= 0 {
            (self.t(L::Left), false)
        } else {
            (self.t(L::Overdue), true)
        };
        html! {
            time.due.overdue[over] datetime=(due.to_rfc3339())
                data-due-ms=(due.millis())
                data-left=(self.t(L::Left)) data-over=(self.t(L::Overdue)) {
                (words.replace("{}", &span(left)))
            }
        }
    }
}

/// `h:mm:ss` or `m:ss` of a duration in milliseconds (sign dropped), as
/// the page's script writes it.
pub fn span(ms: i64) -> String {
    let s = ms.unsigned_abs() / 1000;
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

/// A time in `tz`, to the minute, with the zone's abbreviation.
pub fn local(t: Timestamp, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp_millis(t.millis())
        .map(|d| d.with_timezone(&tz).format("%d %b %Y %H:%M %Z").to_string())
        .unwrap_or_default()
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="referrer" content="same-origin";
        title { (title) " · caseflow" }
        link rel="stylesheet" href="/console/assets/console.css";
        script src="/console/assets/console.js" defer {}
    }
}

/// A signed-in page: header with navigation, search and who is signed in,
/// then `body` under the page's `h1`.
pub fn page(f: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let lang = f.lang();
    let mut nav = vec![
        (Here::Lane, "/console/lane", L::MyLane),
        (Here::Stuck, "/console/stuck", L::Stuck),
        (Here::Desk, "/console/desk", L::Desk),
        (Here::Retry, "/console/retry", L::BulkRetry),
    ];
    // Labelling needs what `POST /admin/qa/labels` needs: operator and up.
    if f.may(Role::Operator) {
        nav.push((Here::Qa, "/console/qa", L::QaAudit));
    }
    let p = &f.session.principal;
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head { (head(title)) }
            body {
                a.skip href="#main" { (f.t(L::SkipToContent)) }
                header.top {
                    nav.main aria-label=(f.t(L::Console)) {
                        ul {
                            li { a.brand href="/console/lane" { "caseflow" } }
                            @for (here, href, label) in nav {
                                li {
                                    a href=(href) aria-current=[(f.here == here).then_some("page")] {
                                        (f.t(label))
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        span { (f.t(L::SignedInAs)) " " strong { (p.name) } " (" (p.role.as_str()) ")" }
                        form method="post" action="/console/lang" {
                            (f.csrf())
                            input type="hidden" name="back" value=(f.back_to);
                            span.sr-only { (f.t(L::Language)) ": " }
                            button type="submit" name="lang" value="en" lang="en"
                                aria-pressed=(if lang == Language::En { "true" } else { "false" }) { "English" }
                            " "
                            button type="submit" name="lang" value="id" lang="id"
                                aria-pressed=(if lang == Language::Id { "true" } else { "false" }) { "Bahasa Indonesia" }
                        }
                        form method="post" action="/console/logout" {
                            (f.csrf())
                            button type="submit" { (f.t(L::SignOut)) }
                        }
                    }
                }
                main #main tabindex="-1" {
                    form.search method="get" action="/console/search" role="search" {
                        div {
                            label for="customer-search" { (f.t(L::CustomerNumber)) }
                            input #customer-search type="search" name="customer" inputmode="tel"
                                autocomplete="off" placeholder="+62 812-3456-7890";
                        }
                        button type="submit" { (f.t(L::Search)) }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The sign-in page (no session yet). `error` is shown above the form.
pub fn sign_in(lang: Language, error: Option<L>) -> Markup {
    let t = |l: L| l.text(lang);
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head { (head(t(L::SignIn))) }
            body {
                main #main .signin {
                    h1 { "caseflow · " (t(L::Console)) }
                    p {
                        a href="/console?lang=en" lang="en" aria-current=[(lang == Language::En).then_some("true")] { "English" }
                        " · "
                        a href="/console?lang=id" lang="id" aria-current=[(lang == Language::Id).then_some("true")] { "Bahasa Indonesia" }
                    }
                    @if let Some(e) = error {
                        p.notice.error role="alert" { (t(e)) }
                    }
                    form.card method="post" action="/console/login" {
                        p { (t(L::SignInIntro)) }
                        input type="hidden" name="lang" value=(lang.as_str());
                        label for="token" { (t(L::Token)) }
                        input #token type="password" name="token" required
                            autocomplete="current-password" autofocus;
                        div.actions { button type="submit" { (t(L::SignIn)) } }
                    }
                }
            }
        }
    }
}

/// A page that only says why a request was refused (or not found).
pub fn message(lang: Language, title: &str, text: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head { (head(title)) }
            body {
                main #main .signin {
                    h1 { (title) }
                    p.notice.error role="alert" { (text) }
                    p { a href="/console" { (L::Back.text(lang)) } }
                }
            }
        }
    }
}

/// A notice at the top of a page: `ok` for done, else an error.
pub fn notice(ok: bool, text: &str) -> Markup {
    html! {
        @if ok {
            p.notice.ok role="status" { (text) }
        } @else {
            p.notice.error role="alert" { (text) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_the_script_writes_them() {
        assert_eq!(span(0), "0:00");
        assert_eq!(span(59_999), "0:59");
        assert_eq!(span(-61_000), "1:01");
        assert_eq!(span(3_600_000 + 5_000), "1:00:05");
    }

    #[test]
    fn times_show_in_the_business_timezone() {
        // 2026-11-29 09:05 UTC is 16:05 in Jakarta.
        let t = Timestamp(1_795_943_100_000);
        assert_eq!(local(t, chrono_tz::Asia::Jakarta), "29 Nov 2026 16:05 WIB");
    }
}
