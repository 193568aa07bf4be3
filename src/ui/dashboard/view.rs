//! Drawing the live view and the end block: pure functions of the state, onto a ratatui
//! buffer (the terminal's or a test's).
use super::state::{style, DashState, Row, Status, SPINNER};
use crate::ui::end::{self, End};
use crate::ui::kind::Kind;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui::Frame;
use std::time::Duration;

pub(super) fn clock(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The view, a pure function of the state: header, one row per step, the current change (with
/// apt's progress and the command's last lines while it runs), a hint.
pub fn render(state: &DashState, elapsed: Duration, color: bool, frame: &mut Frame) {
    let area = frame.area();
    render_area(state, elapsed, color, area, frame.buffer_mut());
}

fn render_area(
    state: &DashState,
    elapsed: Duration,
    color: bool,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    if area.height == 0 {
        return;
    }
    let st = |k| style(color, k);
    let mut lines: Vec<Line> = vec![header(state, elapsed, color)];

    // The change running now (or just applied), wrapped at word boundaries: a long apt-get
    // command line takes two rows rather than losing its end.
    let current: Vec<Line> = match (&state.running, &state.current) {
        (Some(r), _) => {
            let text = format!("→ [{}] {}  ({}/{})", r.step, r.summary, r.index, r.of);
            wrap_current(&text, area.width)
        }
        (None, Some(c)) => wrap_current(&format!("→ {c}"), area.width),
        (None, None) => vec![Line::raw("")],
    };
    // Header, the current change, the hint: the rest is for steps and the command's output.
    let avail = (area.height as usize).saturating_sub(2 + current.len());
    // What runs now, under the steps; never at the cost of every step row.
    let mut detail = state.detail(color);
    // Every step row first, when they fit; the bar and the newest output line in any case.
    let room = avail
        .saturating_sub(state.steps.len())
        .max(2)
        .min(avail.saturating_sub(1));
    if detail.len() > room {
        // Keep the bar and the newest lines.
        let cut = detail.len() - room;
        let keep_bar = state.progress.is_some() && room > 0;
        let skip_from = usize::from(keep_bar);
        detail.drain(skip_from..skip_from + cut);
    }
    // Rows for steps; when they do not all fit, a window that keeps the running step in view.
    let list_h = avail.saturating_sub(detail.len());
    let start = first_shown(state, list_h);
    let width = state.steps.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for row in state.steps.iter().skip(start).take(list_h) {
        lines.push(step_row(state, row, width, color));
    }
    // No padding: rows kept for a running command stay blank at the bottom until it runs.
    lines.extend(current);
    lines.extend(detail);
    lines.push(if state.interrupting {
        Line::styled(
            "  stopping at the next safe point; the current step will be rolled back…",
            st(Kind::Warn),
        )
    } else {
        Line::styled(
            "  Ctrl-C stops safely: the current step is rolled back",
            st(Kind::Quiet),
        )
    });
    let width = usize::from(area.width);
    let lines: Vec<Line> = lines.into_iter().map(|l| fit(l, width)).collect();
    Paragraph::new(lines).render(area, buf);
    if state.ascii {
        asciify(area, buf);
    }
}

/// The first row: the name, the run, the clock and how many steps are done.
fn header(state: &DashState, elapsed: Duration, color: bool) -> Line<'static> {
    let done = state
        .steps
        .iter()
        .filter(|r| !matches!(r.status, Status::Pending | Status::Running))
        .count();
    let mut header = vec![Span::styled(
        "mailstead",
        if color {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        },
    )];
    if let Some(run) = &state.run {
        header.push(Span::raw(format!("  run {run}")));
    }
    header.push(Span::raw(format!(
        "  {}  {done}/{} steps",
        clock(elapsed),
        state.steps.len()
    )));
    Line::from(header)
}

/// The first step shown in `rows` rows: 0 when all fit, else a window that keeps the running
/// step (or the next pending one) in view.
fn first_shown(state: &DashState, rows: usize) -> usize {
    let focus = state
        .steps
        .iter()
        .position(|r| r.status == Status::Running)
        .or_else(|| state.steps.iter().position(|r| r.status == Status::Pending))
        .unwrap_or(state.steps.len().saturating_sub(1));
    if state.steps.len() <= rows {
        0
    } else {
        focus.saturating_sub(rows / 2).min(state.steps.len() - rows)
    }
}

/// One step's row: its glyph, its name padded to `width`, what it did (or does now).
fn step_row(state: &DashState, row: &Row, width: usize, color: bool) -> Line<'static> {
    let st = |k| style(color, k);
    let (glyph, text, kind) = match &row.status {
        Status::Pending => ("○".to_string(), String::new(), Kind::Quiet),
        Status::Running => (
            SPINNER[state.tick % SPINNER.len()].to_string(),
            row.about.clone(),
            Kind::Warn,
        ),
        Status::Changed(n) => ("✓".into(), crate::ui::count(*n, "change"), Kind::Good),
        Status::Unchanged => ("·".into(), "unchanged".into(), Kind::Quiet),
        Status::Failed => ("✗".into(), "failed".into(), Kind::Bad),
        Status::RolledBack { ok: true } => ("↺".into(), "rolled back".into(), Kind::Undo),
        Status::RolledBack { ok: false } => {
            ("↺".into(), "rolled back, with problems".into(), Kind::Bad)
        }
    };
    Line::from(vec![
        Span::raw("  "),
        Span::styled(glyph, st(kind)),
        Span::raw(format!(" {:width$}  ", row.name)),
        Span::styled(
            text,
            if kind == Kind::Warn {
                Style::default()
            } else {
                st(kind)
            },
        ),
    ])
}

