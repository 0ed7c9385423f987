//! The sweep's Pareto plot (area per activation against SQNR) as SVG.

use super::compare::PeCost;
use askama::Template;

struct Tick {
    pos: i64,
    label: String,
}

struct Point {
    x: i64,
    y: i64,
    color: &'static str,
    label: String,
    detail: String,
    show_label: bool,
}

struct Legend {
    y: i64,
    color: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "synth/pareto.svg")]
struct Pareto {
    title: String,
    width: i64,
    height: i64,
    left: i64,
    right: i64,
    top: i64,
    bottom: i64,
    xticks: Vec<Tick>,
    yticks: Vec<Tick>,
    xlabel: &'static str,
    ylabel: &'static str,
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
    let y_of = |c: &PeCost| c.sqnr_db.unwrap_or(ymax - 1.0);
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
            front.push(format!("{},{}", px(xs[i]), py(y)));
        }
    }
    let points = costs
        .iter()
        .enumerate()
        .map(|(i, c)| Point {
            x: px(xs[i]),
            y: py(y_of(c)),
            color: color(c),
            label: c.label(),
            detail: format!(
                "{:.0} transistors per activation per cycle, SQNR {}",
                xs[i],
                c.sqnr_db.map_or("exact".into(), |s| format!("{s:.2} dB"))
            ),
            show_label: on_front[i] || c.sparq().is_none(),
        })
        .collect();
    let xticks = nice_ticks(xmin, xmax, 8)
        .into_iter()
        .map(|v| Tick {
            pos: px(v),
            label: format!("{v:.0}"),
        })
        .collect();
    let mut yticks: Vec<Tick> = nice_ticks(ymin, ymax - 2.0, 8)
        .into_iter()
        .map(|v| Tick {
            pos: py(v),
            label: format!("{v:.0}"),
        })
        .collect();
    yticks.push(Tick {
        pos: py(ymax - 1.0),
        label: "exact".into(),
    });
    Pareto {
        title: title.to_string(),
        width,
        height,
        left,
        right,
        top,
        bottom,
        xticks,
        yticks,
        xlabel: "transistors (Yosys CMOS estimate) per activation per cycle",
        ylabel: "GEMM SQNR vs exact int8 (dB)",
        front: front.join(" "),
        points,
        legend: COLORS
            .iter()
            .zip(0i64..)
            .map(|(&(color, label), i)| Legend {
                y: bottom - 70 + 16 * i,
                color,
                label,
            })
            .collect(),
    }
    .render()
    .expect("the Pareto template renders")
}
