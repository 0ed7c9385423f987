//! The roofline as SVG (`templates/hcm/roofline.svg`): log-log axes,
//! arithmetic intensity (BOPS per bit moved) against attainable BOPS/s, the
//! bandwidth roof and the compute roof of the hardware point, one point per
//! layer coloured by its verdict.
//!
//! A layer's compute roof in BOPS/s depends a little on the layer (the
//! accumulator term log2(n k^2) of BOPS per MAC); the drawn compute roof is
//! the array's peak at the network's average BOPS per MAC, which the
//! caption states. Points sit at (intensity, attainable BOPS/s).
//!
//! Every text stays inside the picture and no two overlap: the headings
//! shrink to the width they have ([`fit`]), and the ridge label and the
//! layer names go where [`Placer`] finds room. Layers at the same point
//! share one name ("layer1.0.conv1 +3"); every memory-bound point and every
//! outlier is named, the other compute-bound points where there is room.
//! Layers whose circles overlap count as one point.

use crate::hcm::{LayerReport, Report, Verdict};
use crate::svg::{fit, px, text_width, Comment, Placer, Rect, Text, BOLD, RINGS};
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

/// A point's name where [`Placer`] put it, with its leader line if any.
pub struct Label {
    pub x: String,
    pub y: String,
    pub text: Text,
    pub leader: Option<[String; 4]>,
}

/// Sizes of the texts, in px.
const TITLE_SIZE: f64 = 15.0;
const SUBTITLE_SIZE: f64 = 12.0;
const CAPTION_SIZE: f64 = 11.0;
const LABEL_SIZE: f64 = 11.0;
const POINT_R: f64 = 4.5;

#[derive(Template)]
#[template(path = "hcm/roofline.svg")]
struct RooflineSvg {
    /// The opening comment: what the file is and where it came from.
    comment: Comment,
    width: String,
    height: String,
    title: Text,
    title_size: String,
    subtitle: Text,
    subtitle_size: String,
    caption: Text,
    caption_size: String,
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
    /// The ridge's value, beside the ridge where there is room.
    ridge_label: Option<Label>,
    label_size: String,
    points: Vec<Point>,
    labels: Vec<Label>,
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
    let points: Vec<Point> = r
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
    // headings: from the plot's left edge to the picture's right edge
    let room = WIDTH - pl - 8.0;
    // the title is bold
    let (title_text, title_size) = fit(&title, TITLE_SIZE, 9.0, room / BOLD);
    let subtitle = format!(
        "{} x {}, {} MHz, {} Gbit/s, {} KiB buffer; {}",
        r.array.pe_count,
        r.array.pe.label,
        r.hw.point.clock_mhz,
        r.hw.point.bandwidth_gbit_s,
        r.hw.point.buffer_kib,
        r.array.source
    );
    let (subtitle, subtitle_size) = fit(&subtitle, SUBTITLE_SIZE, 8.0, room);
    let clusters = clusters(r, &points);
    let shared = clusters.iter().any(|c| c.len() > 1);
    let caption = format!(
        "compute roof at the network's mean {bops_per_mac:.1} BOPS/MAC; {} of {} layers memory-bound{}",
        r.total.memory_bound_layers,
        r.layers.len(),
        if shared { "; +N: N more layers at (nearly) the same point" } else { "" }
    );
    let (caption, caption_size) = fit(&caption, CAPTION_SIZE, 8.0, room);
    let (legend_x, legend_y) = (pr - 170.0, pb - 40.0);
    let mut placer = Placer::new(Rect::new(pl + 2.0, pt + 2.0, pr - 2.0, pb - 2.0));
    for p in &points {
        placer.block(Rect::around(num(&p.x), num(&p.y), POINT_R + 1.0));
    }
    let legend_w = 10.0 + text_width("compute-bound", 12.0);
    placer.block(Rect::new(
        legend_x - 8.0,
        legend_y - 12.0,
        legend_x + legend_w + 4.0,
        legend_y + 30.0,
    ));
    let roof: Vec<(f64, f64)> = [(x_start, x_start * bw), (ridge, peak), (x_right, peak)]
        .iter()
        .map(|&(x, y)| (xa.map(x), ya.map(y)))
        .collect();
    for w in roof.windows(2) {
        placer.avoid_line(w[0].0, w[0].1, w[1].0, w[1].1);
    }
    placer.avoid_line(xa.map(ridge), pt, xa.map(ridge), pb);
    let ridge_label = placer
        .place(
            &format!("ridge {ridge:.1} BOPS/bit"),
            LABEL_SIZE,
            (xa.map(ridge), pt + 8.0, 0.0),
            RINGS,
        )
        .map(|p| label(p, format!("ridge {ridge:.1} BOPS/bit")));
    let mut labels = Vec::new();
    for (c, must) in order(r, &clusters) {
        let first = &r.layers[c[0]];
        let text = match c.len() {
            1 => first.name.clone(),
            n => format!("{} +{}", first.name, n - 1),
        };
        let (x, y) = (num(&points[c[0]].x), num(&points[c[0]].y));
        // the other points are named only where a name fits beside them
        let reach = if must { RINGS } else { 2 };
        if let Some(p) = placer.place(&text, LABEL_SIZE, (x, y, POINT_R), reach) {
            labels.push(label(p, text));
        }
    }
    let svg = RooflineSvg {
        comment: format!(
            "HCM roofline of {title}: one point per layer. generated by sparqgen hcm from {source}, do not edit"
        )
        .into(),
        width: px(WIDTH),
        height: px(HEIGHT),
        title: title_text.into(),
        title_size: px(title_size),
        subtitle: subtitle.into(),
        subtitle_size: px(subtitle_size),
        caption: caption.into(),
        caption_size: px(caption_size),
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
        ridge_label,
        label_size: px(LABEL_SIZE),
        points,
        labels,
        legend_x: px(legend_x),
        legend_y: px(legend_y),
    };
    svg.render()
}

