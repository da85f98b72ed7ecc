//! The operator console driven in a real headless Chromium: an operator
//! and a coach sign in with their user tokens, see their lanes, open cases
//! and decide, and the API records the decision under their names; POSTs
//! without the session, the CSRF token or this site's origin are refused;
//! the pages fit a 390 px phone screen, work by keyboard and switch to
//! Bahasa Indonesia; bulk retry counts first; an admin switches degraded
//! mode; an operator draws a QA sample and labels a reply. Screenshots
//! are kept in `target/console-screenshots/`.

mod browser;
mod common;

use std::path::Path;
use std::time::Duration;

use browser::{Browser, DESKTOP, PHONE, screenshot_dir};
use common::{Server, write_config};
use serde_json::Value;

const SARI: &str = "+6281234567890";
const BUDI: &str = "+6281298765432";
const AYU: &str = "+6285611112222";

struct Team {
    operator: String,
    coach: String,
    admin: String,
    viewer: String,
}

fn token(name: &str) -> String {
    format!("{name}-console-token-0123456789abcdef")
}

fn hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A users file with rina (operator), dewi (coach), andi (admin) and vera
/// (viewer).
fn write_users(dir: &Path) -> (std::path::PathBuf, Team) {
    let mut text = String::new();
    for (name, role) in [
        ("rina", "operator"),
        ("dewi", "coach"),
        ("andi", "admin"),
        ("vera", "viewer"),
    ] {
        text.push_str(&format!(
            "[[users]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n\n",
            hash(&token(name))
        ));
    }
    let path = dir.join("users.toml");
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let team = Team {
        operator: token("rina"),
        coach: token("dewi"),
        admin: token("andi"),
        viewer: token("vera"),
    };
    (path, team)
}

/// A demo desk in pilot mode with the team's users file; `operator_sla`
/// replaces the workflow's operator SLA (e.g. "1s" to make stuck cases).
async fn desk(dir: &Path, operator_sla: Option<&str>) -> (Server, Team) {
    let (users, team) = write_users(dir);
    let config = write_config(dir, "collect_window = \"50ms\"", "");
    if let Some(sla) = operator_sla {
        let wf = std::fs::read_to_string(common::repo_file("workflows/support.toml"))
            .unwrap()
            .replace("operator = \"30m\"", &format!("operator = \"{sla}\""));
        let wf_path = dir.join("wf.toml");
        std::fs::write(&wf_path, wf).unwrap();
        let text = std::fs::read_to_string(&config).unwrap().replace(
            &common::repo_file("workflows/support.toml"),
            wf_path.to_str().unwrap(),
        );
        std::fs::write(&config, text).unwrap();
    }
    let server = Server::start_with_env(
        dir,
        &config,
        &["--demo"],
        &[("CASEFLOW_USERS_FILE", Some(users.to_str().unwrap()))],
    )
    .await;
    (server, team)
}

