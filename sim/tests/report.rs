//! `--report FILE.html`: the page is produced, well-formed (checked as XML by
//! a small parser below), has its three drawings, references nothing outside
//! itself, and is the same bytes for the same seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::Duration;
use pouw_netops_sim::cluster::{self, SimConfig};
use std::path::PathBuf;
use std::process::Command;

/// One element of the parsed page.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    parent: Option<usize>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class").is_some_and(|c| c.split_whitespace().any(|x| x == class))
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

/// Character data must not hold `<`, and `&` only as one of the five XML
/// entities or a numeric reference.
fn check_text(text: &str) -> Result<(), String> {
    if text.contains('<') {
        return Err(format!("unescaped < in {text:?}"));
    }
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let tail = &rest[i + 1..];
        let end = tail.find(';').ok_or_else(|| format!("unterminated entity in {text:?}"))?;
        let entity = &tail[..end];
        let numeric = entity.strip_prefix('#').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if !(numeric || matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")) {
            return Err(format!("unknown entity &{entity}; in {text:?}"));
        }
        rest = &tail[end + 1..];
    }
    Ok(())
}

/// Parses XHTML-compatible markup after an optional `<!DOCTYPE ...>`: every
/// element closed (or self-closed) in order, attributes quoted and unique,
/// text escaped, one root element.
fn parse(doc: &str) -> Result<Vec<Element>, String> {
    let mut s = doc.trim_start();
    if let Some(rest) = s.strip_prefix("<!DOCTYPE") {
        let end = rest.find('>').ok_or("unterminated doctype")?;
        s = &rest[end + 1..];
    }
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut roots = 0;
    loop {
        let lt = s.find('<').unwrap_or(s.len());
        let text = &s[..lt];
        check_text(text)?;
        if open.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root: {text:?}"));
        }
        s = &s[lt..];
        if s.is_empty() {
            break;
        }
        if let Some(rest) = s.strip_prefix("</") {
            let end = rest.find('>').ok_or("unterminated end tag")?;
            let name = rest[..end].trim();
            let top = open.pop().ok_or_else(|| format!("</{name}> closes nothing"))?;
            if elements[top].name != name {
                return Err(format!("</{name}> closes <{}>", elements[top].name));
            }
            s = &rest[end + 1..];
            continue;
        }
        if s.starts_with("<!--") || s.starts_with("<?") || s.starts_with("<!") {
            return Err("comments, processing instructions and declarations are not expected".into());
        }
        // A start tag.
        let mut rest = &s[1..];
        let name_len = rest.find(|c: char| !is_name_char(c)).ok_or("unterminated tag")?;
        if name_len == 0 {
            return Err(format!("bad tag at {:?}", &s[..s.len().min(30)]));
        }
        let name = rest[..name_len].to_string();
        rest = &rest[name_len..];
        let mut attrs: Vec<(String, String)> = Vec::new();
        let self_closing;
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix("/>") {
                self_closing = true;
                rest = r;
                break;
            }
            if let Some(r) = rest.strip_prefix('>') {
                self_closing = false;
                rest = r;
                break;
            }
            let an = rest.find(|c: char| !is_name_char(c)).ok_or("unterminated attribute")?;
            if an == 0 {
                return Err(format!("bad attribute in <{name}> at {:?}", &rest[..rest.len().min(30)]));
            }
            let attr = rest[..an].to_string();
            rest = rest[an..].strip_prefix("=\"").ok_or_else(|| format!("attribute {attr} of <{name}> unquoted"))?;
            let end = rest.find('"').ok_or("unterminated attribute value")?;
            let value = &rest[..end];
            check_text(value)?;
            if attrs.iter().any(|(a, _)| *a == attr) {
                return Err(format!("attribute {attr} twice in <{name}>"));
            }
            attrs.push((attr, value.to_string()));
            rest = &rest[end + 1..];
        }
        if open.is_empty() {
            roots += 1;
        }
        elements.push(Element { name, attrs, parent: open.last().copied() });
        if !self_closing {
            open.push(elements.len() - 1);
        }
        s = rest;
    }
    if let Some(&top) = open.last() {
        return Err(format!("<{}> is never closed", elements[top].name));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(elements)
}

fn within(elements: &[Element], mut i: usize, ancestor: usize) -> bool {
    while let Some(p) = elements[i].parent {
        if p == ancestor {
            return true;
        }
        i = p;
    }
    false
}

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pouw-netops-sim")).args(args).output().expect("the simulator runs")
}

fn report_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pouw-netops-sim-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const SHORT: [&str; 8] = ["--seed", "3", "--supervisors", "3", "--workers", "8", "--duration", "60"];

