//! The HCM area model from our own synthesis: the paper's 3x3 reference PE
//! (`templates/hcm/pe3x3.v`: nine signed b x b products, each rescaled to
//! b + 1 bits, summed with a (b + 4)-bit accumulator; b-bit weight
//! registers) synthesized with Yosys for b = 2..=16, area (the `stat -tech
//! cmos` transistor estimate) fitted against b (quadratic) and against the
//! PE's BOPS (linear) by least squares.
//!
//! Results are cached by the hash of the templates, the flow and the Yosys
//! version, so reports do not re-synthesize (see [`cache_dir`]).

use crate::hash::hex_sha256;
use crate::output::{write_dir, DirOptions, FileSet};
use crate::synth::yosys::{self, YosysError};
use askama::Template;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Widths synthesized, as in the paper.
pub const BITS_MIN: u32 = 2;
pub const BITS_MAX: u32 = 16;

/// The paper's fits (TSMC 28 nm, 800 MHz, area in um^2): docs/hcm.md.
pub const PAPER: PaperFit = PaperFit {
    quad: Quadratic {
        a2: 12.39,
        a1: 86.07,
        a0: -14.02,
    },
    r2_bits: 0.999_987_7,
    line: Line {
        slope: 1.694,
        intercept: 153.46,
    },
    r2_bops: 0.998,
};

/// `A = a2 b^2 + a1 b + a0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quadratic {
    pub a2: f64,
    pub a1: f64,
    pub a0: f64,
}

impl Quadratic {
    pub fn at(&self, b: f64) -> f64 {
        self.a2 * b * b + self.a1 * b + self.a0
    }
}

/// `A = slope * BOPS + intercept`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub slope: f64,
    pub intercept: f64,
}

impl Line {
    pub fn at(&self, x: f64) -> f64 {
        self.slope * x + self.intercept
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PaperFit {
    pub quad: Quadratic,
    pub r2_bits: f64,
    pub line: Line,
    pub r2_bops: f64,
}

/// One synthesized width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitPoint {
    pub bits: u32,
    /// BOPS of the reference PE at this width ([`pe_bops`]).
    pub bops: f64,
    pub cells: u64,
    pub transistors: u64,
}

/// The fit and everything needed to reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub yosys: String,
    /// `hierarchical` (taps synthesized once, summed) or `flatten`.
    pub flow: String,
    pub gate_set: String,
    pub area_unit: String,
    /// Hash of the reference definition (templates + flow).
    pub reference_hash: String,
    pub points: Vec<FitPoint>,
    pub quad: Quadratic,
    pub r2_bits: f64,
    pub line: Line,
    pub r2_bops: f64,
    pub paper: PaperFit,
    /// A(16) / A(8): ours and the paper's quadratic (units cancel).
    pub ratio_16_8: f64,
    pub paper_ratio_16_8: f64,
    /// Wall time of the synthesis that produced these numbers.
    pub synth_seconds: f64,
    /// Where the cached copy lives, and whether this run read it.
    #[serde(default)]
    pub cache_path: String,
    #[serde(default)]
    pub cache_hit: bool,
}

