//! The SVG plots (the roofline of `hcm --plot`, the Pareto plot of `synth
//! --sweep`) keep every text inside the picture, no two texts overlap, no
//! label covers a point, and the roofline names every memory-bound point.
//!
//! The fast checks read the SVG: each `<text>`'s box from its position,
//! anchor, size and string, its width bounded by `svg::text_width`. The
//! full-tier checks render with `rsvg-convert` (librsvg): on a canvas
//! widened by a margin, nothing may be drawn outside the original one; and
//! every text of the plots, rendered alone, must fall inside the box the
//! bound gives it (so the fast checks are about real ink). Both catch the
//! old roofline, whose ridge label ran off the right edge (the tests
//! `*_catch_*`).

use crate::util::run;
use sparqgen::svg::{text_box, text_width, Anchor, Rect, BOLD};
use std::path::Path;
use std::process::Command;

/// One `<text>` as drawn.
#[derive(Debug, Clone)]
struct TextBox {
    text: String,
    size: f64,
    bold: bool,
    rect: Rect,
}

/// A data point (a circle with a tooltip): centre, radius, class, tooltip.
#[derive(Debug, Clone)]
struct Dot {
    x: f64,
    y: f64,
    r: f64,
    class: String,
    title: String,
}

struct Svg {
    width: f64,
    height: f64,
    texts: Vec<TextBox>,
    dots: Vec<Dot>,
}

fn num(n: roxmltree::Node, a: &str) -> f64 {
    n.attribute(a).map_or(0.0, |v| v.parse().unwrap())
}

/// An attribute of the node or its nearest ancestor that has it.
fn inherited<'a>(n: roxmltree::Node<'a, 'a>, a: &str) -> Option<&'a str> {
    n.ancestors().find_map(|m| m.attribute(a))
}

fn parse(svg: &str) -> Svg {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    let root = doc.root_element();
    let mut texts = Vec::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let text = n.text().unwrap_or("").to_string();
        let size: f64 = inherited(n, "font-size").unwrap().parse().unwrap();
        let bold = inherited(n, "font-weight") == Some("bold");
        let anchor = match inherited(n, "text-anchor") {
            Some("middle") => Anchor::Middle,
            Some("end") => Anchor::End,
            _ => Anchor::Start,
        };
        let (x, y) = (num(n, "x") + num(n, "dx"), num(n, "y") + num(n, "dy"));
        let mut rect = text_box(&text, x, y, size, anchor);
        if bold {
            let w = text_width(&text, size) * BOLD;
            rect = match anchor {
                Anchor::Start => Rect::new(rect.x0, rect.y0, rect.x0 + w, rect.y1),
                Anchor::Middle => {
                    let c = (rect.x0 + rect.x1) / 2.0;
                    Rect::new(c - w / 2.0, rect.y0, c + w / 2.0, rect.y1)
                }
                Anchor::End => Rect::new(rect.x1 - w, rect.y0, rect.x1, rect.y1),
            };
        }
        if let Some(t) = n.attribute("transform") {
            // rotate(-90 cx cy), the y-axis titles
            let v: Vec<f64> = t
                .trim_start_matches("rotate(")
                .trim_end_matches(')')
                .split_whitespace()
                .map(|s| s.parse().unwrap())
                .collect();
            assert_eq!(v[0], -90.0, "{t}");
            let (cx, cy) = (v[1], v[2]);
            let map = |x: f64, y: f64| (cx + (y - cy), cy - (x - cx));
            let (a, b) = (map(rect.x0, rect.y0), map(rect.x1, rect.y1));
            rect = Rect::new(a.0.min(b.0), a.1.min(b.1), a.0.max(b.0), a.1.max(b.1));
        }
        texts.push(TextBox {
            text,
            size,
            bold,
            rect,
        });
    }
    let dots = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .filter_map(|n| {
            let title = n.children().find(|c| c.has_tag_name("title"))?;
            Some(Dot {
                x: num(n, "cx"),
                y: num(n, "cy"),
                r: num(n, "r"),
                class: n.attribute("class").unwrap_or("").to_string(),
                title: title.text().unwrap_or("").to_string(),
            })
        })
        .collect();
    Svg {
        width: num(root, "width"),
        height: num(root, "height"),
        texts,
        dots,
    }
}

