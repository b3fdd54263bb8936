//! The topology as a Graphviz DOT graph, for operators: `dot -Tsvg`.
//!
//! Nodes in table-slot order, labelled with id and overlay address, the local
//! node bold. Each link record is one undirected edge, in record order,
//! labelled with the latency routing uses (`?` before any measurement); a
//! tunnel's style gives its state (up solid, connecting dashed grey, stale
//! orange, down dotted red), a link without a tunnel is dashed. Edges from the
//! local node to a next hop of its routes are blue and thick, labelled with
//! how many destinations go that way. Equal state gives byte-identical output.

use super::*;
use core::fmt::Write;

/// Writes `s` as a DOT double-quoted string.
fn quoted<W: Write>(w: &mut W, s: &str) -> fmt::Result {
    w.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                w.write_char('\\')?;
                w.write_char(c)?;
            }
            '\n' => w.write_str("\\n")?,
            c if c.is_control() => w.write_char(' ')?,
            c => w.write_char(c)?,
        }
    }
    w.write_char('"')
}

fn millis<W: Write>(w: &mut W, micros: u64) -> fmt::Result {
    write!(w, "{}.{:03} ms", micros / 1000, micros % 1000)
}

impl<const N: usize, const E: usize, const Q: usize> VPNMeshTopologyManager<N, E, Q> {
    /// Writes the topology as a DOT `graph`: nodes in table-slot order with
    /// id and overlay address (the local node bold), one undirected edge per
    /// link labelled with the latency routing uses and styled by tunnel state,
    /// and the local node's edges to its next hops blue and thick. Routes are
    /// those of the last recompute; equal state gives byte-identical output.
    pub fn write_dot<W: Write>(&self, w: &mut W) -> fmt::Result {
        let local = self.local_slot();
        w.write_str("graph mesh {\n  node [shape=box, fontname=monospace];\n  edge [fontname=monospace];\n")?;
        for (slot, r) in self.slots.iter().enumerate() {
            let Some(r) = r else { continue };
            w.write_str("  ")?;
            quoted(w, r.id.as_str())?;
            w.write_str(" [label=")?;
            let mut label: heapless::String<{ crate::id::MAX_ID_LEN + 48 }> = heapless::String::new();
            let _ = write!(label, "{}\n{}", r.id, r.address);
            quoted(w, &label)?;
            if Some(slot as u32) == local {
                w.write_str(", style=bold, penwidth=2")?;
            }
            w.write_str("];\n")?;
        }
        for (&(a, b), e) in self.edges.iter() {
            let (Some(x), Some(y)) = (self.id_of(a), self.id_of(b)) else { continue };
            let (x, y) = if x <= y { (x, y) } else { (y, x) };
            w.write_str("  ")?;
            quoted(w, x.as_str())?;
            w.write_str(" -- ")?;
            quoted(w, y.as_str())?;
            w.write_str(" [label=\"")?;
            let latency = match (&e.tunnel, &e.link) {
                (Some(t), l) => t.srtt().or(l.map(|l| l.latency)),
                (None, Some(l)) => Some(l.latency),
                (None, None) => None,
            };
            match latency {
                Some(d) => millis(w, d.total_micros())?,
                None => w.write_char('?')?,
            }
            let hop = match local {
                Some(l) if a == l => Some(b),
                Some(l) if b == l => Some(a),
                _ => None,
            };
            let carried = hop.map_or(0, |h| self.routes.iter().filter(|r| r.next_hop == h).count());
            if carried > 0 {
                write!(w, ", next hop for {carried}")?;
            }
            w.write_char('"')?;
            match &e.tunnel {
                Some(t) => {
                    write!(w, ", tooltip=\"tunnel {}\"", t.state)?;
                    w.write_str(match t.state {
                        TunnelState::Up => "",
                        TunnelState::Connecting => ", style=dashed, color=grey",
                        TunnelState::Stale => ", color=orange",
                        TunnelState::Down => ", style=dotted, color=red",
                    })?;
                }
                None => {
                    let up = e.link.is_some_and(|l| l.up);
                    w.write_str(if up { ", style=dashed" } else { ", style=dotted, color=red" })?;
                }
            }
            if carried > 0 {
                w.write_str(", color=blue, penwidth=3")?;
            }
            w.write_str("];\n")?;
        }
        w.write_str("}\n")
    }

    /// [`VPNMeshTopologyManager::write_dot`] into `buf`, returning the length;
    /// if `buf` is too small the error says how many bytes are needed.
    pub fn render_dot(&self, buf: &mut [u8]) -> Result<usize, RenderError> {
        let mut w = wireguard::SliceWriter { buf, len: 0 };
        self.write_dot(&mut w).map_err(|_| RenderError::Write)?;
        if w.len > w.buf.len() {
            return Err(RenderError::BufferTooSmall { needed: w.len });
        }
        Ok(w.len)
    }
}
