//! `--report FILE.html`: one self-contained page (inline SVG and CSS, no
//! script, nothing fetched) with the run's timeline, one node's phi over time
//! against the threshold, and the final mesh.
//!
//! The page is XHTML-compatible markup (every element closed, attributes
//! quoted, text escaped) so an XML well-formedness check can read it.

use crate::cluster::Summary;
use pouw_netops::coordinator::OpsConfig;
use pouw_netops::mesh::TunnelState;
use pouw_netops::{Duration, Instant};
use pouw_netops_harness::{Cluster, OpsNode};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// At most this many phi samples per run (the interval grows with the duration).
pub const MAX_SAMPLES: u64 = 1200;
/// The shortest interval between phi samples.
pub const MIN_SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// After the focus node's first crash, its phi is also sampled this often...
pub const CLOSE_INTERVAL: Duration = Duration::from_millis(20);
/// ...for this long (at most 600 more samples).
pub const CLOSE_WINDOW: Duration = Duration::from_secs(12);

/// What happened, for the timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum MarkKind {
    /// The node became leader of `term`.
    Elected {
        /// The term.
        term: u64,
    },
    /// The node stepped down from `term`.
    SteppedDown {
        /// The term.
        term: u64,
    },
    /// The node crashed.
    Crash,
    /// The node restarted.
    Restart,
    /// The node's crash was first detected, by `by`.
    Detected {
        /// The detecting node.
        by: usize,
    },
    /// One of the crashed node's roles moved.
    Failover {
        /// The leader that moved it.
        by: usize,
        /// The task.
        task: String,
        /// The new worker.
        to: Option<usize>,
    },
    /// The node was suspected while up and reachable.
    FalseSuspicion {
        /// The suspecting node.
        by: usize,
    },
    /// A partition began.
    Partition {
        /// What it cut.
        what: String,
    },
    /// Every partition healed.
    Heal,
}

/// One timeline mark.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// Seconds since the start.
    pub t: f64,
    /// The node it is about.
    pub node: Option<usize>,
    /// What happened.
    pub kind: MarkKind,
}

/// Phi of every node as the leader of the moment saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct PhiSample {
    /// Seconds since the start.
    pub t: f64,
    /// The leader whose failure detector was read (`None`: no leader).
    pub observer: Option<usize>,
    /// Phi by node index (`NaN`: not tracked).
    pub phi: Vec<f32>,
}

/// Everything a report draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    /// Node names by index.
    pub nodes: Vec<String>,
    /// Nodes `0..supervisors` are supervisors.
    pub supervisors: usize,
    /// Virtual seconds run.
    pub duration_secs: f64,
    /// The failure detector's threshold.
    pub threshold: f64,
    /// The timeline.
    pub marks: Vec<Mark>,
    /// Phi samples, in time order.
    pub samples: Vec<PhiSample>,
    /// The node followed closely after its first crash (see [`SimConfig::report_node`](crate::cluster::SimConfig::report_node)).
    pub focus: Option<usize>,
    /// Its phi at the leader of the moment every [`CLOSE_INTERVAL`] for
    /// [`CLOSE_WINDOW`] from that crash: `(seconds, phi)`, `NaN` when untracked.
    pub close: Vec<(f64, f32)>,
    /// Which nodes are up at the end.
    pub final_up: Vec<bool>,
    /// The leader at the end.
    pub final_leader: Option<usize>,
    /// Every tunnel a live node knows at the end, `(a, b, state)` with `a < b`
    /// (the leader's view first, then the lowest index's).
    pub tunnels: Vec<(usize, usize, TunnelState)>,
}

/// Records during a run (see [`crate::cluster::SimConfig::record`]).
pub(crate) struct Recorder {
    pub(crate) rec: Recording,
    interval: Duration,
    next: Instant,
    end: Instant,
    /// The close window: next sample and its end.
    close: Option<(Instant, Instant)>,
}