#[test]
fn report_is_one_well_formed_self_contained_page() {
    let path = report_path("short.html");
    let file = path.to_str().unwrap();
    let out = sim(&[&SHORT[..], &["--quiet", "--report", file]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&path).expect("the report is written");
    assert!(page.starts_with("<!DOCTYPE html>"));
    let elements = parse(&page).unwrap_or_else(|e| panic!("not well-formed: {e}"));
    assert_eq!(elements[0].name, "html");

    // Nothing outside the page: no links, sources, scripts, imports or URLs.
    let lower = page.to_lowercase();
    for bad in ["http", "src=", "href=", "<script", "url(", "@import", "<link", "<img", "<iframe"] {
        assert!(!lower.contains(bad), "the page references something outside: {bad}");
    }

    let svg = |class: &str| {
        let found: Vec<usize> =
            (0..elements.len()).filter(|&i| elements[i].name == "svg" && elements[i].has_class(class)).collect();
        assert_eq!(found.len(), 1, "one <svg class=\"{class}\">");
        found[0]
    };
    let (timeline, phi, close, mesh) = (svg("timeline"), svg("phi-chart"), svg("phi-close"), svg("mesh"));
    let inside = |root: usize, name: &str, class: &str| {
        (0..elements.len())
            .filter(|&i| elements[i].name == name && elements[i].has_class(class) && within(&elements, i, root))
            .collect::<Vec<_>>()
    };

    // The phi chart: a series line with real points, and the threshold.
    let lines = inside(phi, "polyline", "phi");
    assert!(!lines.is_empty(), "a line for the phi series");
    let points: usize = lines.iter().map(|&l| elements[l].attr("points").unwrap().split_whitespace().count()).sum();
    assert!(points > 100, "60 s sampled every 0.25 s gives a long series: {points} points");
    assert_eq!(inside(phi, "line", "threshold").len(), 1);
    // The close-up of the first crashed worker shows phi crossing the threshold.
    assert!(!inside(close, "polyline", "phi").is_empty());
    assert_eq!(inside(close, "line", "crash-at").len(), 1);
    assert_eq!(inside(close, "line", "detected-at").len(), 1);

    // The mesh: one circle per node, tunnels between them.
    let nodes = inside(mesh, "circle", "node");
    assert_eq!(nodes.len(), 11, "3 supervisors and 8 workers");
    assert_eq!(inside(mesh, "circle", "leader").len(), 1, "one leader at the end");
    assert!(!inside(mesh, "line", "tunnel-up").is_empty());

    // The timeline: the leader's bar, the crashes of the story (the leader, then a worker).
    let bars = (0..elements.len()).filter(|&i| elements[i].name == "rect" && within(&elements, i, timeline)).count();
    assert!(bars >= 3, "leader terms and down times");
    assert!(inside(timeline, "line", "crash").len() >= 4, "two strokes per crash mark");
    assert!(page.contains("(term 1)"));

    // Same seed, same bytes.
    let again = report_path("again.html");
    let out = sim(&[&SHORT[..], &["--quiet", "--report", again.to_str().unwrap()]].concat());
    assert!(out.status.success());
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn report_node_chooses_the_phi_chart_and_unknown_nodes_are_refused() {
    let path = report_path("node.html");
    let file = path.to_str().unwrap();
    let out = sim(&[&SHORT[..], &["--quiet", "--report", file, "--report-node", "worker-007"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&path).unwrap();
    parse(&page).unwrap();
    assert!(page.contains("<h2>Phi of worker-007 over time</h2>"));
    let out = sim(&[&SHORT[..], &["--quiet", "--report", file, "--report-node", "worker-999"]].concat());
    assert_eq!(out.status.code(), Some(2));
    let out = sim(&["--seeds", "0..2", "--report", file]);
    assert_eq!(out.status.code(), Some(2), "a sweep draws no report");
}

#[test]
fn recording_does_not_change_the_run() {
    let cfg =
        SimConfig { seed: 5, supervisors: 3, workers: 8, duration: Duration::from_secs(60), ..SimConfig::default() };
    let (plain, _) = cluster::run(cfg.clone());
    let (recorded, _, rec) = cluster::run_recorded(SimConfig { record: true, ..cfg });
    assert_eq!(plain.unwrap(), recorded.unwrap());
    let rec = rec.expect("a recording");
    assert!(rec.samples.len() <= 1200 && rec.samples.len() >= 200, "{}", rec.samples.len());
    assert!(rec.close.len() <= 601 && !rec.close.is_empty());
    assert_eq!(rec.nodes.len(), 11);
}

#[test]
fn the_parser_rejects_what_is_not_well_formed() {
    assert!(parse("<a><b></a></b>").is_err());
    assert!(parse("<a x=1></a>").is_err());
    assert!(parse("<a>1 & 2</a>").is_err());
    assert!(parse("<a>").is_err());
    assert!(parse("<a></a><b></b>").is_err());
    assert!(parse("<a x=\"1\" x=\"2\"></a>").is_err());
    assert!(parse("<!DOCTYPE html>\n<a x=\"&lt;\"><b />1 &amp; 2</a>").is_ok());
}