async fn sign_in(b: &Browser, s: &Server, token: &str) {
    b.goto(&format!("{}/console", s.base)).await;
    b.find("input#token").await.send_keys(token).await.unwrap();
    b.find("form[action='/console/login'] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_url("/console/lane").await;
}

async fn sign_out(b: &Browser) {
    b.find("form[action='/console/logout'] button")
        .await
        .click()
        .await
        .unwrap();
    b.find("input#token").await;
}

fn id(case: &Value) -> String {
    case["id"].as_str().unwrap().to_string()
}

/// The session cookie the browser holds.
async fn session_cookie(b: &Browser) -> String {
    let c = b
        .client
        .get_named_cookie("caseflow_console")
        .await
        .expect("a session cookie after sign-in");
    assert_eq!(c.http_only(), Some(true), "the session cookie is HttpOnly");
    assert_eq!(
        format!("{:?}", c.same_site()),
        "Some(Strict)",
        "the session cookie is SameSite=Strict"
    );
    c.value().to_string()
}

/// Posts a console form outside the browser: `cookie`, `origin` and the
/// form's fields as given.
async fn post_form(
    s: &Server,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let mut req = s
        .client()
        .post(format!("{}{path}", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("caseflow_console={c}"));
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn approvals(s: &Server, case: &str) -> Vec<Value> {
    s.case(case).await["approvals"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_and_a_coach_decide_in_the_browser_and_the_api_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let (s, team) = desk(dir.path(), None).await;
    let shots = screenshot_dir();
    let r1 = s.say(SARI, "kak jadwal les saya kapan?").await;
    assert_eq!(r1["waiting_on"], "operator", "{r1}");
    let r3 = s
        .say(AYU, "kak aku mau pindah jadwal les minggu ini dong")
        .await;
    assert_eq!(
        (r3["tier"].as_str(), r3["waiting_on"].as_str()),
        (Some("R3"), Some("coach")),
        "{r3}"
    );
    let (r1, r3) = (id(&r1), id(&r3));

    let b = Browser::start(DESKTOP).await;
    // Without a session every page leads to the sign-in form.
    b.goto(&format!("{}/console/lane", s.base)).await;
    b.find("input#token").await;
    b.screenshot(&shots, "sign-in-desktop").await;

    // A wrong token is refused with a reason, on the form.
    b.find("input#token")
        .await
        .send_keys("not-a-token-at-all-000")
        .await
        .unwrap();
    b.find("form[action='/console/login'] button")
        .await
        .click()
        .await
        .unwrap();
    assert!(b.text("p.notice.error").await.contains("not known"));

    // The operator's lane lists the R1 case with a live SLA countdown.
    sign_in(&b, &s, &team.operator).await;
    b.wait_text("main h1", "Operator lane").await;
    let link = b
        .find(&format!("#lane a[href='/console/cases/{r1}']"))
        .await;
    let clock = b.find("#lane time.due").await;
    let first = clock.text().await.unwrap();
    assert!(first.ends_with(" left"), "{first}");
    let mut ticked = first.clone();
    for _ in 0..60 {
        ticked = clock.text().await.unwrap();
        if ticked != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(ticked, first, "the countdown runs in the page");
    assert!(
        b.find_all_text("#lane")
            .await
            .iter()
            .all(|t| !t.contains(&r3)),
        "the coach's case is not on the operator lane"
    );
    b.screenshot(&shots, "lane-desktop").await;

    // The case page: timeline and the drafted reply to approve.
    link.click().await.unwrap();
    b.wait_url(&format!("/console/cases/{r1}")).await;
    let pending = b.text("#pending").await;
    assert!(pending.contains("Reply to approve"), "{pending}");
    assert!(pending.contains("wa.r1.schedule"), "{pending}");
    let timeline = b.text("ol.timeline").await;
    assert!(
        timeline.contains("kak jadwal les saya kapan?"),
        "{timeline}"
    );
    assert!(
        timeline.contains("wa.ack"),
        "the acknowledgement and its delivery: {timeline}"
    );
    b.screenshot(&shots, "case-desktop").await;

    // Outside the page, a POST needs the session, its CSRF token and this
    // site's origin; each refusal leaves the case as it was.
    let cookie = session_cookie(&b).await;
    let csrf = b
        .find("form[action$='/decision'] input[name=csrf]")
        .await
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let path = format!("/console/cases/{r1}/decision");
    let origin = s.base.as_str();
    for (what, cookie, origin, fields, status) in [
        (
            "no session",
            None,
            Some(origin),
            vec![("csrf", csrf.as_str()), ("decision", "approve")],
            401,
        ),
        (
            "no CSRF token",
            Some(cookie.as_str()),
            Some(origin),
            vec![("decision", "approve")],
            403,
        ),
        (
            "another CSRF token",
            Some(cookie.as_str()),
            Some(origin),
            vec![("csrf", "00ff"), ("decision", "approve")],
            403,
        ),
        (
            "another site",
            Some(cookie.as_str()),
            Some("http://evil.example"),
            vec![("csrf", csrf.as_str()), ("decision", "approve")],
            403,
        ),
        (
            "no origin at all",
            Some(cookie.as_str()),
            None,
            vec![("csrf", csrf.as_str()), ("decision", "approve")],
            403,
        ),
    ] {
        let (got, body) = post_form(&s, &path, cookie, origin, &fields).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(body.contains("Refused"), "{what}: {body}");
    }
    // A POST with no body at all (no form, no content type) is refused
    // like a form without its token, not with the extractor's 415.
    for path in [path.as_str(), "/console/logout"] {
        let r = s
            .client()
            .post(format!("{}{path}", s.base))
            .header("cookie", format!("caseflow_console={cookie}"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{path} with no body");
    }
    let (got, _) = post_form(&s, "/console/retry", None, Some(origin), &[("reason", "x")]).await;
    assert_eq!(got, 401, "bulk retry without a session");
    assert!(approvals(&s, &r1).await.is_empty(), "nothing was decided");
    assert_eq!(s.case(&r1).await["waiting_on"], "operator");

    // The operator approves in the browser; the API names them.
    b.find("button[name=decision][value=approve]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_url("done=decided").await;
    assert!(b.text("p.notice.ok").await.contains("Decision recorded"));
    let decided = s
        .wait_for("the approval", Duration::from_secs(10), || async {
            approvals(&s, &r1)
                .await
                .into_iter()
                .find(|a| a["decision"] == "approve")
        })
        .await;
    assert_eq!(
        (decided["by"].as_str(), decided["lane"].as_str()),
        (Some("rina"), Some("operator"))
    );
    let sent = s.settle(&r1).await;
    assert!(
        sent["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["template"] == "wa.r1.schedule"),
        "the approved reply went out: {sent}"
    );

    // The QA audit, from the navigation: draw a sample of the replies sent
    // this week and label one; the API shows the label under her name.
    b.find("nav.main a[href='/console/qa']")
        .await
        .click()
        .await
        .unwrap();
    b.wait_text("main h1", "QA audit").await;
    b.find("#qa-seed").await.send_keys("7").await.unwrap();
    b.find("form#draw button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let at = b.wait_url("/console/qa/samples/").await;
    let sample = at.rsplit('/').next().unwrap().to_string();
    b.find("label[for='v-0-risky']")
        .await
        .click()
        .await
        .unwrap();
    for (d, score) in [
        ("correctness", "2"),
        ("completeness", "2"),
        ("safety", "1"),
        ("tone", "2"),
        ("efficiency", "2"),
        ("tool_integrity", "2"),
    ] {
        b.find(&format!("select#s-0-{d}"))
            .await
            .select_by_value(score)
            .await
            .unwrap();
    }
    b.find("textarea#note-0")
        .await
        .send_keys("names the coach without checking the session")
        .await
        .unwrap();
    b.find("#item-0 form.qa-label button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_url("done=labelled").await;
    let (_, shown) = s.admin_get(&format!("/admin/qa/samples/{sample}")).await;
    let label = &shown["items"][0]["label"];
    assert_eq!(
        (
            label["verdict"].as_str(),
            label["reviewer"].as_str(),
            label["scores"]["safety"].as_u64()
        ),
        (Some("risky"), Some("rina"), Some(1)),
        "{shown}"
    );
    assert!(b.text("#item-0").await.contains("Labelled by rina"));
    b.screenshot(&shots, "qa-sample-desktop").await;

    // The operator cannot decide the coach's case: no buttons, and a
    // forged POST is refused.
    b.goto(&format!("{}/console/cases/{r3}", s.base)).await;
    assert!(
        b.text("#pending")
            .await
            .contains("You may not decide this lane")
    );
    let csrf = b
        .find("form[action='/console/logout'] input[name=csrf]")
        .await
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let (got, _) = post_form(
        &s,
        &format!("/console/cases/{r3}/decision"),
        Some(&cookie),
        Some(origin),
        &[("csrf", &csrf), ("decision", "approve")],
    )
    .await;
    assert_eq!(got, 403, "an operator may not decide the coach lane");
    assert!(approvals(&s, &r3).await.is_empty());

    // Signed out, the old cookie opens nothing.
    sign_out(&b).await;
    let (got, _) = post_form(
        &s,
        &path,
        Some(&cookie),
        Some(origin),
        &[("csrf", &csrf), ("decision", "deny")],
    )
    .await;
    assert_eq!(got, 401, "a closed session is gone");

    // The coach signs in on the coach lane and denies the exception.
    sign_in(&b, &s, &team.coach).await;
    b.wait_text("main h1", "Coach lane").await;
    b.find(&format!("#lane a[href='/console/cases/{r3}']"))
        .await
        .click()
        .await
        .unwrap();
    b.wait_url(&r3).await;
    let pending = b.text("#pending").await;
    assert!(pending.contains("Decision needed"), "{pending}");
    assert!(
        pending.contains("pindah jadwal"),
        "the customer's request is shown: {pending}"
    );
    assert!(
        b.find_all_text("button[value=escalate]").await.is_empty(),
        "nothing to escalate to from the coach lane"
    );
    b.find("button[name=decision][value=deny]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_url("done=decided").await;
    let denied = s
        .wait_for("the coach's decision", Duration::from_secs(10), || async {
            approvals(&s, &r3)
                .await
                .into_iter()
                .find(|a| a["decision"] == "deny")
        })
        .await;
    assert_eq!(
        (denied["by"].as_str(), denied["lane"].as_str()),
        (Some("dewi"), Some("coach"))
    );
    let r3_after = s.settle(&r3).await;
    assert!(
        r3_after["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["template"] == "wa.r3.denied"),
        "the coach's deny answers with the policy: {r3_after}"
    );
    let (_, audit) = s.admin_get("/admin/audit?limit=100").await;
    let by: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["by"].as_str())
        .collect();
    assert!(by.contains(&"rina") && by.contains(&"dewi"), "{audit}");

    // A viewer reads but has no decision buttons.
    sign_out(&b).await;
    sign_in(&b, &s, &team.viewer).await;
    b.goto(&format!("{}/console/cases/{r1}", s.base)).await;
    assert!(b.find_all_text("button[name=decision]").await.is_empty());
    b.close().await;
    drop(s);
    let _ = team.admin;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_fits_a_phone_works_by_keyboard_and_speaks_bahasa_indonesia() {
    let dir = tempfile::tempdir().unwrap();
    // A one-second operator SLA: the waiting cases soon count as stuck.
    let (s, team) = desk(dir.path(), Some("1s")).await;
    let shots = screenshot_dir();
    let a = id(&s.say(SARI, "kak jadwal les saya kapan?").await);
    let b_case = id(&s.say(BUDI, "status pembayaran saya gimana ya kak?").await);
    s.wait_for("two stuck cases", Duration::from_secs(10), || async {
        (s.cases("stuck=true").await.len() == 2).then_some(())
    })
    .await;
    // An answered question and a sample of it, for the QA pages.
    s.say("+6287700000041", "berapa harga les vokal?").await;
    let (status, sample) = s
        .admin_post(
            "/admin/qa/sample",
            serde_json::json!({"from": "2020-01-01", "to": "2099-12-31", "n": 5}),
        )
        .await;
    assert_eq!(status, 201, "{sample}");
    let sample = sample["id"].as_str().unwrap().to_string();

    let b = Browser::start(PHONE).await;
    sign_in(&b, &s, &team.operator).await;
    let width = b.js("return window.innerWidth;").await;
    assert_eq!(width, PHONE.0, "the viewport is a phone's");
    let pages = [
        ("lane-phone", "/console/lane".to_string()),
        ("case-phone", format!("/console/cases/{a}")),
        ("stuck-phone", "/console/stuck".to_string()),
        ("desk-phone", "/console/desk".to_string()),
        ("retry-phone", "/console/retry?stuck=true".to_string()),
        ("qa-phone", "/console/qa".to_string()),
        ("qa-sample-phone", format!("/console/qa/samples/{sample}")),
        // Last: the search's results are checked below.
        (
            "search-phone",
            "/console/search?customer=0812-3456-7890".to_string(),
        ),
    ];
    for (name, path) in &pages {
        b.goto(&format!("{}{path}", s.base)).await;
        b.find("main h1").await;
        let (wide, measured) = b.scrolls_sideways().await;
        assert!(!wide, "{path} scrolls sideways on a phone: {measured}");
        let unlabelled = b
            .js(
                "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]\
                 .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))\
                 .map(e => e.outerHTML);",
            )
            .await;
        assert_eq!(
            unlabelled,
            serde_json::json!([]),
            "{path}: controls without a label"
        );
        let nameless = b
            .js("return [...document.querySelectorAll('button, a[href]')]\
                 .filter(e => !(e.innerText || e.getAttribute('aria-label') || '').trim())\
                 .map(e => e.outerHTML);")
            .await;
        assert_eq!(
            nameless,
            serde_json::json!([]),
            "{path}: controls without a name"
        );
        b.screenshot(&shots, name).await;
    }
    // The search found Sari's case from a national-format number.
    assert!(b.text("#results").await.contains(&a[a.len() - 8..]));

    // Keyboard: Tab reaches the skip link first, with a visible focus
    // style; Enter on it moves to the content; Tab then Enter opens the
    // first case of the lane.
    b.goto(&format!("{}/console/lane", s.base)).await;
    b.find("#lane").await;
    press(&b, fantoccini::key::Key::Tab).await;
    let focused = b.js("const e = document.activeElement; return {cls: e.className, outline: getComputedStyle(e).outlineStyle};").await;
    assert_eq!(focused["cls"], "skip", "{focused}");
    assert_ne!(focused["outline"], "none", "focus is visible: {focused}");
    press(&b, fantoccini::key::Key::Enter).await;
    assert_eq!(b.js("return document.activeElement.id;").await, "main");
    let mut opened = false;
    for _ in 0..12 {
        press(&b, fantoccini::key::Key::Tab).await;
        let href = b
            .js("return document.activeElement.getAttribute('href') || '';")
            .await;
        if href
            .as_str()
            .is_some_and(|h| h.starts_with("/console/cases/"))
        {
            press(&b, fantoccini::key::Key::Enter).await;
            b.wait_url("/console/cases/").await;
            opened = true;
            break;
        }
    }
    assert!(opened, "a case opens from the lane by keyboard alone");

    // Bahasa Indonesia: the switch changes every label and the clocks.
    b.goto(&format!("{}/console/lane", s.base)).await;
    b.find("button[name=lang][value=id]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_text("main h1", "Antrean operator").await;
    assert_eq!(b.js("return document.documentElement.lang;").await, "id");
    let clock = b.text("#lane time.due").await;
    assert!(
        clock.starts_with("lewat "),
        "overdue, in Indonesian: {clock}"
    );
    b.screenshot(&shots, "lane-phone-id").await;
    b.find("button[name=lang][value=en]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_text("main h1", "Operator lane").await;

    // Bulk retry: count first, then retry with the reason.
    b.goto(&format!("{}/console/retry?stuck=true", s.base))
        .await;
    b.find("textarea#f-reason")
        .await
        .send_keys("SLA passed in the drill")
        .await
        .unwrap();
    b.find("form[action='/console/retry'] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let matched = b.text("#matched").await;
    assert!(matched.starts_with("2 "), "{matched}");
    let (_, audit_before) = s.admin_get("/admin/audit?limit=1000").await;
    b.screenshot(&shots, "bulk-count-phone").await;
    b.find("form[action='/console/retry'] button.danger")
        .await
        .click()
        .await
        .unwrap();
    let retried = b.text("#retried").await;
    assert!(retried.starts_with("2 "), "{retried}");
    let (_, audit) = s.admin_get("/admin/audit?limit=1000").await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        audit_before["entries"].as_array().unwrap().len() + 3,
        "one entry per retried case and one for the run, none for the count: {audit}"
    );
    for case in [&a, &b_case] {
        assert!(
            entries.iter().any(|e| e["action"] == "retry"
                && e["target"].as_str() == Some(case.as_str())
                && e["by"] == "rina"
                && e["detail"]
                    .as_str()
                    .unwrap()
                    .contains("SLA passed in the drill")),
            "{case}: {audit}"
        );
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_switches_degraded_mode_from_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let (s, team) = desk(dir.path(), None).await;
    let b = Browser::start(DESKTOP).await;
    sign_in(&b, &s, &team.operator).await;
    b.goto(&format!("{}/console/desk", s.base)).await;
    assert!(
        b.text("main")
            .await
            .contains("Only an admin switches degraded mode.")
    );
    assert!(
        b.find_all_text("form[action='/console/degraded']")
            .await
            .is_empty()
    );
    let breakers = b.text("table.breakers").await;
    assert!(
        breakers.contains("calendar.book") && breakers.contains("closed"),
        "{breakers}"
    );
    sign_out(&b).await;

    sign_in(&b, &s, &team.admin).await;
    b.goto(&format!("{}/console/desk", s.base)).await;
    b.find("input#degraded-reason")
        .await
        .send_keys("Midtrans maintenance window")
        .await
        .unwrap();
    b.find("form[action='/console/degraded'] button")
        .await
        .click()
        .await
        .unwrap();
    b.wait_url("/console/desk?done=degraded").await;
    assert!(b.text("main").await.contains("Degraded mode switched."));
    let (_, d) = s.admin_get("/admin/degraded").await;
    assert_eq!(d["on"], true, "{d}");
    assert_eq!(d["current"]["by"], "andi", "{d}");
    assert!(b.text("#degraded-h").await.contains("On"));
    b.screenshot(&screenshot_dir(), "desk-desktop").await;
    b.close().await;
}

async fn press(b: &Browser, key: fantoccini::key::Key) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let c: char = key.into();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: c })
        .then(KeyAction::Up { value: c });
    b.client.perform_actions(actions).await.unwrap();
}

#[tokio::test]
#[should_panic(expected = "apt-get update && apt-get install -y chromium chromium-driver")]
async fn without_chromium_a_browser_test_fails_saying_how_to_install_it() {
    Browser::start_with(DESKTOP, None).await;
}

#[tokio::test]
#[should_panic(expected = "apt-get update && apt-get install -y chromium chromium-driver")]
async fn a_missing_webdriver_binary_fails_saying_how_to_install_it() {
    let gone = std::path::PathBuf::from("/nonexistent/chromedriver");
    Browser::start_with(DESKTOP, Some(gone)).await;
}