/// What is wrong with the layout: texts outside the canvas, texts over
/// each other, texts over data points.
fn problems(svg: &str) -> Vec<String> {
    let s = parse(svg);
    let canvas = Rect::new(0.0, 0.0, s.width, s.height);
    let mut out = Vec::new();
    for t in &s.texts {
        if !t.rect.inside(&canvas) {
            out.push(format!(
                "{:?} leaves the {} x {} canvas: {:?}",
                t.text, s.width, s.height, t.rect
            ));
        }
        for d in &s.dots {
            if t.rect.overlaps(&Rect::around(d.x, d.y, d.r)) {
                out.push(format!("{:?} covers the point of {:?}", t.text, d.title));
            }
        }
    }
    for (i, a) in s.texts.iter().enumerate() {
        for b in &s.texts[i + 1..] {
            if a.rect.overlaps(&b.rect) {
                out.push(format!("{:?} overlaps {:?}", a.text, b.text));
            }
        }
    }
    out
}

/// The roofline of `net` (a built-in or a file) with extra `hcm` options.
fn roofline(net: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["hcm", net, "--area-model", "none", "--plot", "r.svg"];
    args.extend_from_slice(extra);
    let r = run(&args, dir.path());
    assert_eq!(r.code(), 0, "{}", r.stderr());
    std::fs::read_to_string(dir.path().join("r.svg")).unwrap()
}

/// The plots the tests check: the three built-in networks on the default
/// hardware point, and ResNet-18 on a design whose long name makes the
/// subtitle too wide for the picture at its normal size.
fn rooflines() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = ["resnet18", "mobilenet_v2", "vgg16"]
        .iter()
        .map(|n| (n.to_string(), roofline(n, &[])))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("long.yaml");
    std::fs::write(
        &d,
        format!(
            "name: {}\npe: {{kind: sparq}}\narray: {{kind: systolic, rows: 8, cols: 8}}\n",
            "a_design_with_a_name_as_long_as_names_may_be_xyz"
        ),
    )
    .unwrap();
    v.push((
        "resnet18 on a long-named design".into(),
        roofline("resnet18", &["--design", d.to_str().unwrap()]),
    ));
    v
}

/// The old roofline's ridge label: 4 px right of the ridge line, 6 px
/// above the compute roof, whatever room was left.
fn with_old_ridge_label(svg: &str) -> String {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let ridge = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("ridge"))
        .unwrap();
    let roof = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("roof"))
        .unwrap();
    let peak_y: f64 = roof
        .attribute("points")
        .unwrap()
        .split([' ', ','])
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    let x = num(ridge, "x1") + 4.0;
    let old = format!(
        "<text x=\"{x:.1}\" y=\"{:.1}\" fill=\"#444\">ridge 2609.8 BOPS/bit</text>\n</svg>",
        peak_y - 6.0
    );
    svg.replacen("</svg>", &old, 1)
}

#[test]
fn roofline_texts_stay_inside_apart_and_off_the_points() {
    for (what, svg) in rooflines() {
        let p = problems(&svg);
        assert!(p.is_empty(), "{what}:\n{}", p.join("\n"));
    }
}

