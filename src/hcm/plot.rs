//! The roofline as SVG (`templates/hcm/roofline.svg`): log-log axes,
//! arithmetic intensity (BOPS per bit moved) against attainable BOPS/s, the
//! bandwidth roof and the compute roof of the hardware point, one point per
//! layer coloured by its verdict.
//!
//! A layer's compute roof in BOPS/s depends a little on the layer (the
//! accumulator term log2(n k^2) of BOPS per MAC); the drawn compute roof is
//! the array's peak at the network's average BOPS per MAC, which the
//! caption states. Points sit at (intensity, attainable BOPS/s).

use crate::hcm::{Report, Verdict};
use crate::svg::{px, Comment, Text};
use askama::Template;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 500.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 64.0;

pub struct Tick {
    pub pos: String,
    pub label: String,
}

pub struct Point {
    pub x: String,
    pub y: String,
    pub class: &'static str,
    pub title: Text,
}

#[derive(Template)]
#[template(path = "hcm/roofline.svg")]
struct RooflineSvg {
    /// The opening comment: what the file is and where it came from.
    comment: Comment,
    width: String,
    height: String,
    title: Text,
    subtitle: Text,
    caption: Text,
    plot_left: String,
    plot_right: String,
    plot_top: String,
    plot_bottom: String,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    x_label_x: String,
    x_label_y: String,
    y_label_x: String,
    y_label_y: String,
    /// Bandwidth roof from the left edge to the ridge, then compute roof.
    roof_points: String,
    ridge_x: String,
    ridge_label_x: String,
    ridge_label_y: String,
    ridge_label: Text,
    points: Vec<Point>,
    legend_x: String,
    legend_y: String,
}

/// Log-scale axis over whole decades covering `lo..=hi`.
struct Axis {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Axis {
    fn new(lo: f64, hi: f64, from: f64, to: f64) -> Axis {
        let lo = lo.log10().floor();
        let hi = hi.log10().ceil().max(lo + 1.0);
        Axis { lo, hi, from, to }
    }
    fn map(&self, v: f64) -> f64 {
        let t = (v.log10() - self.lo) / (self.hi - self.lo);
        self.from + t * (self.to - self.from)
    }
    fn ticks(&self, unit: f64) -> Vec<Tick> {
        (self.lo as i32..=self.hi as i32)
            .map(|e| Tick {
                pos: px(self.map(10f64.powi(e))),
                label: decade_label(10f64.powi(e) / unit),
            })
            .collect()
    }
}

fn decade_label(v: f64) -> String {
    if (1e-3..1e4).contains(&v) {
        let s = format!("{v}");
        s.trim_end_matches(".0").to_string()
    } else {
        format!("1e{}", v.log10().round() as i32)
    }
}

/// Render the report's roofline.
pub fn roofline_svg(r: &Report) -> Result<String, askama::Error> {
    let bw = r.hw.bandwidth_bits_per_s;
    let bops_per_mac = r.total.bops / r.total.macs as f64;
    let peak = r.total.peak_macs_per_s * bops_per_mac;
    let ridge = peak / bw;
    let xs: Vec<f64> = r.layers.iter().map(|l| l.perf.intensity).collect();
    let ys: Vec<f64> = r
        .layers
        .iter()
        .map(|l| l.perf.attainable_bops_per_s)
        .collect();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let x_lo = min(&xs).min(ridge) / 2.0;
    let x_hi = max(&xs).max(ridge) * 2.0;
    let y_hi = peak * 2.0;
    let y_lo = min(&ys).min(x_lo * bw) / 2.0;
    let (pl, pr, pt, pb) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    let xa = Axis::new(x_lo, x_hi, pl, pr);
    let ya = Axis::new(y_lo, y_hi, pb, pt);
    // the roof: bandwidth roof from where it enters the plot to the ridge,
    // then the compute roof to the right edge
    let y_bottom = 10f64.powf(ya.lo);
    let x_start = 10f64.powf(xa.lo).max(y_bottom / bw);
    let x_right = 10f64.powf(xa.hi);
    let roof_points = format!(
        "{},{} {},{} {},{}",
        px(xa.map(x_start)),
        px(ya.map(x_start * bw)),
        px(xa.map(ridge)),
        px(ya.map(peak)),
        px(xa.map(x_right)),
        px(ya.map(peak))
    );
    let points = r
        .layers
        .iter()
        .map(|l| Point {
            x: px(xa.map(l.perf.intensity)),
            y: px(ya.map(l.perf.attainable_bops_per_s)),
            class: match l.perf.verdict {
                Verdict::Compute => "compute",
                Verdict::Memory => "memory",
            },
            title: format!(
                "{}: {:.1} BOPS/bit, {:.2} GBOPS/s, {}, utilization {:.0}%",
                l.name,
                l.perf.intensity,
                l.perf.attainable_bops_per_s / 1e9,
                l.perf.verdict.word(),
                l.perf.utilization * 100.0
            )
            .into(),
        })
        .collect();
    let title = format!("{} on {}", r.network.name, r.hw.point.name);
    let source = match &r.design_hash {
        Some(h) => format!(
            "{} (design hash {h}, hw hash {})",
            r.array.source, r.hw.hash
        ),
        None => format!("{} (hw hash {})", r.array.source, r.hw.hash),
    };
    let svg = RooflineSvg {
        comment: format!(
            "HCM roofline of {title}: one point per layer. generated by sparqgen hcm from {source}, do not edit"
        )
        .into(),
        width: px(WIDTH),
        height: px(HEIGHT),
        title: title.into(),
        subtitle: format!(
            "{} x {}, {} MHz, {} Gbit/s, {} KiB buffer; {}",
            r.array.pe_count,
            r.array.pe.label,
            r.hw.point.clock_mhz,
            r.hw.point.bandwidth_gbit_s,
            r.hw.point.buffer_kib,
            r.array.source
        )
        .into(),
        caption: format!(
            "compute roof at the network's mean {bops_per_mac:.1} BOPS/MAC; {} of {} layers memory-bound",
            r.total.memory_bound_layers,
            r.layers.len()
        )
        .into(),
        plot_left: px(pl),
        plot_right: px(pr),
        plot_top: px(pt),
        plot_bottom: px(pb),
        x_ticks: xa.ticks(1.0),
        y_ticks: ya.ticks(1e9),
        x_label_x: px((pl + pr) / 2.0),
        x_label_y: px(HEIGHT - 22.0),
        y_label_x: px(20.0),
        y_label_y: px((pt + pb) / 2.0),
        roof_points,
        ridge_x: px(xa.map(ridge)),
        ridge_label_x: px(xa.map(ridge) + 4.0),
        ridge_label_y: px(ya.map(peak) - 6.0),
        ridge_label: format!("ridge {ridge:.1} BOPS/bit").into(),
        points,
        legend_x: px(pr - 170.0),
        legend_y: px(pb - 40.0),
    };
    svg.render()
}
