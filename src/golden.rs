//! Readers for the reference vectors in the format of `golden/`
//! (produced by the SPARQ authors' CUDA kernel): pair tables and GEMM cases.

use crate::arith::{MatI32, MatI8, MatU8, Tensor};
use crate::config::{PlacementSet, Rounding, SparqArith};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The golden folder: `$SPARQGEN_GOLDEN`, else the repository's own
/// `golden/` (see `golden/README.md` for where the vectors came from).
pub fn default_dir() -> PathBuf {
    crate::settings::get()
        .golden
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("golden"))
}

/// The configuration block of a golden file.
#[derive(Debug, Clone, Deserialize)]
pub struct GoldenConfig {
    pub window_bits: u32,
    pub placements: u32,
    pub rounding: String,
    #[serde(default)]
    pub stc_2of4: bool,
    /// Absent in the reference kernel's files (which always share pairs);
    /// `false` states a bSPARQ-only case (written by `sparqgen prove`).
    #[serde(default = "yes")]
    pub pair_sharing: bool,
}

fn yes() -> bool {
    true
}

impl GoldenConfig {
    /// The SPARQ arithmetic this block describes (the reference kernel always
    /// shares pairs; `pair_sharing: false` says otherwise).
    pub fn arith(&self) -> Result<SparqArith> {
        let placements = PlacementSet::from_fields(self.window_bits, self.placements)
            .with_context(|| {
                format!(
                    "golden config window_bits {} placements {} is not a SPARQ placement set",
                    self.window_bits, self.placements
                )
            })?;
        let rounding = match self.rounding.as_str() {
            "truncate" => Rounding::Truncate,
            "round_half_even" => Rounding::RoundHalfEven,
            other => bail!("golden config rounding {other:?} is not truncate or round_half_even"),
        };
        Ok(SparqArith {
            placements,
            rounding,
            pair_sharing: self.pair_sharing,
            stc: self.stc_2of4,
        })
    }
}

/// A pair table: `h1[i]`, `h2[i]` for `i = a1 * 256 + a2`.
#[derive(Debug, Deserialize)]
pub struct PairFile {
    pub config: GoldenConfig,
    pub h1: Vec<u16>,
    pub h2: Vec<u16>,
}

/// One GEMM case: `C = A . B^T`.
#[derive(Debug, Deserialize)]
struct RawCase {
    config: GoldenConfig,
    #[serde(rename = "A")]
    a: Vec<Vec<i64>>,
    #[serde(rename = "B")]
    b: Vec<Vec<i64>>,
    #[serde(rename = "C")]
    c: Vec<Vec<i64>>,
}

#[derive(Debug, Deserialize)]
struct RawCases {
    cases: Vec<RawCase>,
}

/// A validated GEMM case.
#[derive(Debug, Clone)]
pub struct GemmCase {
    pub index: usize,
    pub config: GoldenConfig,
    pub arith: SparqArith,
    pub a: MatU8,
    pub b: MatI8,
    pub c: MatI32,
}

fn matrix<T>(
    rows: &[Vec<i64>],
    what: &str,
    range: std::ops::RangeInclusive<i64>,
    conv: impl Fn(i64) -> T,
) -> Result<Tensor<T>> {
    let cols = rows.first().map_or(0, |r| r.len());
    let mut data = Vec::with_capacity(rows.len() * cols);
    for (i, r) in rows.iter().enumerate() {
        if r.len() != cols {
            bail!("{what} row {i} has {} entries, row 0 has {cols}", r.len());
        }
        for (j, &v) in r.iter().enumerate() {
            if !range.contains(&v) {
                bail!("{what}[{i}][{j}] = {v} is out of range {range:?}");
            }
            data.push(conv(v));
        }
    }
    Ok(Tensor::new(vec![rows.len(), cols], data))
}

/// Read a pair-table file.
pub fn read_pairs(path: &Path) -> Result<PairFile> {
    let text =
        crate::input::read_text(path).with_context(|| format!("cannot read {}", path.display()))?;
    let f: PairFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a golden pair file", path.display()))?;
    if f.h1.len() != 65536 || f.h2.len() != 65536 {
        bail!("{}: h1/h2 must hold 65536 entries", path.display());
    }
    Ok(f)
}

/// Read a file of GEMM cases (the format of `gemm_cases.json`).
pub fn read_gemm_cases(path: &Path) -> Result<Vec<GemmCase>> {
    let text =
        crate::input::read_text(path).with_context(|| format!("cannot read {}", path.display()))?;
    let raw: RawCases = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a GEMM case file (expected {{\"cases\": [{{config, A, B, C}}]}})",
            path.display()
        )
    })?;
    raw.cases
        .into_iter()
        .enumerate()
        .map(|(index, rc)| {
            let ctx = || format!("{} case {index}", path.display());
            let arith = rc.config.arith().with_context(ctx)?;
            let a = matrix(&rc.a, "A", 0..=255, |v| v as u8).with_context(ctx)?;
            let b = matrix(&rc.b, "B", -128..=127, |v| v as i8).with_context(ctx)?;
            let c = matrix(&rc.c, "C", i32::MIN as i64..=i32::MAX as i64, |v| v as i32)
                .with_context(ctx)?;
            if a.shape[1] != b.shape[1] || c.shape != [a.shape[0], b.shape[0]] {
                bail!(
                    "{}: shapes A {:?}, B {:?}, C {:?} do not fit C = A . B^T",
                    ctx(),
                    a.shape,
                    b.shape,
                    c.shape
                );
            }
            Ok(GemmCase {
                index,
                config: rc.config,
                arith,
                a,
                b,
                c,
            })
        })
        .collect()
}