/// Every memory-bound point carries a name: its layer's, or that of a
/// layer drawn at (nearly) the same spot, the circles overlapping
/// ("layer4.0.conv2 +2"); so do the point of least intensity and that of
/// the most.
#[test]
fn roofline_names_the_memory_bound_points_and_the_extremes() {
    for (what, svg) in rooflines() {
        let s = parse(&svg);
        let name = |d: &Dot| d.title.split(':').next().unwrap().to_string();
        let named = |d: &Dot| {
            let here: Vec<String> = s
                .dots
                .iter()
                .filter(|e| (e.x - d.x).hypot(e.y - d.y) < 2.0 * d.r)
                .map(name)
                .collect();
            s.texts
                .iter()
                .any(|t| here.contains(&t.text.split(" +").next().unwrap().to_string()))
        };
        let memory: Vec<&Dot> = s.dots.iter().filter(|d| d.class == "memory").collect();
        assert!(!memory.is_empty(), "{what}");
        for d in memory {
            assert!(named(d), "{what}: memory-bound {} is not named", d.title);
        }
        let by_x = |a: &&Dot, b: &&Dot| a.x.total_cmp(&b.x);
        for d in [
            s.dots.iter().min_by(by_x).unwrap(),
            s.dots.iter().max_by(by_x).unwrap(),
        ] {
            assert!(named(d), "{what}: outlier {} is not named", d.title);
        }
        // the headings and the ridge are there, whole
        assert!(s
            .texts
            .iter()
            .any(|t| t.text.starts_with("ridge ") && t.text.ends_with(" BOPS/bit")));
    }
}

/// The check is not vacuous: the old layout's ridge label fails it.
#[test]
fn the_layout_check_catches_the_old_ridge_label() {
    let svg = with_old_ridge_label(&roofline("resnet18", &[]));
    let p = problems(&svg);
    assert!(
        p.iter()
            .any(|p| p.starts_with("\"ridge 2609.8 BOPS/bit\" leaves the 760 x 500 canvas")),
        "{p:#?}"
    );
}

/// A sweep-like set of PEs for the Pareto plot: 40 SPARQ variants whose
/// costs and SQNRs crowd together, the widest a named front point with a
/// long label at the right edge, and the two exact baselines.
fn sweep() -> Vec<sparqgen::synth::compare::PeCost> {
    use sparqgen::config::Design;
    use sparqgen::synth::compare::PeCost;
    use sparqgen::synth::flow::GenericArea;
    let mut v = Vec::new();
    let mut i = 0;
    for w in [4, 3, 2] {
        for p in [2, 3, 5, 6, 7] {
            for rounding in ["round", "truncate"] {
                for (sharing, stc) in [(true, false), (false, false), (true, true)] {
                    let d = Design::from_yaml(&format!(
                        "pe: {{kind: sparq, window_bits: {w}, placements: {p}, rounding: {rounding}, \
                         pair_sharing: {sharing}, stc: {stc}}}\n"
                    ));
                    let Ok(d) = d else { continue };
                    i += 1;
                    let x = 900.0
                        + 40.0 * p as f64
                        + if sharing { 0.0 } else { 300.0 }
                        + if stc { 150.0 } else { 0.0 }
                        + i as f64;
                    v.push(PeCost {
                        pe: d.pe().kind(),
                        design_hash: format!("{i}"),
                        activations_per_cycle: 2,
                        generic: GenericArea {
                            cells: 1,
                            transistors: x as u64 * 2,
                            cells_by_type: Default::default(),
                            logic_depth: None,
                        },
                        ice40: None,
                        liberty: None,
                        transistors_per_activation: x,
                        sqnr_db: Some(
                            20.0 + p as f64 * 2.0 + w as f64 + if sharing { 0.0 } else { 0.5 },
                        ),
                    });
                }
            }
        }
    }
    for (kind, x) in [("mac8x8", 1350.0), ("mac4x8", 1200.0)] {
        let d = Design::from_yaml(&format!("pe: {{kind: {kind}}}\n")).unwrap();
        v.push(PeCost {
            pe: d.pe().kind(),
            design_hash: kind.into(),
            activations_per_cycle: 1,
            generic: GenericArea {
                cells: 1,
                transistors: x as u64,
                cells_by_type: Default::default(),
                logic_depth: None,
            },
            ice40: None,
            liberty: None,
            transistors_per_activation: x,
            sqnr_db: if kind == "mac8x8" { None } else { Some(30.0) },
        });
    }
    v
}

fn pareto() -> String {
    sparqgen::synth::plot::pareto_svg(
        "PE area vs SQNR (acc 32 bits, pipeline 0) of a sweep with a title long enough to need shrinking",
        &sweep(),
    )
}