impl FitReport {
    /// The area model the reports use: transistors of one multiplier slot
    /// (a ninth of the reference PE) at `ba x bw` bits, from the BOPS line.
    /// Clamped at 0: below the fitted range (b < 2) the line may dip under.
    pub fn slot_transistors(&self, ba: u32, bw: u32) -> f64 {
        (self.line.at(pe_bops(ba, bw)) / 9.0).max(0.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Yosys(#[from] YosysError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("{path}: {why}")]
    Cache { path: String, why: String },
    #[error("Yosys reported no transistor estimate for b = {bits} ({file})")]
    NoEstimate { bits: u32, file: String },
    #[error("Yosys warned while synthesizing the reference PE (it should not): {0}")]
    Warnings(String),
    #[error("cannot write {path}: {why}")]
    Output { path: String, why: String },
    #[error(transparent)]
    Out(#[from] crate::output::OutputError),
}

/// BOPS of the 3x3 reference PE (m = n = 1, k = 3) with `ba`-bit
/// activations and `bw`-bit weights: `9 (ba bw + ba + bw + log2 9)`.
pub fn pe_bops(ba: u32, bw: u32) -> f64 {
    crate::hcm::bops_per_mac(ba, bw, 9) * 9.0
}

#[derive(Template)]
#[template(path = "hcm/pe3x3.v")]
struct PeTemplate<'a> {
    hash: &'a str,
    taps: Vec<u32>,
}

#[derive(Template)]
#[template(path = "hcm/pe3x3_tap.v")]
struct TapTemplate<'a> {
    hash: &'a str,
}

#[derive(Template)]
#[template(path = "hcm/fit.ys")]
struct ScriptTemplate<'a> {
    hash: &'a str,
    widths: Vec<u32>,
    first: u32,
    last: u32,
    flatten: bool,
}

const PE_SRC: &str = include_str!("../../templates/hcm/pe3x3.v");
const TAP_SRC: &str = include_str!("../../templates/hcm/pe3x3_tap.v");
const SCRIPT_SRC: &str = include_str!("../../templates/hcm/fit.ys");

/// The hash of the reference definition: the three templates and the flow.
pub fn reference_hash(flatten: bool) -> String {
    hex_sha256(
        format!(
            "{PE_SRC}\0{TAP_SRC}\0{SCRIPT_SRC}\0flatten={flatten}\0bits={BITS_MIN}..={BITS_MAX}"
        )
        .as_bytes(),
    )
}

/// The Yosys script of one width (what `fit.ys` holds for every width).
fn width_script(flatten: bool, bits: u32) -> Result<String, FitError> {
    let full = reference_hash(flatten);
    Ok(ScriptTemplate {
        hash: &full[..12],
        widths: vec![bits],
        first: bits,
        last: bits,
        flatten,
    }
    .render()?)
}

/// The reference PE's files and the Yosys script, as a file set.
pub fn render(flatten: bool) -> Result<FileSet, FitError> {
    let full = reference_hash(flatten);
    let hash = &full[..12];
    let widths: Vec<u32> = (BITS_MIN..=BITS_MAX).collect();
    let mut set = FileSet::default();
    set.add(
        "hcm_pe3x3.v",
        PeTemplate {
            hash,
            taps: (0..9).collect(),
        }
        .render()?,
    );
    set.add("hcm_pe3x3_tap.v", TapTemplate { hash }.render()?);
    set.add(
        "fit.ys",
        ScriptTemplate {
            hash,
            widths,
            first: BITS_MIN,
            last: BITS_MAX,
            flatten,
        }
        .render()?,
    );
    Ok(set)
}

/// Where fits are cached: the `hcm-fit` folder of the sparqgen cache
/// ([`crate::cache::root`]: `$SPARQGEN_CACHE`, else
/// `$XDG_CACHE_HOME/sparqgen`, else `~/.cache/sparqgen`).
pub fn cache_dir() -> PathBuf {
    crate::cache::root().join("hcm-fit")
}

/// The cache file for this reference definition and Yosys version.
pub fn cache_path(dir: &Path, flatten: bool, yosys_version: &str) -> PathBuf {
    let key = hex_sha256(format!("{}\0{yosys_version}", reference_hash(flatten)).as_bytes());
    dir.join(format!("hcm-fit-{}.json", &key[..16]))
}

/// Options of a fit run.
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Synthesize each width flat (slower; the default keeps the nine taps
    /// as one submodule synthesized once).
    pub flatten: bool,
    /// Ignore a cached result (it is replaced).
    pub refresh: bool,
    /// Cache folder (default [`cache_dir`]).
    pub cache_dir: Option<PathBuf>,
    /// Also write the Verilog, script, stat files and fit.json here.
    pub out: Option<PathBuf>,
    /// Replace `out` even if sparqgen did not write it or it was changed.
    pub force: bool,
}

/// Whether [`fit`] would read the cache (false also when Yosys is missing).
pub fn is_cached(opts: &FitOptions) -> bool {
    let Ok(found) = yosys::find() else {
        return false;
    };
    let dir = opts.cache_dir.clone().unwrap_or_else(cache_dir);
    !opts.refresh && opts.out.is_none() && cache_path(&dir, opts.flatten, &found.version).exists()
}

/// The fit: from the cache when it holds one for this reference and Yosys
/// version (and `refresh` is off), else by synthesis (then cached).
pub fn fit(opts: &FitOptions) -> Result<FitReport, FitError> {
    let found = yosys::find()?;
    let dir = opts.cache_dir.clone().unwrap_or_else(cache_dir);
    let path = cache_path(&dir, opts.flatten, &found.version);
    if !opts.refresh && opts.out.is_none() {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(mut r) = serde_json::from_str::<FitReport>(&text) {
                if r.yosys == found.version && r.reference_hash == reference_hash(opts.flatten) {
                    r.cache_path = path.display().to_string();
                    r.cache_hit = true;
                    return Ok(r);
                }
            }
        }
    }
    let mut report = synthesize(opts, &found.version)?;
    report.cache_path = path.display().to_string();
    report.cache_hit = false;
    write_cache(&path, &report)?;
    Ok(report)
}

