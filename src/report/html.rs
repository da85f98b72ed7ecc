//! The report as one self-contained HTML page: inline CSS, SVG charts drawn
//! by `plotters` (SVG backend, no font files: text is SVG `<text>` the
//! browser sets in its own sans-serif), tables of every figure; no script,
//! no external style, font or image, so it reads offline and prints.
//! Customer-derived text (gap examples, notes) is escaped by `maud`.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use plotters::prelude::*;

use crate::report::Report;
use crate::report::audit::DIMENSIONS;
use crate::report::figures::{Figures, Latency, SLA_LANES, TIER_KEYS};

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(127, 127, 127),
];

const STYLE: &str = "
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left;max-width:520px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{break-inside:avoid;page-break-inside:avoid}
.note{color:#555;font-size:13px}
.legend{font-size:12px;margin:-4px 0 8px 52px}.legend>span{margin-right:12px}
@media print{body{margin:0}h2{break-after:avoid}}
";

/// One series of a chart: its name and a value per x position.
struct Series {
    name: String,
    values: Vec<Option<f64>>,
}

fn series(name: &str, values: Vec<Option<f64>>) -> Series {
    Series {
        name: name.to_string(),
        values,
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Lines,
    Bars,
}

/// Draws a chart as an SVG string; a drawing error becomes a note.
fn chart(title: &str, y_desc: &str, x: &[String], data: &[Series], kind: Kind) -> String {
    let mut svg = String::new();
    let drawn = draw(&mut svg, title, y_desc, x, data, kind);
    match drawn {
        Ok(()) => format!("{svg}{}", legend(data).into_string()),
        Err(e) => format!("<p class=\"note\">{title}: chart not drawn ({e})</p>"),
    }
}

/// The series' names in their colours, under the chart (a legend drawn
/// inside the plot would hide the latest week's values).
fn legend(data: &[Series]) -> Markup {
    html! {
        div.legend {
            @for (i, s) in data.iter().enumerate() {
                @let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
                span { span style=(format!("color:rgb({r},{g},{b})")) { "■" } " " (s.name) }
            }
        }
    }
}

fn draw(
    out: &mut String,
    title: &str,
    y_desc: &str,
    x: &[String],
    data: &[Series],
    kind: Kind,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let n = x.len().max(1);
    let max = data
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |m, v| m.max(*v));
    let top = if max <= 0.0 { 1.0 } else { max * 1.15 };
    let root = SVGBackend::with_string(out, (520, 280)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)
        .map_err(|e| err(&e))?;
    let labels = x.to_vec();
    let label_of = move |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&label_of)
        .y_desc(y_desc)
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(|e| err(&e))?;
    let k = data.len().max(1) as f64;
    for (si, s) in data.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        match kind {
            Kind::Lines => {
                let points: Vec<(f64, f64)> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
                    .collect();
                c.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .map_err(|e| err(&e))?;
                c.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(|e| err(&e))?;
            }
            Kind::Bars => {
                let width = 0.8 / k;
                c.draw_series(s.values.iter().enumerate().filter_map(|(i, v)| {
                    let v = (*v)?;
                    let x0 = i as f64 - 0.4 + si as f64 * width;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + width * 0.9, v)],
                        color.filled(),
                    ))
                }))
                .map_err(|e| err(&e))?;
            }
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

fn pct(v: Option<f64>) -> Option<f64> {
    v.map(|r| r * 100.0)
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |x| format!("{x}"))
}

fn rate(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |x| format!("{:.1}%", x * 100.0))
}

fn latency(l: &Latency) -> String {
    format!(
        "{} / {} (n={})",
        num(l.p50_seconds),
        num(l.p90_seconds),
        l.count
    )
}