#[test]
fn pareto_texts_stay_inside_apart_and_off_the_points() {
    let costs = sweep();
    assert!(costs.len() >= 15, "{}", costs.len());
    let svg = pareto();
    let p = problems(&svg);
    assert!(p.is_empty(), "{}", p.join("\n"));
    // the baselines are named
    let s = parse(&svg);
    for b in ["mac8x8", "mac4x8"] {
        assert!(s.texts.iter().any(|t| t.text == b), "{b}");
    }
}

// ---- rendered (full tier) ----

fn need_rsvg() {
    let ok = Command::new("rsvg-convert")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this full-tier test needs rsvg-convert: apt-get install --no-install-recommends librsvg2-bin"
    );
}

/// RGBA pixels of an 8-bit RGBA PNG (what rsvg-convert writes).
struct Png {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

impl Png {
    fn alpha(&self, x: usize, y: usize) -> u8 {
        self.rgba[(y * self.width + x) * 4 + 3]
    }
}

fn decode_png(bytes: &[u8]) -> Png {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let (mut pos, mut idat, mut width, mut height) = (8, Vec::new(), 0, 0);
    while pos < bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(
                    (data[8], data[9], data[12]),
                    (8, 6, 0),
                    "8-bit RGBA, not interlaced"
                );
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).unwrap();
    let stride = width * 4;
    let mut rgba = vec![0u8; stride * height];
    for y in 0..height {
        let f = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= 4 {
                rgba[y * stride + x - 4] as i32
            } else {
                0
            };
            let b = if y > 0 {
                rgba[(y - 1) * stride + x] as i32
            } else {
                0
            };
            let c = if x >= 4 && y > 0 {
                rgba[(y - 1) * stride + x - 4] as i32
            } else {
                0
            };
            let pred = match f {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                _ => panic!("PNG filter {f}"),
            };
            rgba[y * stride + x] = (line[x] as i32 + pred) as u8;
        }
    }
    Png {
        width,
        height,
        rgba,
    }
}

fn render(svg: &str, dir: &Path, name: &str) -> Png {
    let src = dir.join(format!("{name}.svg"));
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&src, svg).unwrap();
    let out = Command::new("rsvg-convert")
        .arg(&src)
        .arg("-o")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    decode_png(&std::fs::read(&png).unwrap())
}

/// Margin added on each side of the canvas.
const M: usize = 120;

/// Pixels drawn outside the canvas when the picture is rendered on one
/// `M` px larger on every side (the plots' background covers only the
/// canvas, so anything beyond it is ink that a viewer would cut off).
fn ink_outside(svg: &str, dir: &Path, name: &str) -> Vec<(isize, isize)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    let (w, h) = (
        root.attribute("width").unwrap(),
        root.attribute("height").unwrap(),
    );
    let vb = root.attribute("viewBox").unwrap();
    let (wf, hf): (f64, f64) = (w.parse().unwrap(), h.parse().unwrap());
    let m = M as f64;
    let wide = svg
        .replacen(
            &format!("width=\"{w}\" height=\"{h}\""),
            &format!("width=\"{}\" height=\"{}\"", wf + 2.0 * m, hf + 2.0 * m),
            1,
        )
        .replacen(
            &format!("viewBox=\"{vb}\""),
            &format!(
                "viewBox=\"{} {} {} {}\"",
                -m,
                -m,
                wf + 2.0 * m,
                hf + 2.0 * m
            ),
            1,
        );
    assert_ne!(wide, svg);
    let png = render(&wide, dir, name);
    let (x1, y1) = (M + wf.ceil() as usize, M + hf.ceil() as usize);
    let mut out = Vec::new();
    for y in 0..png.height {
        for x in 0..png.width {
            let inside = (M..x1).contains(&x) && (M..y1).contains(&y);
            if !inside && png.alpha(x, y) > 0 {
                out.push((x as isize - M as isize, y as isize - M as isize));
            }
        }
    }
    out
}

