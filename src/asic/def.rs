//! What a routed DEF and the cell library's LEF say about a layout: the die,
//! the placed cells and the routed wires, read for the numbers of
//! `asic.json` and for the picture. Only the parts qrouter writes are read.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// A rectangle, here in micrometres (the same box the SVG drawings use).
pub use crate::svg::Rect;

/// A placed cell.
#[derive(Debug, Clone)]
pub struct Component {
    pub macro_name: String,
    pub rect: Rect,
}

/// One straight piece of routed wire on a metal layer (1 = metal1).
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub layer: u32,
    pub from: (f64, f64),
    pub to: (f64, f64),
}

impl Segment {
    pub fn length(&self) -> f64 {
        (self.to.0 - self.from.0).abs() + (self.to.1 - self.from.1).abs()
    }
}

/// A routed layout as DEF gives it.
#[derive(Debug, Clone)]
pub struct Layout {
    pub die: Rect,
    pub components: Vec<Component>,
    /// Wires of the signal nets (NETS).
    pub wires: Vec<Segment>,
    /// Short stubs qrouter writes as special nets (SPECIALNETS).
    pub stubs: Vec<Segment>,
    pub nets: usize,
    /// Via positions (x, y).
    pub vias: Vec<(f64, f64)>,
}

/// Cell sizes (width, height) in micrometres by macro name, from a LEF file.
pub fn macro_sizes(lef: &str) -> BTreeMap<String, (f64, f64)> {
    let mut sizes = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in lef.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            ["MACRO", name, ..] => current = Some(name.to_string()),
            ["SIZE", w, "BY", h, ..] => {
                if let (Some(m), Ok(w), Ok(h)) =
                    (&current, w.parse(), h.trim_end_matches(';').parse())
                {
                    sizes.insert(m.clone(), (w, h));
                }
            }
            ["END", name] if current.as_deref() == Some(*name) => current = None,
            _ => {}
        }
    }
    sizes
}

