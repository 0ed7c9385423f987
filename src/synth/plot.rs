//! The sweep's Pareto plot (area per activation against SQNR) as SVG; text
//! is escaped through [`crate::svg`], the points' names go where
//! [`Placer`] finds room inside the plot (never over another name or
//! point), and the title shrinks to the width ([`fit`]).

use super::compare::PeCost;
use crate::svg::{fit, px as coord, Placed, Placer, Rect, Text, RINGS};
use askama::Template;

struct Tick {
    pos: i64,
    label: Text,
}

struct Point {
    x: i64,
    y: i64,
    color: &'static str,
    label: Text,
    detail: Text,
    /// Where the name is written (baseline start), and its leader line.
    name_at: Option<NameAt>,
}

struct NameAt {
    x: String,
    y: String,
    leader: Option<[String; 4]>,
}

impl From<Placed> for NameAt {
    fn from(p: Placed) -> NameAt {
        NameAt {
            x: coord(p.x),
            y: coord(p.y),
            leader: p.leader.map(|l| l.map(coord)),
        }
    }
}

/// Font sizes, px: the title, the points' names, the legend.
const TITLE_SIZE: f64 = 14.0;
const NAME_SIZE: f64 = 9.0;
const LEGEND_SIZE: f64 = 11.0;

struct Legend {
    y: i64,
    color: &'static str,
    label: Text,
}

#[derive(Template)]
#[template(path = "synth/pareto.svg")]
struct Pareto {
    title: Text,
    title_size: String,
    width: i64,
    height: i64,
    left: i64,
    right: i64,
    top: i64,
    bottom: i64,
    xticks: Vec<Tick>,
    yticks: Vec<Tick>,
    xlabel: Text,
    ylabel: Text,
    front: String,
    points: Vec<Point>,
    legend: Vec<Legend>,
}

const COLORS: [(&str, &str); 4] = [
    ("#d62728", "SPARQ (vSPARQ)"),
    ("#ff7f0e", "bSPARQ alone"),
    ("#2ca02c", "SPARQ 2:4 (stc)"),
    ("#7f7f7f", "baselines"),
];

fn color(c: &PeCost) -> &'static str {
    match c.sparq() {
        Some(s) if s.stc => COLORS[2].0,
        Some(s) if !s.pair_sharing => COLORS[1].0,
        Some(_) => COLORS[0].0,
        None => COLORS[3].0,
    }
}

fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut v = Vec::new();
    while t <= hi + 1e-9 {
        v.push(t);
        t += step;
    }
    v
}

/// Render the Pareto plot of `costs`. Exact PEs (no SQNR) are drawn at the
/// top edge and labelled "exact".
pub fn pareto_svg(title: &str, costs: &[PeCost]) -> String {
    let marks: Vec<Mark> = costs
        .iter()
        .map(|c| Mark {
            label: c.label(),
            transistors_per_activation: c.transistors_per_activation,
            sqnr_db: c.sqnr_db,
            color: color(c),
            baseline: c.sparq().is_none(),
        })
        .collect();
    render(title, &marks)
}

/// One PE as the plot draws it.
struct Mark {
    label: String,
    transistors_per_activation: f64,
    sqnr_db: Option<f64>,
    color: &'static str,
    /// Baselines are always labelled; SPARQ PEs only on the front.
    baseline: bool,
}