fn write_cache(path: &Path, report: &FitReport) -> Result<(), FitError> {
    let cache_err = |why: String| FitError::Cache {
        path: path.display().to_string(),
        why,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| cache_err(e.to_string()))?;
    // infallible: plain structs with string keys
    let text = serde_json::to_string_pretty(report).expect("a fit serializes");
    crate::output::write_file(path, text.as_bytes()).map_err(|e| cache_err(e.to_string()))
}

fn synthesize(opts: &FitOptions, yosys_version: &str) -> Result<FitReport, FitError> {
    if let Some(out) = &opts.out {
        crate::output::check_replaceable(out, &out_options(opts))?;
    }
    let set = render(opts.flatten)?;
    let (_tmp, work) = yosys::workdir(None)?;
    for (rel, text) in &set.files {
        let p = work.join(rel);
        std::fs::write(&p, text).map_err(|e| FitError::Output {
            path: p.display().to_string(),
            why: e.to_string(),
        })?;
    }
    // One Yosys process per width, in parallel: Yosys's object counter
    // survives `design -reset` and ABC's netlist depends on the names, so a
    // width synthesized after others would get an area that depends on them.
    // The processes are waited for on threads of their own, not on rayon's
    // global pool (see `synth::fanout`).
    let t = Instant::now();
    let widths: Vec<u32> = (BITS_MIN..=BITS_MAX).collect();
    let logs = crate::synth::fanout::run(&widths, |&b| -> Result<String, FitError> {
        let script = width_script(opts.flatten, b)?;
        Ok(yosys::run_script_as(
            &script,
            &work,
            &format!("fit_b{b}"),
            yosys::DEFAULT_TIMEOUT,
        )?)
    })?;
    let log = logs.concat();
    let synth_seconds = t.elapsed().as_secs_f64();
    let warns = yosys::warnings(&log);
    if !warns.is_empty() {
        return Err(FitError::Warnings(warns.join("; ")));
    }
    let mut points = Vec::new();
    let mut out_set = set.clone();
    for bits in BITS_MIN..=BITS_MAX {
        let file = work.join(format!("stat_b{bits}.json"));
        let text = std::fs::read_to_string(&file).map_err(|e| FitError::Output {
            path: file.display().to_string(),
            why: e.to_string(),
        })?;
        let stat = yosys::parse_stat_json(&text, &file.display().to_string())?;
        let transistors = match (stat.design.transistors, stat.design.transistors_exact) {
            (Some(t), true) => t,
            _ => {
                return Err(FitError::NoEstimate {
                    bits,
                    file: file.display().to_string(),
                })
            }
        };
        points.push(FitPoint {
            bits,
            bops: pe_bops(bits, bits),
            cells: stat.design.cells,
            transistors,
        });
        out_set.add(format!("stat_b{bits}.json"), text);
    }
    let report = fit_points(
        points,
        yosys_version,
        if opts.flatten {
            "flatten"
        } else {
            "hierarchical"
        },
        &reference_hash(opts.flatten),
        synth_seconds,
    );
    if let Some(out) = &opts.out {
        out_set.add("yosys.log", log);
        out_set.add(
            "fit.json",
            // infallible: plain structs with string keys
            serde_json::to_string_pretty(&report).expect("a fit serializes"),
        );
        write_dir(out, &out_set, &out_options(opts))?;
    }
    Ok(report)
}

fn out_options(opts: &FitOptions) -> DirOptions<'static> {
    DirOptions {
        force: opts.force,
        keep: &[],
    }
}