/// A DEF file one statement at a time: up to a `;`, or an `END SECTION`
/// line (which has none).
fn statements(text: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.first() == Some(&"END") && cur.is_empty() {
            out.push(t);
            continue;
        }
        for tok in t {
            if tok == ";" {
                out.push(std::mem::take(&mut cur));
            } else if let Some(body) = tok.strip_suffix(';') {
                cur.push(body);
                out.push(std::mem::take(&mut cur));
            } else {
                cur.push(tok);
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn layer_number(name: &str) -> u32 {
    name.trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(1)
}

/// Points of a routed path: `( x y )` with `*` for "as before"; a name
/// between points is a via at the last point.
fn path(
    tokens: &[&str],
    scale: f64,
    layer: u32,
    out: &mut Vec<Segment>,
    vias: &mut Vec<(f64, f64)>,
) {
    let mut last: Option<(f64, f64)> = None;
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == "(" && i + 3 < tokens.len() && tokens[i + 3] == ")" {
            let prev = last.unwrap_or((0.0, 0.0));
            let coord = |s: &str, p: f64| {
                if s == "*" {
                    p
                } else {
                    s.parse::<f64>().map(|v| v / scale).unwrap_or(p)
                }
            };
            let pt = (coord(tokens[i + 1], prev.0), coord(tokens[i + 2], prev.1));
            if let Some(p) = last {
                out.push(Segment {
                    layer,
                    from: p,
                    to: pt,
                });
            }
            last = Some(pt);
            i += 4;
        } else {
            if let Some(p) = last {
                vias.push(p);
            }
            i += 1;
        }
    }
}

/// The routed wires of one net statement (`+ ROUTED layer ... NEW layer ...`).
fn net_wires(
    st: &[&str],
    scale: f64,
    special: bool,
    out: &mut Vec<Segment>,
    vias: &mut Vec<(f64, f64)>,
) {
    let Some(start) = st
        .iter()
        .position(|t| *t == "ROUTED" || *t == "FIXED" || *t == "COVER")
    else {
        return;
    };
    let body = &st[start + 1..];
    let mut pieces: Vec<&[&str]> = Vec::new();
    let mut from = 0;
    for (i, t) in body.iter().enumerate() {
        if *t == "NEW" || *t == "+" {
            pieces.push(&body[from..i]);
            from = i + 1;
            if *t == "+" {
                break;
            }
        }
    }
    if from <= body.len() && !body[from..].contains(&"+") {
        pieces.push(&body[from..]);
    }
    for p in pieces.into_iter().filter(|p| !p.is_empty()) {
        let layer = layer_number(p[0]);
        // Special nets give a width after the layer.
        let rest = if special && p.len() > 1 && p[1] != "(" {
            &p[2..]
        } else {
            &p[1..]
        };
        path(rest, scale, layer, out, vias);
    }
}

/// Read a routed DEF; `sizes` from [`macro_sizes`].
pub fn parse(text: &str, sizes: &BTreeMap<String, (f64, f64)>) -> Result<Layout> {
    let mut scale = 0.0;
    let mut die = None;
    let mut components = Vec::new();
    let mut wires = Vec::new();
    let mut stubs = Vec::new();
    let mut vias = Vec::new();
    let mut nets = 0;
    let mut section = "";
    for st in statements(text) {
        let Some(&first) = st.first() else { continue };
        match (section, first) {
            (_, "UNITS") => scale = st.last().and_then(|v| v.parse().ok()).unwrap_or(0.0),
            (_, "DIEAREA") => {
                let n: Vec<f64> = st.iter().filter_map(|t| t.parse().ok()).collect();
                if n.len() == 4 && scale > 0.0 {
                    die = Some(Rect {
                        x0: n[0] / scale,
                        y0: n[1] / scale,
                        x1: n[2] / scale,
                        y1: n[3] / scale,
                    });
                }
            }
            (_, "COMPONENTS") => section = "COMPONENTS",
            (_, "NETS") => section = "NETS",
            (_, "SPECIALNETS") => section = "SPECIALNETS",
            (_, "PINS") | (_, "VIAS") => section = "OTHER",
            (_, "END") => section = "",
            ("COMPONENTS", "-") if st.len() >= 3 => {
                let m = st[2];
                let at = st.iter().position(|t| *t == "PLACED" || *t == "FIXED");
                let (Some(at), Some(&(w, h))) = (at, sizes.get(m)) else {
                    continue;
                };
                let x: f64 = st
                    .get(at + 2)
                    .and_then(|v| v.parse().ok())
                    .context("DEF component without x")?;
                let y: f64 = st
                    .get(at + 3)
                    .and_then(|v| v.parse().ok())
                    .context("DEF component without y")?;
                let orient = st.get(at + 5).copied().unwrap_or("N");
                let (w, h) = if matches!(orient, "E" | "W" | "FE" | "FW") {
                    (h, w)
                } else {
                    (w, h)
                };
                let (x, y) = (x / scale, y / scale);
                components.push(Component {
                    macro_name: m.to_string(),
                    rect: Rect {
                        x0: x,
                        y0: y,
                        x1: x + w,
                        y1: y + h,
                    },
                });
            }
            ("NETS", "-") => {
                nets += 1;
                net_wires(&st, scale, false, &mut wires, &mut vias);
            }
            ("SPECIALNETS", "-") => net_wires(&st, scale, true, &mut stubs, &mut vias),
            _ => {}
        }
    }
    if scale <= 0.0 {
        bail!("the DEF has no UNITS DISTANCE MICRONS");
    }
    let die = die.context("the DEF has no DIEAREA")?;
    Ok(Layout {
        die,
        components,
        wires,
        stubs,
        nets,
        vias,
    })
}

impl Layout {
    /// The rows' extent: the bounding box of every placed cell, fill included.
    pub fn core(&self) -> Option<Rect> {
        let mut it = self.components.iter().map(|c| c.rect);
        let mut r = it.next()?;
        for c in it {
            r.grow(&c);
        }
        Some(r)
    }

    /// Area of the logic cells (fill cells, which only continue the rows'
    /// wells and rails, left out).
    pub fn cell_area(&self, fill: &str) -> f64 {
        self.components
            .iter()
            .filter(|c| c.macro_name != fill)
            .map(|c| c.rect.area())
            .sum()
    }

    pub fn cell_count(&self, fill: &str) -> usize {
        self.components
            .iter()
            .filter(|c| c.macro_name != fill)
            .count()
    }

    /// Total routed wire length of the signal nets (micrometres).
    pub fn wire_length(&self) -> f64 {
        self.wires.iter().map(Segment::length).sum()
    }
}

/// The size (width, height, um) of via `via`'s pad on `layer` in a LEF.
pub fn via_pad(lef: &str, via: &str, layer: &str) -> Option<(f64, f64)> {
    let mut in_via = false;
    let mut in_layer = false;
    for line in lef.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            ["VIA", name, ..] => in_via = *name == via,
            ["END", name] if *name == via => in_via = false,
            ["LAYER", l, ..] if in_via => in_layer = *l == layer,
            ["RECT", x0, y0, x1, y1, ..] if in_via && in_layer => {
                let v: Vec<f64> = [x0, y0, x1, y1]
                    .iter()
                    .filter_map(|v| v.trim_end_matches(';').parse().ok())
                    .collect();
                if let [x0, y0, x1, y1] = v[..] {
                    return Some(((x1 - x0).abs(), (y1 - y0).abs()));
                }
            }
            _ => {}
        }
    }
    None
}