/// `text` indented by two, wrapped at `width` at spaces (continuations indented by four), at
/// most two rows (the second ends in `…` when even that is too little).
fn wrap_current(text: &str, width: u16) -> Vec<Line<'static>> {
    let opts = textwrap::Options::new(usize::from(width).max(10))
        .initial_indent("  ")
        .subsequent_indent("    ")
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let rows: Vec<String> = textwrap::wrap(text, &opts)
        .into_iter()
        .map(|l| l.into_owned())
        .collect();
    let mut out: Vec<Line<'static>> = rows.iter().take(2).map(|r| Line::raw(r.clone())).collect();
    if rows.len() > 2 {
        let last = out.pop().expect("two rows");
        let more: String = last
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect::<String>()
            + " …";
        out.push(fit(Line::raw(more), usize::from(width)));
    }
    out
}

/// A line wider than `width` columns ends in `…` at the last column instead of being cut
/// silently (the live view has one row per line; the scrollback wraps instead).
fn fit(line: Line<'_>, width: usize) -> Line<'_> {
    if line.width() <= width || width < 2 {
        return line;
    }
    let mut left = width - 1;
    let mut spans: Vec<Span> = Vec::new();
    for sp in line.spans.iter() {
        let mut text = String::new();
        let mut whole = true;
        for c in sp.content.chars() {
            let w = textwrap::core::display_width(c.encode_utf8(&mut [0; 4]));
            if w > left {
                whole = false;
                break;
            }
            left -= w;
            text.push(c);
        }
        spans.push(Span::styled(text, sp.style));
        if !whole {
            break;
        }
    }
    spans.push(Span::raw("…"));
    Line {
        spans,
        style: line.style,
        alignment: line.alignment,
    }
}

/// Replaces every symbol in `area` by its ASCII stand-in (`ui::ascii_symbol`), after drawing:
/// one place for every symbol any line draws.
pub fn asciify(area: Rect, buf: &mut ratatui::buffer::Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            let mut chars = cell.symbol().chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                if let Some(a) = crate::ui::ascii_symbol(c) {
                    cell.set_char(a);
                }
            }
        }
    }
}

/// The end block's lines ([`end::lines`]) wrapped at `width` at word boundaries.
pub fn end_rows(end: &End, width: u16) -> Vec<(String, Kind)> {
    end::lines(end)
        .into_iter()
        .flat_map(|(line, kind)| {
            end::wrap(&line, width as usize)
                .into_iter()
                .map(move |w| (w, kind))
        })
        .collect()
}

/// The end of a run as the dashboard draws it under the run's scrollback: outcome, what was
/// rolled back and what stays, the next command or the "what next" block, the log.
pub fn render_end(
    end: &End,
    color: bool,
    ascii: bool,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let lines: Vec<Line> = end_rows(end, area.width)
        .into_iter()
        .map(|(text, kind)| {
            let mut st = style(color, kind);
            if color && text.starts_with("What next") {
                st = st.add_modifier(Modifier::BOLD);
            }
            Line::styled(text, st)
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
    if ascii {
        asciify(area, buf);
    }
}