fn render(title: &str, costs: &[Mark]) -> String {
    let (width, height, left, right, top, bottom) = (900i64, 560i64, 70i64, 870i64, 36i64, 510i64);
    let finite: Vec<f64> = costs.iter().filter_map(|c| c.sqnr_db).collect();
    let (ymin, ymax) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (ymin, ymax) = if finite.is_empty() {
        (0.0, 1.0)
    } else {
        ((ymin - 2.0).floor(), ymax + 6.0)
    };
    let xs: Vec<f64> = costs.iter().map(|c| c.transistors_per_activation).collect();
    let xmax = xs.iter().cloned().fold(0.0, f64::max) * 1.08;
    let xmin = 0.0;
    let px = |x: f64| left + ((x - xmin) / (xmax - xmin).max(1e-9) * (right - left) as f64) as i64;
    let py = |y: f64| bottom - ((y - ymin) / (ymax - ymin) * (bottom - top) as f64) as i64;
    let y_of = |c: &Mark| c.sqnr_db.unwrap_or(ymax - 1.0);
    // Pareto front: fewer transistors and more SQNR is better
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut best = f64::NEG_INFINITY;
    let mut front = Vec::new();
    let mut on_front = vec![false; costs.len()];
    for i in order {
        let y = y_of(&costs[i]);
        if y > best {
            best = y;
            on_front[i] = true;
            front.push((px(xs[i]), py(y)));
        }
    }
    let legend_top = bottom - 70 - 12;
    let mut placer = Placer::new(Rect::new(
        left as f64 + 2.0,
        top as f64 + 2.0,
        right as f64 - 2.0,
        bottom as f64 - 2.0,
    ));
    for (i, c) in costs.iter().enumerate() {
        placer.block(Rect::around(px(xs[i]) as f64, py(y_of(c)) as f64, 5.0));
    }
    let legend_w = COLORS
        .iter()
        .map(|(_, l)| crate::svg::text_width(l, LEGEND_SIZE))
        .fold(0.0, f64::max);
    placer.block(Rect::new(
        (right - 158) as f64,
        legend_top as f64,
        (right - 140) as f64 + legend_w + 4.0,
        (bottom - 70 + 16 * 3 + 8) as f64,
    ));
    placer.avoid_line(left as f64, bottom as f64, right as f64, bottom as f64);
    for w in front.windows(2) {
        placer.avoid_line(w[0].0 as f64, w[0].1 as f64, w[1].0 as f64, w[1].1 as f64);
    }
    // baselines first, then the front from left to right
    let mut named: Vec<usize> = (0..costs.len())
        .filter(|&i| on_front[i] || costs[i].baseline)
        .collect();
    named.sort_by(|&a, &b| {
        costs[b]
            .baseline
            .cmp(&costs[a].baseline)
            .then(xs[a].total_cmp(&xs[b]))
    });
    let mut name_at: Vec<Option<NameAt>> = (0..costs.len()).map(|_| None).collect();
    for i in named {
        let (x, y) = (px(xs[i]) as f64, py(y_of(&costs[i])) as f64);
        name_at[i] = placer
            .place(&costs[i].label, NAME_SIZE, (x, y, 4.0), RINGS)
            .map(NameAt::from);
    }
    let points = costs
        .iter()
        .zip(name_at)
        .enumerate()
        .map(|(i, (c, name_at))| Point {
            x: px(xs[i]),
            y: py(y_of(c)),
            color: c.color,
            label: c.label.as_str().into(),
            detail: format!(
                "{:.0} transistors per activation per cycle, SQNR {}",
                xs[i],
                c.sqnr_db.map_or("exact".into(), |s| format!("{s:.2} dB"))
            )
            .into(),
            name_at,
        })
        .collect();
    let (title, title_size) = fit(title, TITLE_SIZE, 8.0, width as f64 - 16.0);
    let xticks = nice_ticks(xmin, xmax, 8)
        .into_iter()
        .map(|v| Tick {
            pos: px(v),
            label: format!("{v:.0}").into(),
        })
        .collect();
    let mut yticks: Vec<Tick> = nice_ticks(ymin, ymax - 2.0, 8)
        .into_iter()
        .map(|v| Tick {
            pos: py(v),
            label: format!("{v:.0}").into(),
        })
        .collect();
    yticks.push(Tick {
        pos: py(ymax - 1.0),
        label: "exact".into(),
    });
    Pareto {
        title: title.into(),
        title_size: coord(title_size),
        width,
        height,
        left,
        right,
        top,
        bottom,
        xticks,
        yticks,
        xlabel: "transistors (Yosys CMOS estimate) per activation per cycle".into(),
        ylabel: "GEMM SQNR vs exact int8 (dB)".into(),
        front: front
            .iter()
            .map(|(x, y)| format!("{x},{y}"))
            .collect::<Vec<_>>()
            .join(" "),
        points,
        legend: COLORS
            .iter()
            .zip(0i64..)
            .map(|(&(color, label), i)| Legend {
                y: bottom - 70 + 16 * i,
                color,
                label: label.into(),
            })
            .collect(),
    }
    .render()
    // infallible: askama rendering fails only on a filter error; this template has none
    .expect("the Pareto template renders")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(label: &str, x: f64, sqnr_db: Option<f64>) -> Mark {
        Mark {
            label: label.into(),
            transistors_per_activation: x,
            sqnr_db,
            color: COLORS[0].0,
            baseline: sqnr_db.is_none(),
        }
    }

    /// Text with XML's specials (a label, the title) cannot break the SVG:
    /// it parses, and the text reads back as it was.
    #[test]
    fn labels_with_xml_specials_give_a_well_formed_svg() {
        let nasty = "a <&> \"b\" 'c' --";
        let svg = render(
            nasty,
            &[mark(nasty, 100.0, Some(20.0)), mark("mac8x8", 200.0, None)],
        );
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        assert!(texts.contains(&nasty), "{texts:?}");
        let titles = doc
            .descendants()
            .filter(|n| n.has_tag_name("title"))
            .filter_map(|n| n.text())
            .filter(|t| t.starts_with(nasty))
            .count();
        // the document's title and the point's tooltip
        assert_eq!(titles, 2, "{svg}");
    }
}
