//! GEMM operands: drawn from a [`GemmSpec`], given ([`Spec::Operands`]) or
//! read from the golden file, with the expected C from the model.

use super::rng::Rng;
use super::{ActDist, GemmSpec, MemberCtx, Spec, WgtDist};
use crate::arith::accumulate::reduced;
use crate::arith::{ArithError, MatI8, MatU8, Tensor};
use crate::sim::encode::Encoding;

/// A, B and expected C of one GEMM.
pub struct GemmData {
    pub a: MatU8,
    pub b: MatI8,
    pub c: Vec<i64>,
    pub bubbles: bool,
    pub seed: u64,
}

impl MemberCtx {
    /// A, B and the expected C (row-major, wrapped to the accumulator) of a
    /// GEMM or golden spec.
    pub fn gemm_data(&self, spec: &Spec) -> Result<GemmData, ArithError> {
        match spec {
            Spec::Gemm(g) => {
                let (a, b) = self.draw_gemm(g);
                let c = self.expected_gemm(&a, &b)?;
                Ok(GemmData {
                    a,
                    b,
                    c,
                    bubbles: g.bubbles,
                    seed: g.seed,
                })
            }
            Spec::Operands(g) => Ok(GemmData {
                a: g.a.clone(),
                b: g.b.clone(),
                c: self.expected_gemm(&g.a, &g.b)?,
                bubbles: false,
                seed: 0,
            }),
            Spec::Golden { index } => {
                let case = self
                    .golden
                    .as_ref()
                    .and_then(|c| c.get(*index))
                    // infallible: the planner attaches the cases to every golden spec
                    .expect("golden specs are only planned with their cases");
                let c = case
                    .c
                    .data
                    .iter()
                    .map(|&v| reduced(i64::from(v), self.acc()))
                    .collect();
                Ok(GemmData {
                    a: case.a.clone(),
                    b: case.b.clone(),
                    c,
                    bubbles: false,
                    seed: 0,
                })
            }
            _ => unreachable!("not a GEMM spec"),
        }
    }

    /// The model's C for A . B^T, in chunks of K the model accepts, summed
    /// exactly and wrapped to the accumulator as the hardware does.
    pub fn expected_gemm(&self, a: &MatU8, b: &MatI8) -> Result<Vec<i64>, ArithError> {
        let (m, k) = (a.shape[0], a.shape[1]);
        let n = b.shape[0];
        let chunk = 65_792usize; // a multiple of 4 and of 2 below the model's i32 limit
        let mut c = vec![0i64; m * n];
        let mut k0 = 0;
        while k0 < k.max(1) {
            let k1 = (k0 + chunk).min(k);
            let sub = |rows: usize, data: &dyn Fn(usize, usize) -> u8| -> Vec<u8> {
                (0..rows)
                    .flat_map(|i| (k0..k1).map(move |j| (i, j)))
                    .map(|(i, j)| data(i, j))
                    .collect()
            };
            let aa = Tensor::new(vec![m, k1 - k0], sub(m, &|i, j| a.data[i * k + j]));
            let bb = Tensor::new(
                vec![n, k1 - k0],
                sub(n, &|i, j| b.data[i * k + j] as u8)
                    .into_iter()
                    .map(|v| v as i8)
                    .collect(),
            );
            let part = self.wide.gemm(&aa, &bb)?;
            for (o, p) in c.iter_mut().zip(&part.data) {
                *o += i64::from(*p);
            }
            if k1 == k {
                break;
            }
            k0 = k1;
        }
        Ok(c.into_iter().map(|v| reduced(v, self.acc())).collect())
    }

    fn draw_gemm(&self, g: &GemmSpec) -> (MatU8, MatI8) {
        let mut r = Rng::new(g.seed);
        let act_max = self.enc.act_max();
        let a: Vec<u8> = (0..g.m * g.k)
            .map(|_| {
                if r.pct(u64::from(g.zeros)) {
                    return 0;
                }
                let v = match g.acts {
                    ActDist::Uniform => r.below(u64::from(act_max) + 1) as u32,
                    ActDist::ReluLike => {
                        // geometric-ish: mostly small, sometimes the top
                        let bits = 1 + r.below(8) as u32;
                        (r.next_u64() as u32 & ((1u32 << bits) - 1)).max(1)
                    }
                    ActDist::Const(c) => u32::from(c),
                };
                v.min(act_max) as u8
            })
            .collect();
        let mut b: Vec<i8> = (0..g.n * g.k)
            .map(|_| match g.wgts {
                WgtDist::Uniform => {
                    if r.pct(5) {
                        [-128, 127, 0][r.below(3) as usize]
                    } else {
                        r.next_u64() as u8 as i8
                    }
                }
                WgtDist::Const(c) => c,
            })
            .collect();
        if self.enc == Encoding::SparqStc {
            // prune every group of four to at most two survivors
            for row in b.chunks_mut(g.k) {
                for grp in row.chunks_mut(4) {
                    let keep = match g.wgts {
                        WgtDist::Const(_) => 2,
                        WgtDist::Uniform => [0usize, 1, 2, 2, 2][r.below(5) as usize],
                    };
                    let mut idx: Vec<usize> = (0..grp.len()).collect();
                    for i in (1..idx.len()).rev() {
                        idx.swap(i, r.below(i as u64 + 1) as usize);
                    }
                    for &i in idx.iter().skip(keep) {
                        grp[i] = 0;
                    }
                    if let WgtDist::Const(c) = g.wgts {
                        for &i in idx.iter().take(keep) {
                            grp[i] = c;
                        }
                    }
                }
            }
        }
        (
            Tensor::new(vec![g.m, g.k], a),
            Tensor::new(vec![g.n, g.k], b),
        )
    }
}
