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
}