/// Phi of `node` at the current leader at global time `at` (`NaN`: no reading).
fn leader_phi(c: &Cluster<dyn OpsNode>, observer: Option<usize>, node: usize, at: Instant) -> f32 {
    let (Some(o), Some(id)) = (observer, c.ids().get(node)) else { return f32::NAN };
    if o == node {
        return f32::NAN;
    }
    c.node(o).and_then(|n| n.phi(at + c.offset(o), id)).map_or(f32::NAN, |p| p as f32)
}

impl Recorder {
    pub(crate) fn new(c: &Cluster<dyn OpsNode>, duration: Duration, focus: Option<usize>) -> Self {
        let interval = Duration::from_micros(duration.total_micros() / MAX_SAMPLES).max(MIN_SAMPLE_INTERVAL);
        Recorder {
            rec: Recording {
                nodes: c.ids().iter().map(|id| id.to_string()).collect(),
                supervisors: c.supervisors(),
                duration_secs: duration.as_secs_f64(),
                threshold: OpsConfig::default().crash.phi.threshold,
                focus,
                ..Recording::default()
            },
            interval,
            next: c.start_time(),
            end: c.start_time() + duration,
            close: None,
        }
    }

    /// Records a mark; the focus node's first crash (or, without a focus, the
    /// first worker's) opens the close window.
    pub(crate) fn mark(&mut self, c: &Cluster<dyn OpsNode>, m: Mark) {
        if m.kind == MarkKind::Crash
            && self.rec.close.is_empty()
            && self.close.is_none()
            && let Some(n) = m.node
            && (self.rec.focus == Some(n) || (self.rec.focus.is_none() && n >= self.rec.supervisors))
        {
            self.rec.focus = Some(n);
            self.close = Some((c.now(), c.now() + CLOSE_WINDOW));
        }
        self.rec.marks.push(m);
    }

    /// Samples every sample instant before `t` (and not past the end) from the
    /// cluster's current state, which holds until `t`: reading phi is a pure
    /// query, so this does not change the run.
    pub(crate) fn sample_before(&mut self, c: &Cluster<dyn OpsNode>, t: Instant) {
        let observer = c.leader();
        while self.next < t && self.next <= self.end {
            let at = self.next;
            let phi = (0..c.len()).map(|j| leader_phi(c, observer, j, at)).collect();
            self.rec.samples.push(PhiSample { t: c.secs(at), observer, phi });
            self.next += self.interval;
        }
        if let (Some((mut next, until)), Some(focus)) = (self.close, self.rec.focus) {
            while next < t && next <= until.min(self.end) {
                self.rec.close.push((c.secs(next), leader_phi(c, observer, focus, next)));
                next += CLOSE_INTERVAL;
            }
            self.close = (next <= until.min(self.end)).then_some((next, until));
        }
    }

    /// Takes the final mesh.
    pub(crate) fn finish(&mut self, c: &Cluster<dyn OpsNode>) {
        self.rec.final_up = (0..c.len()).map(|i| c.is_up(i)).collect();
        self.rec.final_leader = c.leader();
        let mut tunnels: BTreeMap<(usize, usize), TunnelState> = BTreeMap::new();
        let order = self.rec.final_leader.into_iter().chain(0..c.len());
        for i in order {
            let Some(n) = c.node(i) else { continue };
            for (a, b, state) in n.tunnels() {
                let (Some(a), Some(b)) = (c.index_of(&a), c.index_of(&b)) else { continue };
                tunnels.entry((a.min(b), a.max(b))).or_insert(state);
            }
        }
        self.rec.tunnels = tunnels.into_iter().map(|((a, b), s)| (a, b, s)).collect();
    }
}

impl Recording {
    /// The node the phi chart shows by default: the focus node, else the
    /// first worker that crashed, else the first worker, else the last node.
    pub fn default_node(&self) -> Option<usize> {
        let first_crash =
            self.marks.iter().find(|m| m.kind == MarkKind::Crash && m.node.is_some_and(|n| n >= self.supervisors));
        self.focus
            .or_else(|| first_crash.and_then(|m| m.node))
            .or_else(|| (self.supervisors < self.nodes.len()).then_some(self.supervisors))
            .or_else(|| self.nodes.len().checked_sub(1))
    }

    fn name(&self, i: usize) -> &str {
        self.nodes.get(i).map_or("?", String::as_str)
    }
}