/// Every figure of a span as table rows: (name, value).
pub fn rows(f: &Figures) -> Vec<(String, String)> {
    let mut out = vec![
        ("cases opened".into(), f.cases_opened.to_string()),
        ("turns".into(), f.turns.to_string()),
        (
            "first response p50 / p90 s".into(),
            latency(&f.first_response),
        ),
        (
            "resolution R0/R1 p50 / p90 s".into(),
            latency(&f.resolution.r0_r1),
        ),
        (
            "resolution R2/R3 p50 / p90 s".into(),
            latency(&f.resolution.r2_r3),
        ),
    ];
    for k in TIER_KEYS {
        let t = &f.tiers[k];
        out.push((
            format!("{k}: turns, to a human, escalated (rate)"),
            format!(
                "{}, {}, {} ({})",
                t.turns,
                t.to_human,
                t.escalated,
                rate(t.escalation_rate)
            ),
        ));
    }
    out.extend([
        (
            "reopened within 7 days".into(),
            format!(
                "{} of {} ({})",
                f.reopen.reopened_within_7d,
                f.reopen.resolved,
                rate(f.reopen.rate)
            ),
        ),
        (
            "QA blocks (policy mismatch)".into(),
            f.qa_blocks.to_string(),
        ),
        (
            "unverified account actions (should be 0)".into(),
            f.unverified_account_actions.to_string(),
        ),
        (
            "reschedules booked".into(),
            format!(
                "{} of {} ({})",
                f.reschedule.booked,
                f.reschedule.requested,
                rate(f.reschedule.success_rate)
            ),
        ),
        (
            "payments confirmed after a follow-up".into(),
            format!(
                "{} of {} ({})",
                f.payments.confirmed_after_follow_up,
                f.payments.followed_up,
                rate(f.payments.rate)
            ),
        ),
    ]);
    for (lane, n) in &f.sla_breaches {
        out.push((format!("SLA breaches: {lane}"), n.to_string()));
    }
    for (tool, m) in &f.degraded_minutes {
        out.push((format!("degraded minutes: {tool}"), format!("{m}")));
    }
    let q = &f.qa_labels;
    out.push((
        "audit labels: correct / incorrect / risky".into(),
        format!("{} / {} / {}", q.correct, q.incorrect, q.risky),
    ));
    for d in DIMENSIONS {
        out.push((format!("audit mean {d} (0–2)"), num(q.mean_scores[d])));
    }
    out
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let x: Vec<String> = r.weeks.iter().map(|w| w.week.clone()).collect();
    let weekly = |f: &dyn Fn(&Figures) -> Option<f64>| -> Vec<Option<f64>> {
        r.weeks.iter().map(|w| f(&w.figures)).collect()
    };
    let mut charts: Vec<String> = vec![
        chart(
            "First response",
            "seconds",
            &x,
            &[
                series("p50", weekly(&|f| f.first_response.p50_seconds)),
                series("p90", weekly(&|f| f.first_response.p90_seconds)),
            ],
            Kind::Lines,
        ),
        chart(
            "Time to resolution",
            "minutes",
            &x,
            &[
                series(
                    "R0/R1 p50",
                    weekly(&|f| f.resolution.r0_r1.p50_seconds.map(|s| s / 60.0)),
                ),
                series(
                    "R0/R1 p90",
                    weekly(&|f| f.resolution.r0_r1.p90_seconds.map(|s| s / 60.0)),
                ),
                series(
                    "R2/R3 p50",
                    weekly(&|f| f.resolution.r2_r3.p50_seconds.map(|s| s / 60.0)),
                ),
                series(
                    "R2/R3 p90",
                    weekly(&|f| f.resolution.r2_r3.p90_seconds.map(|s| s / 60.0)),
                ),
            ],
            Kind::Lines,
        ),
        chart(
            "Turns by tier",
            "turns",
            &x,
            &TIER_KEYS
                .iter()
                .map(|k| series(k, weekly(&|f| Some(f.tiers[*k].turns as f64))))
                .collect::<Vec<_>>(),
            Kind::Bars,
        ),
        chart(
            "Escalation rate by tier",
            "% of turns",
            &x,
            &TIER_KEYS
                .iter()
                .map(|k| series(k, weekly(&|f| pct(f.tiers[*k].escalation_rate))))
                .collect::<Vec<_>>(),
            Kind::Bars,
        ),
        chart(
            "Reopens, reschedules, payments",
            "%",
            &x,
            &[
                series("reopened ≤7d", weekly(&|f| pct(f.reopen.rate))),
                series(
                    "reschedule success",
                    weekly(&|f| pct(f.reschedule.success_rate)),
                ),
                series("paid after follow-up", weekly(&|f| pct(f.payments.rate))),
            ],
            Kind::Lines,
        ),
        chart(
            "SLA breaches by lane",
            "breaches",
            &x,
            &SLA_LANES
                .iter()
                .map(|l| series(l, weekly(&|f| Some(f.sla_breaches[*l] as f64))))
                .collect::<Vec<_>>(),
            Kind::Bars,
        ),
        chart(
            "QA blocks and unverified actions",
            "count",
            &x,
            &[
                series("QA blocks", weekly(&|f| Some(f.qa_blocks as f64))),
                series(
                    "unverified actions",
                    weekly(&|f| Some(f.unverified_account_actions as f64)),
                ),
            ],
            Kind::Bars,
        ),
    ];
    let tools: Vec<String> = r.period.degraded_minutes.keys().cloned().collect();
    if !tools.is_empty() {
        charts.push(chart(
            "Degraded mode by tool",
            "minutes",
            &x,
            &tools
                .iter()
                .map(|t| {
                    series(
                        t,
                        weekly(&|f| Some(f.degraded_minutes.get(t).copied().unwrap_or(0.0))),
                    )
                })
                .collect::<Vec<_>>(),
            Kind::Bars,
        ));
    }
    charts.push(chart(
        "Audit: mean scores",
        "score 0–2",
        &x,
        &DIMENSIONS
            .iter()
            .map(|d| series(d, weekly(&|f| f.qa_labels.mean_scores[*d])))
            .collect::<Vec<_>>(),
        Kind::Lines,
    ));
    charts.push(chart(
        "Audit: verdicts",
        "labels",
        &x,
        &[
            series("correct", weekly(&|f| Some(f.qa_labels.correct as f64))),
            series("incorrect", weekly(&|f| Some(f.qa_labels.incorrect as f64))),
            series("risky", weekly(&|f| Some(f.qa_labels.risky as f64))),
        ],
        Kind::Bars,
    ));
    page(r, &charts).into_string()
}