/// A coordinate back from its printed form (labels sit where the points
/// are drawn, to the printed tenth).
fn num(s: &str) -> f64 {
    s.parse().unwrap_or(0.0)
}

fn label(p: crate::svg::Placed, text: String) -> Label {
    Label {
        x: px(p.x),
        y: px(p.y),
        text: text.into(),
        leader: p.leader.map(|l| l.map(px)),
    }
}

/// Layers drawn at (nearly) the same spot, their circles overlapping, in
/// layer order, each group in order of its first layer.
fn clusters(r: &Report, points: &[Point]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let at = |j: usize| (num(&points[j].x), num(&points[j].y));
    for i in 0..r.layers.len() {
        let (x, y) = at(i);
        let near = |c: &&mut Vec<usize>| {
            let (cx, cy) = at(c[0]);
            (x - cx).hypot(y - cy) < POINT_R
        };
        match out.iter_mut().find(near) {
            Some(c) => c.push(i),
            None => out.push(vec![i]),
        }
    }
    out
}

/// Whether a layer stands out: the lowest or highest intensity or the
/// lowest attainable throughput of the network, or a utilization under three
/// quarters of the best layer's.
fn outlier(l: &LayerReport, r: &Report) -> bool {
    let all = |f: fn(&LayerReport) -> f64| {
        let v = r.layers.iter().map(f);
        (
            v.clone().fold(f64::INFINITY, f64::min),
            v.fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let (ilo, ihi) = all(|l| l.perf.intensity);
    let (alo, _) = all(|l| l.perf.attainable_bops_per_s);
    let (_, uhi) = all(|l| l.perf.utilization);
    let v = [l.perf.intensity, l.perf.attainable_bops_per_s];
    v[0] == ilo || v[0] == ihi || v[1] == alo || l.perf.utilization < 0.75 * uhi
}

/// The order labels are placed in, with whether the point must be named:
/// memory-bound points and outliers first, then the rest; left to right
/// within each.
fn order<'a>(r: &Report, clusters: &'a [Vec<usize>]) -> Vec<(&'a Vec<usize>, bool)> {
    let must = |c: &Vec<usize>| {
        c.iter().any(|&i| {
            let l = &r.layers[i];
            l.perf.verdict == Verdict::Memory || outlier(l, r)
        })
    };
    let mut v: Vec<(&Vec<usize>, bool)> = clusters.iter().map(|c| (c, must(c))).collect();
    v.sort_by(|(a, ma), (b, mb)| {
        mb.cmp(ma).then(
            r.layers[a[0]]
                .perf
                .intensity
                .total_cmp(&r.layers[b[0]].perf.intensity),
        )
    });
    v
}