/// Escapes text and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px 32px; color: #1f2933; background: #fbfbfa; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; margin: 28px 0 6px 0; }
p.note { margin: 2px 0 8px 0; color: #52606d; font-size: 13px; }
pre.summary { font-size: 12px; background: #f0f0ec; padding: 10px 14px; border-radius: 4px; overflow-x: auto; }
svg { background: #ffffff; border: 1px solid #d9dde1; display: block; }
svg text { font-size: 11px; fill: #323f4b; }
svg .axis { stroke: #7b8794; stroke-width: 1; }
svg .grid { stroke: #e4e7eb; stroke-width: 1; }
svg .lane { font-weight: bold; }
svg .down { fill: #f8c9c9; }
svg .partition { fill: #d9d2f3; }
svg .crash { stroke: #c0392b; stroke-width: 2.5; }
svg .detect { fill: #e67e22; }
svg .failover { fill: #27ae60; }
svg .restart { fill: #2d6cdf; }
svg .suspicion { fill: #8e44ad; }
svg .phi { fill: none; stroke: #2d6cdf; stroke-width: 1.6; }
svg .threshold { stroke: #c0392b; stroke-width: 1.2; stroke-dasharray: 6 4; }
svg .event { stroke-width: 1; stroke-dasharray: 3 3; }
svg .tunnel-up { stroke: #7fb77e; stroke-width: 0.8; stroke-opacity: 0.55; }
svg .tunnel-stale { stroke: #e6a23c; stroke-width: 1; }
svg .tunnel-down { stroke: #c0392b; stroke-width: 1.2; stroke-dasharray: 4 3; }
svg .tunnel-connecting { stroke: #9aa5b1; stroke-width: 1; stroke-dasharray: 2 3; }
svg .supervisor { fill: #2d6cdf; stroke: #1a3f87; }
svg .worker { fill: #9fd3a0; stroke: #3e7d3f; }
svg .leader { fill: #f5b700; stroke: #8a6700; stroke-width: 2.5; }
svg .dead { fill: #ffffff; stroke: #c0392b; stroke-width: 2; }
svg .legend text { font-size: 11px; }
svg text.label { font-size: 10px; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }
";

const TERM_COLOURS: [&str; 8] =
    ["#2d6cdf", "#e67e22", "#27ae60", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d", "#d35400"];

/// A horizontal time scale from `x0` to `x1` pixels over `0..duration` seconds.
#[derive(Clone, Copy)]
struct TimeAxis {
    x0: f64,
    x1: f64,
    /// Seconds at `x0`.
    t0: f64,
    /// Seconds at `x1`.
    t1: f64,
}

impl TimeAxis {
    fn new(x0: f64, x1: f64, t0: f64, t1: f64) -> Self {
        TimeAxis { x0, x1, t0, t1: if t1 > t0 { t1 } else { t0 + 1.0 } }
    }

    fn x(&self, t: f64) -> f64 {
        self.x0 + (self.x1 - self.x0) * ((t - self.t0) / (self.t1 - self.t0)).clamp(0.0, 1.0)
    }

    fn step(&self) -> f64 {
        let raw = (self.t1 - self.t0) / 12.0;
        [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0]
            .into_iter()
            .find(|s| *s >= raw)
            .unwrap_or(3600.0)
    }

    /// Grid lines from `y0` to `y1` and labels below `y1`.
    fn draw(&self, out: &mut String, y0: f64, y1: f64) {
        let step = self.step();
        let digits = if step < 1.0 { 1 } else { 0 };
        let mut k = (self.t0 / step).ceil();
        while k * step <= self.t1 + 1e-9 {
            let t = k * step;
            let x = self.x(t);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}" /><text x="{x:.1}" y="{:.1}" text-anchor="middle">{t:.digits$} s</text>"#,
                y1 + 14.0
            );
            k += 1.0;
        }
        let _ =
            write!(out, r#"<line class="axis" x1="{:.1}" y1="{y1:.1}" x2="{:.1}" y2="{y1:.1}" />"#, self.x0, self.x1);
    }
}

/// Leader intervals `(from, to, node, term)`: from an election to the next
/// election, the leader's step-down or crash, or the end.
fn leader_spans(rec: &Recording) -> Vec<(f64, f64, usize, u64)> {
    let mut spans: Vec<(f64, f64, usize, u64)> = Vec::new();
    let mut open: Option<(f64, usize, u64)> = None;
    for m in &rec.marks {
        let close = match (&m.kind, open) {
            (MarkKind::Elected { .. }, Some(_)) => true,
            (MarkKind::SteppedDown { .. } | MarkKind::Crash, Some((_, l, _))) => m.node == Some(l),
            _ => false,
        };
        if close && let Some((from, l, term)) = open.take() {
            spans.push((from, m.t, l, term));
        }
        if let (MarkKind::Elected { term }, Some(n)) = (&m.kind, m.node) {
            open = Some((m.t, n, *term));
        }
    }
    if let Some((from, l, term)) = open {
        spans.push((from, rec.duration_secs, l, term));
    }
    spans
}

/// Partition intervals `(from, to, what)`.
fn partition_spans(rec: &Recording) -> Vec<(f64, f64, String)> {
    let mut spans = Vec::new();
    let mut open: Vec<(f64, String)> = Vec::new();
    for m in &rec.marks {
        match &m.kind {
            MarkKind::Partition { what } => open.push((m.t, what.clone())),
            MarkKind::Heal => spans.extend(open.drain(..).map(|(from, w)| (from, m.t, w))),
            _ => {}
        }
    }
    spans.extend(open.into_iter().map(|(from, w)| (from, rec.duration_secs, w)));
    spans
}

fn timeline_svg(rec: &Recording) -> String {
    let mut crashed: Vec<usize> = Vec::new();
    for m in &rec.marks {
        if m.kind == MarkKind::Crash
            && let Some(n) = m.node
            && !crashed.contains(&n)
        {
            crashed.push(n);
        }
    }
    let (width, lane_h, top) = (1280.0, 26.0, 34.0);
    // The partition lane (1) is taller: overlapping partitions take two rows.
    let part_h = 34.0;
    let lane_y = |k: usize| top + lane_h * k as f64 + if k > 1 { part_h - lane_h } else { 0.0 };
    let axis_y = lane_y(2 + crashed.len()) + 8.0;
    let height = axis_y + 58.0;
    let ax = TimeAxis::new(150.0, width - 20.0, 0.0, rec.duration_secs);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="timeline" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img">"#
    );
    ax.draw(&mut out, top - 6.0, axis_y);
    // Lane 0: the leader of each term.
    let _ = write!(out, r#"<text class="lane" x="10" y="{:.1}">leader (term)</text>"#, lane_y(0) + 16.0);
    for (from, to, l, term) in leader_spans(rec) {
        let (x0, x1) = (ax.x(from), ax.x(to));
        let colour = TERM_COLOURS.get(l % TERM_COLOURS.len()).copied().unwrap_or("#2d6cdf");
        let name = esc(rec.name(l));
        let _ = write!(
            out,
            r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}" fill-opacity="0.8"><title>{name} leads term {term} from {from:.3} s to {to:.3} s</title></rect>"#,
            lane_y(0) + 3.0,
            (x1 - x0).max(1.0),
            lane_h - 6.0
        );
        if x1 - x0 > 70.0 {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" style="fill:#ffffff;font-weight:bold">{name} (term {term})</text>"#,
                x0 + 5.0,
                lane_y(0) + 17.0
            );
        }
    }
    // Lane 1: partitions.
    let _ = write!(out, r#"<text class="lane" x="10" y="{:.1}">partitions</text>"#, lane_y(1) + 20.0);
    for (k, (from, to, what)) in partition_spans(rec).iter().enumerate() {
        let (x0, x1) = (ax.x(*from), ax.x(*to));
        let h = (part_h - 6.0) / 2.0;
        let y = lane_y(1) + 3.0 + (h + 1.0) * (k % 2) as f64;
        let what = esc(what);
        let _ = write!(
            out,
            r#"<rect class="partition" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}"><title>{what}: {from:.3} s to {to:.3} s</title></rect><text x="{:.1}" y="{:.1}" style="font-size:10px">{what}</text>"#,
            (x1 - x0).max(1.0),
            x0 + 3.0,
            y + h - 2.0
        );
    }
    // One lane per crashed node: down time, detection, failovers, restart.
    for (k, &n) in crashed.iter().enumerate() {
        let y = lane_y(2 + k);
        let name = esc(rec.name(n));
        let _ = write!(out, r#"<text class="lane" x="10" y="{:.1}">{name}</text>"#, y + 16.0);
        let mut down_from: Option<f64> = None;
        let mut shapes = String::new();
        for m in rec.marks.iter().filter(|m| m.node == Some(n)) {
            let x = ax.x(m.t);
            let cy = y + lane_h / 2.0;
            match &m.kind {
                MarkKind::Crash => {
                    down_from = Some(m.t);
                    let _ = write!(
                        shapes,
                        r#"<g><title>{name} crashes at {:.3} s</title><line class="crash" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" /><line class="crash" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" /></g>"#,
                        m.t,
                        x - 5.0,
                        cy - 5.0,
                        x + 5.0,
                        cy + 5.0,
                        x - 5.0,
                        cy + 5.0,
                        x + 5.0,
                        cy - 5.0
                    );
                }
                MarkKind::Restart => {
                    if let Some(from) = down_from.take() {
                        down_bar(&mut out, &ax, from, m.t, y, lane_h);
                    }
                    let _ = write!(
                        shapes,
                        r#"<circle class="restart" cx="{x:.1}" cy="{cy:.1}" r="5"><title>{name} restarts at {:.3} s</title></circle>"#,
                        m.t
                    );
                }
                MarkKind::Detected { by } => {
                    let _ = write!(
                        shapes,
                        r#"<polygon class="detect" points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}"><title>{} detects the crash at {:.3} s</title></polygon>"#,
                        x,
                        cy - 7.0,
                        x - 6.0,
                        cy + 5.0,
                        x + 6.0,
                        cy + 5.0,
                        esc(rec.name(*by)),
                        m.t
                    );
                }
                MarkKind::Failover { by, task, to } => {
                    let to = to.map_or("?".to_string(), |t| rec.name(t).to_string());
                    let _ = write!(
                        shapes,
                        r#"<rect class="failover" x="{:.1}" y="{:.1}" width="8" height="8" transform="rotate(45 {x:.1} {:.1})"><title>{} moves {} to {} at {:.3} s</title></rect>"#,
                        x - 4.0,
                        cy + 2.0,
                        cy + 6.0,
                        esc(rec.name(*by)),
                        esc(task),
                        esc(&to),
                        m.t
                    );
                }
                MarkKind::FalseSuspicion { by } => {
                    let _ = write!(
                        shapes,
                        r#"<circle class="suspicion" cx="{x:.1}" cy="{cy:.1}" r="4"><title>{} suspects it while up at {:.3} s</title></circle>"#,
                        esc(rec.name(*by)),
                        m.t
                    );
                }
                _ => {}
            }
        }
        if let Some(from) = down_from {
            down_bar(&mut out, &ax, from, rec.duration_secs, y, lane_h);
        }
        out.push_str(&shapes);
    }
    // Legend.
    let ly = axis_y + 36.0;
    let _ = write!(
        out,
        r#"<g class="legend"><rect class="down" x="150" y="{:.1}" width="18" height="10" /><text x="174" y="{ly:.1}">down</text><line class="crash" x1="230" y1="{:.1}" x2="240" y2="{:.1}" /><text x="246" y="{ly:.1}">crash</text><polygon class="detect" points="310,{:.1} 304,{:.1} 316,{:.1}" /><text x="322" y="{ly:.1}">first detection</text><rect class="failover" x="426" y="{:.1}" width="8" height="8" transform="rotate(45 430 {:.1})" /><text x="442" y="{ly:.1}">failover of a role</text><circle class="restart" cx="565" cy="{:.1}" r="5" /><text x="575" y="{ly:.1}">restart</text><rect class="partition" x="640" y="{:.1}" width="18" height="10" /><text x="664" y="{ly:.1}">partition</text></g>"#,
        ly - 9.0,
        ly - 9.0,
        ly + 1.0,
        ly - 10.0,
        ly + 1.0,
        ly + 1.0,
        ly - 9.0,
        ly - 5.0,
        ly - 4.0,
        ly - 9.0
    );
    out.push_str("</svg>");
    out
}

fn down_bar(out: &mut String, ax: &TimeAxis, from: f64, to: f64, y: f64, lane_h: f64) {
    let (x0, x1) = (ax.x(from), ax.x(to));
    let _ = write!(
        out,
        r#"<rect class="down" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" />"#,
        y + 4.0,
        (x1 - x0).max(1.0),
        lane_h - 8.0
    );
}

/// A phi chart of `series` (`(seconds, phi)`, `NaN`: no reading) from `t0` to `t1` seconds.
fn phi_svg(rec: &Recording, node: usize, t0: f64, t1: f64, series: &[(f64, f32)], height: f64, class: &str) -> String {
    let width = 1280.0;
    let (top, bottom) = (20.0, height - 50.0);
    let ax = TimeAxis::new(60.0, width - 20.0, t0, t1);
    let threshold = if rec.threshold > 0.0 { rec.threshold } else { 8.0 };
    let ymax = threshold * 2.0;
    let y = |phi: f64| bottom - (bottom - top) * (phi / ymax).clamp(0.0, 1.0);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="{class}" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img">"#
    );
    ax.draw(&mut out, top, bottom);
    let ystep = if ymax > 20.0 { 5.0 } else { 2.0 };
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let yy = y(v);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" /><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"#,
            ax.x0,
            ax.x1,
            ax.x0 - 6.0,
            yy + 4.0
        );
        v += ystep;
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{:.1}" y1="{top:.1}" x2="{:.1}" y2="{bottom:.1}" /><text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">phi</text>"#,
        ax.x0,
        ax.x0,
        (top + bottom) / 2.0,
        (top + bottom) / 2.0
    );
    // The node's own events in the span as vertical markers, labels stacked.
    let mut k = 0.0;
    for m in rec.marks.iter().filter(|m| m.node == Some(node) && m.t >= t0 && m.t <= t1) {
        let (kind, colour, label) = match m.kind {
            MarkKind::Crash => ("crash-at", "#c0392b", "crash"),
            MarkKind::Detected { .. } => ("detected-at", "#e67e22", "detected"),
            MarkKind::Restart => ("restart-at", "#2d6cdf", "restart"),
            _ => continue,
        };
        let x = ax.x(m.t);
        let _ = write!(
            out,
            r#"<line class="event {kind}" x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" style="stroke:{colour}" /><text x="{:.1}" y="{:.1}" style="fill:{colour};font-weight:bold">{label} {:.2} s</text>"#,
            x + 4.0,
            top + 14.0 + 14.0 * k,
            m.t
        );
        k += 1.0;
    }
    // The series, one polyline per stretch with a reading (no leader, or a
    // leader not tracking the node, breaks it); values above the chart are
    // drawn at its top.
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for &(t, p) in series.iter().filter(|(t, _)| *t >= t0 && *t <= t1) {
        if p.is_nan() {
            if !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
        } else {
            current.push((ax.x(t), y(f64::from(p))));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    for run in &runs {
        let points: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(out, r#"<polyline class="phi" points="{}" />"#, points.join(" "));
    }
    let ty = y(threshold);
    let _ = write!(
        out,
        r#"<line class="threshold" x1="{:.1}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" /><text x="{:.1}" y="{:.1}" text-anchor="end" style="fill:#c0392b">threshold {threshold}</text>"#,
        ax.x0,
        ax.x1,
        ax.x1 - 4.0,
        ty - 5.0
    );
    if runs.is_empty() {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">no leader tracked {} here</text>"#,
            (ax.x0 + ax.x1) / 2.0,
            (top + bottom) / 2.0,
            esc(rec.name(node))
        );
    }
    let _ = write!(
        out,
        r#"<g class="legend"><line class="phi" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" /><text x="{:.1}" y="{:.1}">phi of {} at the leader of the moment (above {ymax:.0}: drawn at the top)</text></g>"#,
        ax.x0,
        height - 12.0,
        ax.x0 + 24.0,
        height - 12.0,
        ax.x0 + 30.0,
        height - 8.0,
        esc(rec.name(node))
    );
    out.push_str("</svg>");
    out
}

fn mesh_svg(rec: &Recording) -> String {
    // Supervisors on an inner circle, workers on the outer one (all on one
    // circle when there are only supervisors), each in index order from the top.
    let n = rec.nodes.len();
    let sups = rec.supervisors.min(n);
    let size = 780.0;
    let (cx, cy) = (size / 2.0, size / 2.0 - 10.0);
    let outer = size / 2.0 - 95.0;
    let pos = |i: usize| {
        let (k, count, r) = if sups == n {
            (i, n, outer)
        } else if i < sups {
            (i, sups, outer * 0.28)
        } else {
            (i - sups, n - sups, outer)
        };
        let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * k as f64 / count.max(1) as f64;
        (cx + r * a.cos(), cy + r * a.sin(), a)
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="mesh" width="{size:.0}" height="{size:.0}" viewBox="0 0 {size:.0} {size:.0}" role="img">"#
    );
    for &(a, b, state) in &rec.tunnels {
        let ((x1, y1, _), (x2, y2, _)) = (pos(a), pos(b));
        let class = match state {
            TunnelState::Up => "tunnel-up",
            TunnelState::Stale => "tunnel-stale",
            TunnelState::Down => "tunnel-down",
            TunnelState::Connecting => "tunnel-connecting",
        };
        let _ = write!(
            out,
            r#"<line class="{class}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"><title>{} - {}: {state:?}</title></line>"#,
            esc(rec.name(a)),
            esc(rec.name(b))
        );
    }
    for i in 0..n {
        let (x, y, a) = pos(i);
        let up = rec.final_up.get(i).copied().unwrap_or(false);
        let class = if !up {
            "dead"
        } else if Some(i) == rec.final_leader {
            "leader"
        } else if i < rec.supervisors {
            "supervisor"
        } else {
            "worker"
        };
        let radius = if i < rec.supervisors { 11.0 } else { 7.0 };
        let name = esc(rec.name(i));
        let (lx, ly) = (x + (radius + 6.0) * a.cos(), y + (radius + 6.0) * a.sin() + 4.0);
        let anchor = if a.cos() < -0.2 {
            "end"
        } else if a.cos() > 0.2 {
            "start"
        } else {
            "middle"
        };
        let _ = write!(
            out,
            r#"<circle class="node {class}" cx="{x:.1}" cy="{y:.1}" r="{radius:.0}"><title>{name} ({class})</title></circle><text class="label" x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}">{name}</text>"#
        );
    }
    let ly = size - 22.0;
    let _ = write!(
        out,
        r#"<g class="legend"><rect class="leader" x="20" y="{:.1}" width="12" height="12" /><text x="38" y="{ly:.1}">leader</text><rect class="supervisor" x="96" y="{:.1}" width="12" height="12" /><text x="114" y="{ly:.1}">supervisor</text><rect class="worker" x="196" y="{:.1}" width="12" height="12" /><text x="214" y="{ly:.1}">worker</text><rect class="dead" x="276" y="{:.1}" width="12" height="12" /><text x="294" y="{ly:.1}">down</text><line class="tunnel-up" x1="350" y1="{:.1}" x2="380" y2="{:.1}" style="stroke-width:2" /><text x="386" y="{ly:.1}">tunnel up</text><line class="tunnel-stale" x1="460" y1="{:.1}" x2="490" y2="{:.1}" /><text x="496" y="{ly:.1}">stale</text><line class="tunnel-down" x1="546" y1="{:.1}" x2="576" y2="{:.1}" /><text x="582" y="{ly:.1}">down</text><line class="tunnel-connecting" x1="630" y1="{:.1}" x2="660" y2="{:.1}" /><text x="666" y="{ly:.1}">connecting</text></g>"#,
        ly - 10.0,
        ly - 10.0,
        ly - 10.0,
        ly - 10.0,
        ly - 4.0,
        ly - 4.0,
        ly - 4.0,
        ly - 4.0,
        ly - 4.0,
        ly - 4.0,
        ly - 4.0,
        ly - 4.0
    );
    out.push_str("</svg>");
    out
}

/// The report page for a run: `summary` as text, and the phi chart of `node`
/// (default: [`Recording::default_node`]).
pub fn html(rec: &Recording, summary: &Summary, table: &str, node: Option<usize>) -> String {
    let node = node.or_else(|| rec.default_node()).unwrap_or(0);
    let up_tunnels = rec.tunnels.iter().filter(|t| t.2 == TunnelState::Up).count();
    let live = rec.final_up.iter().filter(|u| **u).count();
    let leader = rec.final_leader.map_or("none".to_string(), |l| rec.name(l).to_string());
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n");
    let _ = writeln!(out, "<title>pouw-netops-sim report, seed {}</title>", summary.seed);
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<h1>pouw-netops-sim, seed {}</h1>\n<p class=\"note\">{} nodes ({} supervisors), {:.0} s of virtual time, trace hash {:016x}</p>",
        summary.seed,
        rec.nodes.len(),
        rec.supervisors,
        rec.duration_secs,
        summary.trace_hash
    );
    let _ = writeln!(
        out,
        "<h2>Timeline</h2>\n<p class=\"note\">Who leads each term, when partitions are in force, and for every crashed node its down time, the first detection and the failover of its roles.</p>\n{}",
        timeline_svg(rec)
    );
    let observers: Vec<usize> = {
        let mut v: Vec<usize> = rec.samples.iter().filter_map(|s| s.observer).collect();
        v.dedup();
        v
    };
    let observed: Vec<String> = observers.iter().map(|&o| esc(rec.name(o))).collect();
    let name = esc(rec.name(node));
    let series: Vec<(f64, f32)> =
        rec.samples.iter().map(|s| (s.t, s.phi.get(node).copied().unwrap_or(f32::NAN))).collect();
    let _ = writeln!(
        out,
        "<h2>Phi of {name} over time</h2>\n<p class=\"note\">The failure detector's phi of {name} at the leader of the moment ({}), sampled every {:.2} s, against the crash threshold {}. Gaps: no leader, or the leader not tracking the node.</p>\n{}",
        if observed.is_empty() { "none".to_string() } else { observed.join(", then ") },
        sample_interval(rec),
        rec.threshold,
        phi_svg(rec, node, 0.0, rec.duration_secs, &series, 300.0, "phi-chart")
    );
    if rec.focus == Some(node)
        && let (Some(first), Some(last)) = (rec.close.first(), rec.close.last())
    {
        let (t0, t1) = (first.0 - 1.0, last.0);
        let mut close: Vec<(f64, f32)> = series.iter().copied().filter(|(t, _)| *t >= t0 && *t < first.0).collect();
        close.extend(rec.close.iter().copied());
        let _ = writeln!(
            out,
            "<p class=\"note\">Close up: from a second before {name}'s crash, every {:.0} ms for {:.0} s after it: phi stays low through the acceptable heartbeat pause, then climbs past the threshold, and the leader declares the crash.</p>\n{}",
            CLOSE_INTERVAL.as_secs_f64() * 1000.0,
            CLOSE_WINDOW.as_secs_f64(),
            phi_svg(rec, node, t0, t1, &close, 250.0, "phi-close")
        );
    }
    let _ = writeln!(
        out,
        "<h2>Final mesh</h2>\n<p class=\"note\">Supervisors on the inner circle, workers on the outer one, every tunnel a live node knows at the end: {} tunnels, {up_tunnels} up; {live} of {} nodes up; leader {}.</p>\n{}",
        rec.tunnels.len(),
        rec.nodes.len(),
        esc(&leader),
        mesh_svg(rec)
    );
    let _ = writeln!(out, "<h2>Summary</h2>\n<pre class=\"summary\">{}</pre>\n</body>\n</html>", esc(table));
    out
}

fn sample_interval(rec: &Recording) -> f64 {
    match rec.samples.get(..2) {
        Some([a, b]) => b.t - a.t,
        _ => 0.0,
    }
}