/// Fit the two models to synthesized points.
pub fn fit_points(
    points: Vec<FitPoint>,
    yosys_version: &str,
    flow: &str,
    reference_hash: &str,
    synth_seconds: f64,
) -> FitReport {
    let ys: Vec<f64> = points.iter().map(|p| p.transistors as f64).collect();
    let xq: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            let b = f64::from(p.bits);
            vec![b * b, b, 1.0]
        })
        .collect();
    let (cq, r2_bits) = least_squares(&xq, &ys);
    let xl: Vec<Vec<f64>> = points.iter().map(|p| vec![p.bops, 1.0]).collect();
    let (cl, r2_bops) = least_squares(&xl, &ys);
    let quad = Quadratic {
        a2: cq[0],
        a1: cq[1],
        a0: cq[2],
    };
    let at = |b: u32| {
        points
            .iter()
            .find(|p| p.bits == b)
            .map(|p| p.transistors as f64)
    };
    let ratio_16_8 = match (at(16), at(8)) {
        (Some(a), Some(b)) if b > 0.0 => a / b,
        _ => f64::NAN,
    };
    FitReport {
        yosys: yosys_version.to_string(),
        flow: flow.to_string(),
        gate_set: "NAND, NOR, NOT, AOI3, OAI3 (abc -g cmos3) and D flip-flops".to_string(),
        area_unit: "transistors (Yosys stat -tech cmos estimate)".to_string(),
        reference_hash: reference_hash.to_string(),
        points,
        quad,
        r2_bits,
        line: Line {
            slope: cl[0],
            intercept: cl[1],
        },
        r2_bops,
        paper: PAPER,
        ratio_16_8,
        paper_ratio_16_8: PAPER.quad.at(16.0) / PAPER.quad.at(8.0),
        synth_seconds,
        cache_path: String::new(),
        cache_hit: false,
    }
}

/// Ordinary least squares `y ~ X c` by the normal equations (X has a
/// handful of columns), and the coefficient of determination R^2.
pub fn least_squares(x: &[Vec<f64>], y: &[f64]) -> (Vec<f64>, f64) {
    let n = x.first().map_or(0, Vec::len);
    let mut a = vec![vec![0.0; n + 1]; n];
    for (row, &yv) in x.iter().zip(y) {
        for i in 0..n {
            for j in 0..n {
                a[i][j] += row[i] * row[j];
            }
            a[i][n] += row[i] * yv;
        }
    }
    // Gaussian elimination with partial pivoting on [X^T X | X^T y].
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
            .unwrap_or(col);
        a.swap(col, piv);
        let d = a[col][col];
        if d == 0.0 {
            continue;
        }
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / d;
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    let coef: Vec<f64> = (0..n)
        .map(|i| {
            if a[i][i] == 0.0 {
                0.0
            } else {
                a[i][n] / a[i][i]
            }
        })
        .collect();
    let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for (row, &yv) in x.iter().zip(y) {
        let pred: f64 = row.iter().zip(&coef).map(|(a, b)| a * b).sum();
        ss_res += (yv - pred) * (yv - pred);
        ss_tot += (yv - mean) * (yv - mean);
    }
    let r2 = if ss_tot == 0.0 {
        1.0
    } else {
        1.0 - ss_res / ss_tot
    };
    (coef, r2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_exact_polynomials() {
        let bs: Vec<f64> = (2..=16).map(f64::from).collect();
        let x: Vec<Vec<f64>> = bs.iter().map(|b| vec![b * b, *b, 1.0]).collect();
        let y: Vec<f64> = bs
            .iter()
            .map(|b| 12.39 * b * b + 86.07 * b - 14.02)
            .collect();
        let (c, r2) = least_squares(&x, &y);
        assert!(
            (c[0] - 12.39).abs() < 1e-9
                && (c[1] - 86.07).abs() < 1e-8
                && (c[2] + 14.02).abs() < 1e-7
        );
        assert!((r2 - 1.0).abs() < 1e-12);
        // noise lowers R^2
        let noisy: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 150.0 } else { -150.0 })
            .collect();
        let (_, r2n) = least_squares(&x, &noisy);
        assert!(r2n < 0.9999 && r2n > 0.9, "{r2n}");
    }

    #[test]
    fn pe_bops_matches_the_formula() {
        // m = n = 1, k = 3: 9 (b^2 + 2b + log2 9)
        let b = 8.0f64;
        assert!((pe_bops(8, 8) - 9.0 * (b * b + 2.0 * b + 9f64.log2())).abs() < 1e-9);
    }

    #[test]
    fn rendered_files_carry_the_header() {
        let set = render(false).unwrap();
        let pe = String::from_utf8(set.get("hcm_pe3x3.v").unwrap().to_vec()).unwrap();
        assert!(
            pe.lines().nth(1).unwrap().contains("generated by sparqgen"),
            "{pe}"
        );
        assert!(pe.contains("u_tap_8"));
        let ys = String::from_utf8(set.get("fit.ys").unwrap().to_vec()).unwrap();
        assert_eq!(ys.matches("chparam -set Bits").count(), 15);
        assert!(ys.contains("tee -q -o stat_b16.json"));
    }
}