#[test]
#[ignore = "full tier (rsvg-convert): scripts/test.sh runs it"]
fn rendered_plots_draw_nothing_outside_the_canvas() {
    need_rsvg();
    let dir = tempfile::tempdir().unwrap();
    let mut plots = rooflines();
    plots.push(("pareto".into(), pareto()));
    for (i, (what, svg)) in plots.iter().enumerate() {
        let bad = ink_outside(svg, dir.path(), &format!("p{i}"));
        assert!(
            bad.is_empty(),
            "{what}: {} pixels drawn outside, e.g. {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
    }
}

/// The check is not vacuous: the old ridge label is drawn past the right
/// edge.
#[test]
#[ignore = "full tier (rsvg-convert): scripts/test.sh runs it"]
fn the_rendered_check_catches_the_old_ridge_label() {
    need_rsvg();
    let dir = tempfile::tempdir().unwrap();
    let svg = with_old_ridge_label(&roofline("resnet18", &[]));
    let bad = ink_outside(&svg, dir.path(), "old");
    assert!(bad.len() > 20, "{}", bad.len());
}

/// The width bound the layout uses holds for the font the renderer picks:
/// every text of the plots, rendered alone at its size and weight, inks
/// only inside the box the bound gives it.
#[test]
#[ignore = "full tier (rsvg-convert): scripts/test.sh runs it"]
fn every_text_inks_only_inside_its_estimated_box() {
    need_rsvg();
    let dir = tempfile::tempdir().unwrap();
    let mut plots = rooflines();
    plots.push(("pareto".into(), pareto()));
    let mut texts: Vec<TextBox> = plots.iter().flat_map(|(_, s)| parse(s).texts).collect();
    texts.sort_by(|a, b| {
        (&a.text, a.bold)
            .cmp(&(&b.text, b.bold))
            .then(a.size.total_cmp(&b.size))
    });
    texts.dedup_by(|a, b| a.text == b.text && a.bold == b.bold && a.size == b.size);
    let row = 40.0;
    let width = texts
        .iter()
        .map(|t| t.rect.x1 - t.rect.x0)
        .fold(0.0, f64::max)
        + 40.0;
    let mut sheet = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{:.0}\" \
         viewBox=\"0 0 {width:.0} {:.0}\" font-family=\"sans-serif\">\n",
        row * texts.len() as f64,
        row * texts.len() as f64
    );
    for (i, t) in texts.iter().enumerate() {
        let esc = sparqgen::svg::escape(&t.text);
        let weight = if t.bold { " font-weight=\"bold\"" } else { "" };
        sheet += &format!(
            "<text x=\"10\" y=\"{}\" font-size=\"{}\"{weight}>{esc}</text>\n",
            row * i as f64 + 25.0,
            t.size
        );
    }
    sheet += "</svg>\n";
    let png = render(&sheet, dir.path(), "sheet");
    for (i, t) in texts.iter().enumerate() {
        let base = row * i as f64 + 25.0;
        let mut b = text_box(&t.text, 10.0, base, t.size, Anchor::Start);
        if t.bold {
            b.x1 = b.x0 + text_width(&t.text, t.size) * BOLD;
        }
        let (mut x_max, mut y_min, mut y_max) = (0usize, usize::MAX, 0usize);
        for y in (row * i as f64) as usize..(row * (i + 1) as f64) as usize {
            for x in 0..png.width {
                if png.alpha(x, y) > 0 {
                    x_max = x_max.max(x);
                    y_min = y_min.min(y);
                    y_max = y_max.max(y);
                }
            }
        }
        // one pixel of anti-aliasing either side
        assert!(
            x_max as f64 <= b.x1 + 1.0 && y_min as f64 >= b.y0 - 1.0 && y_max as f64 <= b.y1 + 1.0,
            "{:?} at {} px{}: ink to x {x_max}, y {y_min}..{y_max}; box {b:?}",
            t.text,
            t.size,
            if t.bold { " bold" } else { "" }
        );
    }
}