/// The DEF with the via `via` at `at_um` taken off the one routed wire
/// that ends in it: a wire on another layer than `keep_layer` (the via's
/// lower one) keeps its path, and a lone via on `keep_layer` (`NEW metal1
/// ( x y ) M2_M1`, a piece of its own) goes altogether. `None` unless
/// exactly one piece of the NETS section ends in that via there, or when
/// that piece opens or closes its net's routing (`+ ROUTED`, `;`). qrouter
/// writes one piece per line (`+ ROUTED layer ( x y ) ... VIA` or `NEW
/// layer ...`). The caller knows from Magic that the via's pad on
/// `keep_layer` touches nothing else.
pub fn drop_via(def: &str, via: &str, at_um: (f64, f64), keep_layer: &str) -> Option<String> {
    let mut found = None;
    let mut in_nets = false;
    let mut at = None;
    for (n, line) in def.lines().enumerate() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            ["UNITS", "DISTANCE", "MICRONS", u, ..] => {
                let u: f64 = u.parse().ok()?;
                at = Some(((at_um.0 * u).round() as i64, (at_um.1 * u).round() as i64));
            }
            ["NETS", ..] => in_nets = true,
            ["END", "NETS"] => in_nets = false,
            _ => {}
        }
        if !in_nets {
            continue;
        }
        let Some(start) = t.iter().position(|w| matches!(*w, "ROUTED" | "NEW")) else {
            continue;
        };
        let body: Vec<&str> = t[start + 1..]
            .iter()
            .copied()
            .filter(|w| *w != ";")
            .collect();
        if body.last() != Some(&via) {
            continue;
        }
        // A piece on the lower layer: only a lone via (one point, nothing
        // else) and not the net's first or last piece.
        let lone = body.len() == 6;
        if body.first() == Some(&keep_layer) && !(lone && t[start] == "NEW" && !line.contains(';'))
        {
            continue;
        }
        // The wire's last point, `*` meaning "as the point before".
        let mut pt: Option<(i64, i64)> = None;
        for w in body.windows(4) {
            if w[0] == "(" && w[3] == ")" {
                let prev = pt.unwrap_or((i64::MIN, i64::MIN));
                let c = |s: &str, p: i64| if s == "*" { Some(p) } else { s.parse().ok() };
                pt = c(w[1], prev.0).zip(c(w[2], prev.1));
            }
        }
        if pt.is_some() && pt == at {
            if found.is_some() {
                return None;
            }
            found = Some((n, body.first() == Some(&keep_layer)));
        }
    }
    let (n, whole) = found?;
    let mut out = String::with_capacity(def.len());
    for (i, line) in def.lines().enumerate() {
        if i == n && whole {
            continue;
        } else if i == n {
            let cut = line.rfind(via)?;
            out.push_str(line[..cut].trim_end());
            out.push_str(&line[cut + via.len()..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    Some(out)
}

/// One section of a DEF (`NETS`, `SPECIALNETS`) line by line: its header
/// line, its `END` line, and each entry's net name and lines (from `- name`
/// to the line that ends in `;`, as qrouter writes them).
struct Section {
    header: usize,
    end: usize,
    entries: Vec<(String, std::ops::Range<usize>)>,
}

impl Section {
    /// Every one of `nets` has an entry.
    fn has_all(&self, nets: &[String]) -> bool {
        nets.iter()
            .all(|n| self.entries.iter().any(|(e, _)| e == n))
    }
}

fn section(lines: &[&str], name: &str) -> Option<Section> {
    let header = lines
        .iter()
        .position(|l| l.split_whitespace().next() == Some(name))?;
    let end = header
        + lines[header..]
            .iter()
            .position(|l| l.split_whitespace().collect::<Vec<_>>() == ["END", name])?;
    let mut entries: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let mut open: Option<(String, usize)> = None;
    for (i, line) in lines.iter().enumerate().take(end).skip(header + 1) {
        let t: Vec<&str> = line.split_whitespace().collect();
        if let ["-", net, ..] = t.as_slice() {
            if open.is_some() {
                return None;
            }
            open = Some((net.to_string(), i));
        }
        if line.trim_end().ends_with(';') {
            let (net, from) = open.take()?;
            entries.push((net, from..i + 1));
        }
    }
    open.is_none().then_some(Section {
        header,
        end,
        entries,
    })
}

/// `def` with the routing of `nets` taken from `new` (the same design
/// routed again, by qrouter): their entries in NETS replaced by `new`'s,
/// and in SPECIALNETS (qrouter's short metal1 stubs to off-grid pins)
/// dropped and `new`'s added, with the section's count made right. Every
/// other line stays as it was. `None` when a net is not in both NETS
/// sections or a section does not read.
pub fn splice_nets(def: &str, new: &str, nets: &[String]) -> Option<String> {
    let old_lines: Vec<&str> = def.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let wanted = |n: &str| nets.iter().any(|w| w == n);
    let mut out: Vec<String> = Vec::with_capacity(old_lines.len() + 64);
    let mut done = 0;
    for name in ["NETS", "SPECIALNETS"] {
        let old = section(&old_lines, name);
        let fresh = section(&new_lines, name);
        let (old, fresh) = match (old, fresh, name) {
            (Some(o), Some(f), _) => (o, f),
            // qrouter writes SPECIALNETS only when it has stubs: none new.
            (Some(o), None, "SPECIALNETS") => (
                o,
                Section {
                    header: 0,
                    end: 0,
                    entries: Vec::new(),
                },
            ),
            (None, None, "SPECIALNETS") => continue,
            _ => return None,
        };
        if name == "NETS" && !(old.has_all(nets) && fresh.has_all(nets)) {
            return None;
        }
        // The other nets' entries as they were; in NETS each rerouted net's
        // new entry in its place, in SPECIALNETS the new stubs at the end.
        let mut body: Vec<&str> = Vec::new();
        for (n, r) in &old.entries {
            if !wanted(n) {
                body.extend(&old_lines[r.clone()]);
            } else if name == "NETS" {
                let (_, fr) = fresh.entries.iter().find(|(f, _)| f == n)?;
                body.extend(&new_lines[fr.clone()]);
            }
        }
        if name == "SPECIALNETS" {
            for (_, r) in fresh.entries.iter().filter(|(n, _)| wanted(n)) {
                body.extend(&new_lines[r.clone()]);
            }
        }
        let count = body
            .iter()
            .filter(|l| l.trim_start().starts_with("- "))
            .count();
        out.extend(old_lines[done..old.header].iter().map(|l| l.to_string()));
        out.push(format!("{name} {count} ;"));
        out.extend(body.iter().map(|l| l.to_string()));
        done = old.end;
    }
    out.extend(old_lines[done..].iter().map(|l| l.to_string()));
    let mut text = out.join("\n");
    text.push('\n');
    Some(text)
}

/// `def` with `nets` left unrouted: their NETS entries keep their pins and
/// lose their routing (`+ ROUTED ...` on), their SPECIALNETS stubs go, and
/// the section's count is made right. What qrouter reads to route just
/// those nets again (a route it cannot follow back to its pins can crash
/// it as it reads the DEF). `None` when a net is not in NETS or a section
/// does not read.
pub fn unroute_nets(def: &str, nets: &[String]) -> Option<String> {
    let lines: Vec<&str> = def.lines().collect();
    let wanted = |n: &str| nets.iter().any(|w| w == n);
    let routed = section(&lines, "NETS")?;
    if !routed.has_all(nets) {
        return None;
    }
    // Per line: keep, drop, or end the entry there.
    let mut keep = vec![true; lines.len()];
    let mut ends = vec![false; lines.len()];
    for (_, r) in routed.entries.iter().filter(|(n, _)| wanted(n)) {
        if let Some(cut) = r
            .clone()
            .find(|&i| lines[i].trim_start().starts_with("+ ROUTED"))
        {
            keep[cut..r.end].iter_mut().for_each(|k| *k = false);
            ends[cut - 1] = true;
        }
    }
    let mut header = None;
    if let Some(special) = section(&lines, "SPECIALNETS") {
        let mut count = 0;
        for (n, r) in &special.entries {
            if wanted(n) {
                keep[r.clone()].iter_mut().for_each(|k| *k = false);
            } else {
                count += 1;
            }
        }
        header = Some((special.header, format!("SPECIALNETS {count} ;")));
    }
    let mut out = String::with_capacity(def.len());
    for (i, l) in lines.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        match &header {
            Some((h, text)) if *h == i => out.push_str(text),
            _ if ends[i] => {
                out.push_str(l.trim_end());
                out.push_str(" ;");
            }
            _ => out.push_str(l),
        }
        out.push('\n');
    }
    Some(out)
}

/// The routed nets that names from an LVS report stand for: a net's own
/// name, or `CELL/PIN` (how the extracted layout names a net that carries
/// no label) for the net its NETS entry connects that pin to. Names that
/// are neither are left out; each net once, in NETS order.
pub fn nets_named(def: &str, names: &[String]) -> Vec<String> {
    let lines: Vec<&str> = def.lines().collect();
    let Some(nets) = section(&lines, "NETS") else {
        return Vec::new();
    };
    let pins: Vec<(&str, &str)> = names.iter().filter_map(|n| n.split_once('/')).collect();
    nets.entries
        .iter()
        .filter(|(net, r)| {
            names.iter().any(|n| n == net)
                || lines[r.clone()].iter().any(|l| {
                    let t: Vec<&str> = l.split_whitespace().collect();
                    t.windows(4)
                        .any(|w| w[0] == "(" && w[3] == ")" && pins.contains(&(w[1], w[2])))
                })
        })
        .map(|(net, _)| net.clone())
        .collect()
}

/// qrouter's RC file (`<top>.rc`, one line per net, its name first) with
/// the lines of `nets` taken from `new` where `new` has them.
pub fn splice_rc(rc: &str, new: &str, nets: &[String]) -> String {
    let fresh: BTreeMap<&str, &str> = new
        .lines()
        .filter_map(|l| {
            let n = l.split_whitespace().next()?;
            nets.iter().any(|w| w == n).then_some((n, l))
        })
        .collect();
    let mut out = String::with_capacity(rc.len());
    for l in rc.lines() {
        let n = l.split_whitespace().next().unwrap_or("");
        out.push_str(fresh.get(n).copied().unwrap_or(l));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEF: &str = "MACRO INVX1\n  SIZE 1.600 BY 10.000 ;\nEND INVX1\nMACRO FILL\n  SIZE 0.800 BY 10.000 ;\nEND FILL\n";
    const DEF: &str = "VERSION 5.6 ;\nUNITS DISTANCE MICRONS 100 ;\nDIEAREA ( -100 -100 ) ( 1100 2100 ) ;\n\
COMPONENTS 3 ;\n- I1 INVX1 + PLACED ( 0 0 ) N ;\n- I2 INVX1 + PLACED ( 160 0 ) FS ;\n- F1 FILL + PLACED ( 320 1000 ) N ;\nEND COMPONENTS\n\
NETS 1 ;\n- a\n  ( I1 Y ) ( I2 A )\n+ ROUTED metal1 ( 80 500 ) M2_M1\n  NEW metal2 ( 80 500 ) ( 240 * ) ( * 700 ) ;\nEND NETS\n\
SPECIALNETS 1 ;\n- a\n+ ROUTED metal1 40 ( 80 500 ) ( * 450 ) ;\nEND SPECIALNETS\nEND DESIGN\n";

    #[test]
    fn reads_die_cells_and_wires() {
        let l = parse(DEF, &macro_sizes(LEF)).unwrap();
        assert_eq!(
            l.die,
            Rect {
                x0: -1.0,
                y0: -1.0,
                x1: 11.0,
                y1: 21.0
            }
        );
        assert_eq!(l.components.len(), 3);
        assert!((l.cell_area("FILL") - 32.0).abs() < 1e-9);
        assert_eq!(l.cell_count("FILL"), 2);
        let core = l.core().unwrap();
        assert!((core.area() - 4.0 * 20.0).abs() < 1e-9, "{core:?}");
        assert_eq!(l.nets, 1);
        assert!(
            (l.wire_length() - (1.6 + 2.0)).abs() < 1e-9,
            "{}",
            l.wire_length()
        );
        assert_eq!(l.stubs.len(), 1);
        assert_eq!(l.wires[0].layer, 2);
    }

    #[test]
    fn drops_only_a_via_one_wire_ends_in() {
        // qrouter's wire from the mac8x8 array whose via left a lone
        // metal1 pad (the pin tap and the metal1 wire are kept).
        let def = "UNITS DISTANCE MICRONS 100 ;\nNETS 1 ;\n- n\n  ( A Y ) ( B A )\n+ ROUTED metal1 ( 10480 31400 ) M2_M1\n\
                   NEW metal2 ( 8560 33400 ) ( 8640 * ) ( * 32100 ) M3_M2\n\
                   NEW metal2 ( 8560 33400 ) ( 8640 * ) M2_M1\n\
                   NEW metal1 ( 8640 32100 ) ( 8800 * ) M2_M1 ;\nEND NETS\n";
        let fixed = drop_via(def, "M2_M1", (86.4, 334.0), "metal1").unwrap();
        assert!(
            fixed.contains("\nNEW metal2 ( 8560 33400 ) ( 8640 * )\n"),
            "{fixed}"
        );
        assert_eq!(fixed.matches("M2_M1").count(), 2);
        assert_eq!(fixed.lines().count(), def.lines().count());
        // A via no wire ends in, one a metal1 wire ends in, the first and
        // the last piece of a net, and two wires ending in the same via:
        // nothing is touched.
        assert!(drop_via(def, "M2_M1", (86.4, 335.0), "metal1").is_none());
        assert!(drop_via(def, "M2_M1", (88.0, 321.0), "metal1").is_none());
        assert!(drop_via(def, "M2_M1", (104.8, 314.0), "metal1").is_none());
        let last = def.replace(
            "( 8800 * ) M2_M1 ;",
            "( 8800 * ) ;\nNEW metal1 ( 9000 9000 ) M2_M1 ;",
        );
        assert!(drop_via(&last, "M2_M1", (90.0, 90.0), "metal1").is_none());
        // The mac4x8 array's lone via on metal1: the piece goes.
        let lone = def.replace(
            "NEW metal1 ( 8640 32100 )",
            "NEW metal1 ( 12360 1260 ) M2_M1\nNEW metal2 ( 12360 1260 ) ( * 1160 ) M3_M2\nNEW metal1 ( 8640 32100 )",
        );
        let fixed = drop_via(&lone, "M2_M1", (123.6, 12.6), "metal1").unwrap();
        assert_eq!(
            fixed,
            def.replace(
                "NEW metal1 ( 8640 32100 )",
                "NEW metal2 ( 12360 1260 ) ( * 1160 ) M3_M2\nNEW metal1 ( 8640 32100 )"
            )
        );
        let twice = def.replace("( * 32100 ) M3_M2", "M2_M1");
        assert!(drop_via(&twice, "M2_M1", (86.4, 334.0), "metal1").is_none());
        let lef = "VIA M2_M1 DEFAULT\n  LAYER metal1 ;\n    RECT -0.200 -0.200 0.200 0.200 ;\n  LAYER via ;\n    RECT -0.100 -0.100 0.100 0.100 ;\nEND M2_M1\n";
        assert_eq!(via_pad(lef, "M2_M1", "metal1"), Some((0.4, 0.4)));
        assert_eq!(via_pad(lef, "M3_M2", "metal1"), None);
    }

    #[test]
    fn a_nets_routing_is_spliced_from_another_def() {
        // Two nets; `b` routed again: a new route and a stub of its own.
        let def = "NETS 2 ;\n- a\n  ( I1 Y ) ( I2 A )\n+ ROUTED metal1 ( 80 500 ) M2_M1\n  NEW metal2 ( 80 500 ) ( 240 * ) ;\n\
- b\n  ( I2 Y )\n  ( I3 B )\n+ ROUTED metal2 ( 400 500 ) ( 480 * ) ;\nEND NETS\n\
SPECIALNETS 1 ;\n- a\n+ ROUTED metal1 40 ( 80 500 ) ( * 450 ) ;\nEND SPECIALNETS\nEND DESIGN\n";
        let new = "NETS 2 ;\n- a\n  ( I1 Y ) ( I2 A )\n+ ROUTED metal1 ( 80 500 ) ( 90 * ) ;\n\
- b\n  ( I2 Y )\n  ( I3 B )\n+ ROUTED metal1 ( 400 500 ) M2_M1\n  NEW metal2 ( 400 500 ) ( 480 * ) M2_M1 ;\nEND NETS\n\
SPECIALNETS 2 ;\n- a\n+ ROUTED metal1 40 ( 80 500 ) ( * 460 ) ;\n- b\n+ ROUTED metal1 40 ( 480 500 ) ( * 520 ) ;\nEND SPECIALNETS\nEND DESIGN\n";
        let b = vec!["b".to_string()];
        let spliced = splice_nets(def, new, &b).unwrap();
        assert_eq!(
            spliced,
            "NETS 2 ;\n- a\n  ( I1 Y ) ( I2 A )\n+ ROUTED metal1 ( 80 500 ) M2_M1\n  NEW metal2 ( 80 500 ) ( 240 * ) ;\n\
- b\n  ( I2 Y )\n  ( I3 B )\n+ ROUTED metal1 ( 400 500 ) M2_M1\n  NEW metal2 ( 400 500 ) ( 480 * ) M2_M1 ;\nEND NETS\n\
SPECIALNETS 2 ;\n- a\n+ ROUTED metal1 40 ( 80 500 ) ( * 450 ) ;\n- b\n+ ROUTED metal1 40 ( 480 500 ) ( * 520 ) ;\nEND SPECIALNETS\nEND DESIGN\n"
        );
        // A stub the new routing no longer has goes; `a` untouched by b's splice.
        let a = vec!["a".to_string()];
        let no_stub = new.replace(
            "SPECIALNETS 2 ;\n- a\n+ ROUTED metal1 40 ( 80 500 ) ( * 460 ) ;\n",
            "SPECIALNETS 1 ;\n",
        );
        let spliced = splice_nets(def, &no_stub, &a).unwrap();
        assert!(
            spliced.contains("- a\n  ( I1 Y ) ( I2 A )\n+ ROUTED metal1 ( 80 500 ) ( 90 * ) ;\n")
        );
        assert!(
            spliced.contains("SPECIALNETS 0 ;\nEND SPECIALNETS\n"),
            "{spliced}"
        );
        assert!(spliced
            .contains("- b\n  ( I2 Y )\n  ( I3 B )\n+ ROUTED metal2 ( 400 500 ) ( 480 * ) ;\n"));
        // Left unrouted for qrouter: pins kept, routing and stubs gone.
        assert_eq!(
            unroute_nets(def, &b).unwrap(),
            def.replace(
                "  ( I3 B )\n+ ROUTED metal2 ( 400 500 ) ( 480 * ) ;\n",
                "  ( I3 B ) ;\n"
            )
        );
        assert_eq!(
            unroute_nets(def, &a).unwrap(),
            def.replace(
                "  ( I1 Y ) ( I2 A )\n+ ROUTED metal1 ( 80 500 ) M2_M1\n  NEW metal2 ( 80 500 ) ( 240 * ) ;\n",
                "  ( I1 Y ) ( I2 A ) ;\n"
            )
            .replace("SPECIALNETS 1 ;\n- a\n+ ROUTED metal1 40 ( 80 500 ) ( * 450 ) ;\n", "SPECIALNETS 0 ;\n")
        );
        assert!(unroute_nets(def, &["c".to_string()]).is_none());
        // A rerouted DEF without SPECIALNETS: the net's old stub goes.
        let bare = no_stub.replace(
            "SPECIALNETS 1 ;\n- b\n+ ROUTED metal1 40 ( 480 500 ) ( * 520 ) ;\nEND SPECIALNETS\n",
            "",
        );
        assert!(!bare.contains("SPECIALNETS"), "{bare}");
        let spliced = splice_nets(def, &bare, &a).unwrap();
        assert!(
            spliced.contains("SPECIALNETS 0 ;\nEND SPECIALNETS\n"),
            "{spliced}"
        );
        // A net missing from either side, or a section that does not read.
        assert!(splice_nets(def, new, &["c".to_string()]).is_none());
        assert!(splice_nets(def, &new.replace("- b\n", "- c\n"), &b).is_none());
        assert!(splice_nets(&def.replace("END NETS\n", ""), new, &b).is_none());
        // The nets Netgen's names stand for: a net's own name, CELL/PIN.
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(nets_named(def, &names(&["I3/B"])), ["b"]);
        assert_eq!(
            nets_named(def, &names(&["a", "I3/B", "I9/Z", "zz"])),
            ["a", "b"]
        );
        assert_eq!(nets_named(def, &names(&["I3/A"])), Vec::<String>::new());
        // RC lines of the rerouted nets only.
        let rc = "a 1 I1/Y 1 ( 1.0 0.1 I2/A )\nb 1 I2/Y 1 ( 2.0 0.2 I3/B )\n";
        let new_rc = "a 1 I1/Y 1 ( 9.0 0.9 I2/A )\nb 1 I2/Y 1 ( 3.0 0.3 I3/B )\n";
        assert_eq!(
            splice_rc(rc, new_rc, &b),
            "a 1 I1/Y 1 ( 1.0 0.1 I2/A )\nb 1 I2/Y 1 ( 3.0 0.3 I3/B )\n"
        );
    }
}