fn page(r: &Report, charts: &[String]) -> Markup {
    let period_rows = rows(&r.period);
    let week_rows: Vec<Vec<(String, String)>> = r.weeks.iter().map(|w| rows(&w.figures)).collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "caseflow weekly report " (r.from) " to " (r.to) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Support desk report, " (r.from) " to " (r.to) }
                p.note {
                    "Timezone " (r.timezone) ", generated " (r.generated_at) ", "
                    (r.cases_read) " cases read from the store. Weeks are ISO weeks cut to the period; "
                    "turns count in the week they started."
                }
                h2 { "Charts" }
                div.charts { @for c in charts { div.chart { (PreEscaped(c)) } } }
                h2 { "Figures" }
                table {
                    tr { th { "figure" } th { "period" } @for w in &r.weeks { th { (w.week) } } }
                    @for (i, (name, value)) in period_rows.iter().enumerate() {
                        tr {
                            td { (name) } td { (value) }
                            @for w in &week_rows { td { (w.get(i).map_or("", |x| x.1.as_str())) } }
                        }
                    }
                }
                h2 { "Knowledge gaps" }
                p.note { "Turns no published article answered and no rule classified, grouped by their most frequent content word. Examples have digits and emails masked." }
                @if r.kb_gaps.is_empty() { p { "None in this period." } } @else {
                    table {
                        tr { th { "word" } th { "turns" } th { "seen with" } th { "examples" } }
                        @for g in &r.kb_gaps {
                            tr {
                                td { (g.word) } td { (g.turns) }
                                td.text { (g.related.join(", ")) }
                                td.text { @for e in &g.examples { div { (e) } } }
                            }
                        }
                    }
                }
                h2 { "Replies labelled risky" }
                @if r.risky_replies.is_empty() { p { "None in this period." } } @else {
                    table {
                        tr { th { "case" } th { "tier" } th { "template" } th { "sent" } th { "reviewer" } th { "note" } }
                        @for x in &r.risky_replies {
                            tr {
                                td { (x.case_id) } td { (x.tier.as_deref().unwrap_or("–")) }
                                td { (x.template.as_deref().unwrap_or("(edited text)")) }
                                td { (x.sent_at) } td { (x.reviewer) }
                                td.text { (x.note.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
                h2 { "Circuit breakers now" }
                @if r.breakers.is_empty() { p { "No breaker recorded." } } @else {
                    table {
                        tr { th { "tool" } th { "state" } th { "times opened" } th { "since" } }
                        @for b in &r.breakers { tr { td { (b.tool) } td { (b.state) } td { (b.opened) } td { (b.since) } } }
                    }
                }
            }
        }
    }
}
