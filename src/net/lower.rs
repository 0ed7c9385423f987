//! A MAC layer (Conv with any groups, Gemm, MatMul, and their QLinear
//! forms) lowered to integer GEMMs `C = A . B^T`, one per group: A is the
//! uint8 im2col of the activations (channel-innermost K order, padding
//! reads the activation zero point, as SPARQ.md's conv lowering), B the
//! int8 weights as `N x K`. Any engine that computes those GEMMs (the
//! bit-exact model, or generated hardware) plugs in through [`MacEngine`];
//! [`MacLayer::finish`] then applies the zero-point correction and the
//! bias as integer hardware does: `acc = sum(a * w) - zp_a * sum(w) + bias`.

use super::profile::Profile;
use crate::arith::{MatI32, MatI8, MatU8, Tensor};
use rayon::prelude::*;
use std::time::Instant;

/// The geometry of a MAC layer.
#[derive(Debug, Clone, PartialEq)]
pub enum MacKind {
    /// 2-D convolution: kernel, strides, pads `[top, left, bottom, right]`, groups.
    Conv {
        kh: usize,
        kw: usize,
        stride: [usize; 2],
        pads: [usize; 4],
        groups: usize,
    },
    /// A fully connected layer on `M x K` inputs.
    Dense,
}

/// One MAC layer, weights ready for the GEMMs.
#[derive(Debug, Clone)]
pub struct MacLayer {
    pub name: String,
    pub op: String,
    pub kind: MacKind,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Per group: `O/groups x K` weights, K in im2col order.
    pub weights: Vec<MatI8>,
    /// Per output channel: the int32 bias (0 without one).
    pub bias: Vec<i32>,
    /// Per output channel: the weight scale.
    pub w_scale: Vec<f32>,
}

/// Whatever computes a layer's GEMMs.
pub trait MacEngine {
    /// `C = A . B^T` for group `group` of `layer`.
    fn gemm(
        &mut self,
        layer_index: usize,
        layer: &MacLayer,
        group: usize,
        a: &MatU8,
        b: &MatI8,
    ) -> anyhow::Result<MatI32>;

    /// The layer's uint8 input before lowering (for engines that record
    /// it), `N x C x H x W`; called only when [`MacEngine::records_inputs`].
    fn input(&mut self, _layer_index: usize, _x: &Tensor<u8>) {}

    /// A run of plan `plan_id` starts (`Some`) or ends (`None`): in
    /// between, every GEMM of layer `i`, group `g` comes with the same
    /// weights as before in that plan (plans are read-only once imported),
    /// so an engine may trust weights it checked once in the same plan.
    fn begin_plan(&mut self, _plan_id: Option<u64>) {}

    /// Whether [`MacEngine::input`] wants the inputs (the runner then puts
    /// them into channel planes first).
    fn records_inputs(&self) -> bool {
        false
    }

    /// [`MacEngine::gemm`] of A given by blocks of rows: `rows.fill`
    /// writes A's rows, `rows.sink` takes C's (both may be called from
    /// parallel tasks, for disjoint rows). An engine that can works a
    /// block at a time, so each block's A and C stay in cache between
    /// the lowering, the GEMM and the requantization; this default makes
    /// all of A and runs one [`MacEngine::gemm`].
    fn gemm_rows(
        &mut self,
        layer_index: usize,
        layer: &MacLayer,
        group: usize,
        b: &MatI8,
        rows: &RowBlocks,
    ) -> anyhow::Result<()> {
        let (m, k) = (rows.m, rows.k);
        let mut a = vec![0u8; m * k];
        a.par_chunks_mut(64 * k.max(1))
            .enumerate()
            .for_each(|(i, blk)| (rows.fill)(64 * i, blk));
        let c = self.gemm(layer_index, layer, group, &Tensor::new(vec![m, k], a), b)?;
        (rows.sink)(0, &c.data);
        Ok(())
    }
}

/// The A and C of one GEMM `M x K . (N x K)^T` as blocks of rows (see
/// [`MacEngine::gemm_rows`]).
pub struct RowBlocks<'a> {
    pub m: usize,
    pub k: usize,
    /// `fill(r0, buf)`: write rows `r0..r0 + buf.len() / k` of A into `buf`.
    pub fill: &'a (dyn Fn(usize, &mut [u8]) + Sync),
    /// `sink(r0, c)`: C's rows from `r0` on (`c.len() / N` of them).
    pub sink: &'a (dyn Fn(usize, &[i32]) + Sync),
}

/// Rows per block of [`MacEngine::gemm_rows`] for an `m x k . (n x k)^T`
/// GEMM on `threads` threads: a block's A (`k` bytes a row) and C (`4n`)
/// within about a third of a core's L2; within that, four blocks per
/// thread when M allows (so lowering and requantization overlap the
/// other blocks' GEMMs), but at least 2^21 MACs a block (a few
/// microseconds: a small layer's blocks would cost more in task
/// dispatch than in arithmetic) as long as each thread still gets two
/// blocks (the lowering and requantization run inside the blocks); a
/// multiple of 6 (the GEMM's tile height).
pub fn block_rows(m: usize, k: usize, n: usize, threads: usize) -> usize {
    const BUDGET: usize = 384 << 10;
    const LEAST_MACS: usize = 1 << 21;
    let fit = BUDGET / (k + 4 * n).max(1);
    let spread = m.div_ceil(4 * threads.max(1));
    let least = LEAST_MACS
        .div_ceil((k * n).max(1))
        .min(m.div_ceil(2 * threads.max(1)));
    (fit.min(spread.max(least)).div_ceil(6) * 6).clamp(6, m.max(6))
}

/// A layer's GEMM inputs for one batch.
pub struct Lowered {
    /// Per group: `M x K` activations.
    pub a: Vec<MatU8>,
    /// Output shape: `N x O x H_out x W_out` or `N x O`.
    pub out_shape: Vec<usize>,
}

impl MacLayer {
    pub fn groups(&self) -> usize {
        match self.kind {
            MacKind::Conv { groups, .. } => groups,
            MacKind::Dense => 1,
        }
    }

    /// The reduction length of one output.
    pub fn k(&self) -> usize {
        self.weights[0].shape[1]
    }

    /// Output spatial size for an input of `h x w`.
    pub fn out_hw(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        match self.kind {
            MacKind::Conv {
                kh,
                kw,
                stride,
                pads,
                ..
            } => {
                let hp = h + pads[0] + pads[2];
                let wp = w + pads[1] + pads[3];
                if hp < kh || wp < kw {
                    return None;
                }
                Some(((hp - kh) / stride[0] + 1, (wp - kw) / stride[1] + 1))
            }
            MacKind::Dense => Some((1, 1)),
        }
    }

    /// MACs per image for an input of `h x w`.
    pub fn macs_per_image(&self, h: usize, w: usize) -> u64 {
        let (ho, wo) = self.out_hw(h, w).unwrap_or((0, 0));
        (ho * wo * self.k() * self.out_channels) as u64
    }

    /// The im2col of `x` (`N x C x H x W`, or `N x K` for a dense layer):
    /// one `M x K` matrix per group, `M = N * H_out * W_out`, pad value `zp`.
    pub fn lower(&self, x: &Tensor<u8>, zp: u8) -> Lowered {
        self.lower_from(x, false, zp)
    }

    /// [`MacLayer::lower`] of `x`, whose data runs `N x H x W x C` when
    /// `nhwc` (its shape stays the logical `N x C x H x W`): every tap is
    /// then a contiguous run of the input, copied as it is.
    pub fn lower_from(&self, x: &Tensor<u8>, nhwc: bool, zp: u8) -> Lowered {
        match self.kind {
            MacKind::Dense => Lowered {
                a: vec![x.clone()],
                out_shape: vec![x.shape[0], self.out_channels],
            },
            MacKind::Conv {
                kh,
                kw,
                stride,
                pads,
                groups,
            } => {
                let [n, c, h, w] = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
                // one channel, or one pixel: the planes already are N x H x W x C
                let nhwc = nhwc || c == 1 || h * w == 1;
                // infallible: plan::build checked this layer's output shape at import
                let (ho, wo) = self.out_hw(h, w).expect("shape checked by the caller");
                let cg = c / groups;
                let k = kh * kw * cg;
                let mut out = Vec::with_capacity(groups);
                for g in 0..groups {
                    // the source: pixels of `pc` channels, the group's `cg`
                    // at offset `off` of each
                    let staged;
                    let (src, pc, off): (&[u8], usize, usize) = if nhwc {
                        (&x.data, c, g * cg)
                    } else {
                        // the group's channels innermost (N x H x W x cg),
                        // once: every tap of a row is then one contiguous copy
                        let mut xt = vec![0u8; n * h * w * cg];
                        xt.par_chunks_mut(w * cg).enumerate().for_each(|(r, line)| {
                            let (b, y) = (r / h, r % h);
                            let img =
                                &x.data[(b * c + g * cg) * h * w..(b * c + (g + 1) * cg) * h * w];
                            for (ci, plane) in img.chunks(h * w).enumerate() {
                                for (xx, &v) in plane[y * w..(y + 1) * w].iter().enumerate() {
                                    line[xx * cg + ci] = v;
                                }
                            }
                        });
                        staged = xt;
                        (&staged, cg, 0)
                    };
                    let geo = Im2col {
                        h,
                        w,
                        ho,
                        wo,
                        kh,
                        kw,
                        cg,
                        pc,
                        off,
                        stride,
                        pads,
                        zp,
                    };
                    let mut a = scratch::take(n * ho * wo * k);
                    a.truncate(n * ho * wo * k);
                    a.par_chunks_mut(k)
                        .enumerate()
                        .for_each(|(r, row)| geo.row(src, r, row));
                    out.push(Tensor::new(vec![n * ho * wo, k], a));
                }
                Lowered {
                    a: out,
                    out_shape: vec![n, self.out_channels, ho, wo],
                }
            }
        }
    }

    /// Assemble the groups' GEMM results into the layer's accumulator
    /// (`N x O [x H_out x W_out]`): subtract `zp * sum(w)` per output
    /// channel, add the bias.
    pub fn finish(&self, c: &[MatI32], zp: i32, out_shape: &[usize]) -> Tensor<i32> {
        let og = self.out_channels / self.groups();
        let n = out_shape[0];
        let spatial: usize = out_shape[2..].iter().product();
        let mut y = vec![0i32; n * self.out_channels * spatial];
        let add = self.addends(zp);
        // one task per image and block of 16 output channel planes: each
        // row of C is read once, 16 contiguous values
        let sp = spatial.max(1);
        y.par_chunks_mut(self.out_channels * sp)
            .enumerate()
            .for_each(|(b, img)| {
                img.par_chunks_mut(16 * sp)
                    .enumerate()
                    .for_each(|(blk, dst)| {
                        let oc0 = 16 * blk;
                        let nch = dst.len() / sp;
                        // per channel of the block: its group's C, column, addend
                        let src: Vec<(&[i32], usize, usize, i32)> = (oc0..oc0 + nch)
                            .map(|oc| {
                                let cg = &c[oc / og];
                                (&cg.data[..], cg.shape[1], oc % og, add[oc])
                            })
                            .collect();
                        for p in 0..sp {
                            let row = b * sp + p;
                            for (t, &(data, cols, o, a)) in src.iter().enumerate() {
                                dst[t * sp + p] = data[row * cols + o].wrapping_add(a);
                            }
                        }
                    });
            });
        Tensor::new(out_shape.to_vec(), y)
    }

    /// Per output channel: the bias minus `zp * sum(w)` (wrapping, as the
    /// int32 hardware does).
    fn addends(&self, zp: i32) -> Vec<i32> {
        self.addends_from(&self.weight_sums(), zp)
    }

    /// Each output channel's weight sum (what [`MacLayer::finish`]
    /// subtracts `zp` times); compute once per layer.
    pub fn weight_sums(&self) -> Vec<i32> {
        let og = self.out_channels / self.groups();
        (0..self.out_channels)
            .map(|oc| {
                self.weights[oc / og]
                    .row(oc % og)
                    .iter()
                    .map(|&v| i32::from(v))
                    .sum()
            })
            .collect()
    }

    /// Per output channel: the bias minus `zp * sums[oc]` (wrapping).
    pub fn addends_from(&self, sums: &[i32], zp: i32) -> Vec<i32> {
        self.bias
            .iter()
            .zip(sums)
            .map(|(&b, &w)| b.wrapping_sub(zp.wrapping_mul(w)))
            .collect()
    }

    /// [`MacLayer::finish`] and the requantization of
    /// [`super::value::AccTensor::requantize`] in one pass, straight from
    /// the GEMM results to uint8 codes: per output channel `oc`,
    /// `requant(c + add[oc], mult[oc], y_zp)` (`add` from
    /// [`MacLayer::addends_from`]). Bit for bit the two steps (the same
    /// integer sum, f32 product and rounding), without the int32 tensor
    /// between them. The codes come out as the GEMM rows are, one output
    /// pixel's channels after another (`N x H_out x W_out x O`, see
    /// [`super::value::Value::QuantNhwc`]; for a dense layer the `N x O`
    /// matrix itself): each row is one loop that vectorizes, rows in
    /// parallel blocks.
    pub fn finish_requant_nhwc(
        &self,
        c: &[MatI32],
        add: &[i32],
        out_shape: &[usize],
        mult: &[f32],
        y_zp: i32,
    ) -> Tensor<u8> {
        const ROWS: usize = 32;
        debug_assert!(mult.iter().all(|m| fast_mult(*m)));
        let oc_n = self.out_channels;
        let og = oc_n / self.groups();
        let sp: usize = out_shape[2..].iter().product::<usize>().max(1);
        let mut y = vec![0u8; out_shape[0] * sp * oc_n];
        let zf = y_zp as f32;
        y.par_chunks_mut(ROWS * oc_n)
            .enumerate()
            .for_each(|(blk, dst)| {
                for (r, line) in dst.chunks_mut(oc_n).enumerate() {
                    let row = blk * ROWS + r;
                    for (g, cg) in c.iter().enumerate() {
                        let src = &cg.data[row * og..(row + 1) * og];
                        let at = g * og;
                        let (d, a, m) = (
                            &mut line[at..at + og],
                            &add[at..at + og],
                            &mult[at..at + og],
                        );
                        requant_row(d, src, a, m, zf);
                    }
                }
            });
        Tensor::new(out_shape.to_vec(), y)
    }

    /// Whether [`MacLayer::run_requant_nhwc`] takes `x`: a convolution's
    /// (logical) `N x C x H x W` input.
    pub fn fuses(&self, x: &Tensor<u8>) -> bool {
        matches!(self.kind, MacKind::Conv { .. }) && x.shape.len() == 4
    }

    /// The layer from its input to its uint8 output in one pass over
    /// blocks of output pixels (see [`MacEngine::gemm_rows`]): each
    /// block's im2col rows are made, multiplied and requantized
    /// (`requant(c + add[oc], mult[oc], y_zp)`, the codes of
    /// [`MacLayer::finish_requant_nhwc`]) while they are in cache, the
    /// codes written `N x H_out x W_out x O`. `x`'s data runs
    /// `N x H x W x C` when `nhwc` (else it is put so first). Only for
    /// inputs [`MacLayer::fuses`] takes; `mult` passed [`fast_mult`] and
    /// `y_zp` is in 0..=255.
    #[allow(clippy::too_many_arguments)]
    pub fn run_requant_nhwc(
        &self,
        index: usize,
        x: &Tensor<u8>,
        nhwc: bool,
        zp: u8,
        engine: &mut dyn MacEngine,
        add: &[i32],
        mult: &[f32],
        y_zp: i32,
    ) -> anyhow::Result<Tensor<u8>> {
        let MacKind::Conv {
            kh,
            kw,
            stride,
            pads,
            groups,
        } = self.kind
        else {
            anyhow::bail!("internal: layer {:?} is not a convolution", self.name);
        };
        debug_assert!(mult.iter().all(|m| fast_mult(*m)));
        let [n, c, h, w] = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
        // infallible: plan::build checked this layer's output shape at import
        let (ho, wo) = self.out_hw(h, w).expect("shape checked by the caller");
        // channel planes (of more than one channel and pixel) to pixels
        let staged;
        let x = if nhwc || c == 1 || h * w == 1 {
            x
        } else {
            staged = super::value::QTensor {
                t: x.clone(),
                scale: 1.0,
                zp: 0,
            }
            .to_nhwc()
            .t;
            &staged
        };
        let (cg, oc_n) = (c / groups, self.out_channels);
        let og = oc_n / groups;
        let (m, k) = (n * ho * wo, kh * kw * cg);
        let mut y = vec![0u8; m * oc_n];
        let out = SyncBytes(y.as_mut_ptr(), y.len());
        let zf = y_zp as f32;
        for g in 0..groups {
            let geo = Im2col {
                h,
                w,
                ho,
                wo,
                kh,
                kw,
                cg,
                pc: c,
                off: g * cg,
                stride,
                pads,
                zp,
            };
            let fill = |r0: usize, buf: &mut [u8]| geo.rows(&x.data, r0, buf, k);
            let (add, mult) = (&add[g * og..(g + 1) * og], &mult[g * og..(g + 1) * og]);
            // SAFETY (of the sink's writes): row r of the output holds
            // oc_n codes, of which this group writes its og; every row of
            // every group reaches the sink once, so no two calls write the
            // same bytes, and y outlives the loop
            let sink = |r0: usize, cb: &[i32]| {
                requant_rows(&out, r0 * oc_n + g * og, oc_n, cb, add, mult, zf)
            };
            let blocks = RowBlocks {
                m,
                k,
                fill: &fill,
                sink: &sink,
            };
            engine.gemm_rows(index, self, g, &self.weights[g], &blocks)?;
        }
        Ok(Tensor::new(vec![n, oc_n, ho, wo], y))
    }

    /// Run the layer's GEMMs on `x` through `engine` (with `prof`, the time
    /// of each stage is added to it): per group `M x N` results, and the
    /// output shape.
    pub fn gemms(
        &self,
        index: usize,
        x: &Tensor<u8>,
        zp: u8,
        engine: &mut dyn MacEngine,
        prof: Option<&mut Profile>,
    ) -> anyhow::Result<(Vec<MatI32>, Vec<usize>)> {
        self.gemms_from(index, x, false, zp, engine, prof)
    }

    /// [`MacLayer::gemms`] of an input whose data runs `N x H x W x C` when
    /// `nhwc` (see [`MacLayer::lower_from`]).
    pub fn gemms_from(
        &self,
        index: usize,
        x: &Tensor<u8>,
        nhwc: bool,
        zp: u8,
        engine: &mut dyn MacEngine,
        mut prof: Option<&mut Profile>,
    ) -> anyhow::Result<(Vec<MatI32>, Vec<usize>)> {
        let mut t = Instant::now();
        if engine.records_inputs() {
            if nhwc {
                let q = super::value::QTensor {
                    t: x.clone(),
                    scale: 1.0,
                    zp: 0,
                };
                engine.input(index, &q.from_nhwc().t);
            } else {
                engine.input(index, x);
            }
        }
        if self.kind == MacKind::Dense {
            // the input already is the M x K matrix: no copy
            let c = engine.gemm(index, self, 0, x, &self.weights[0])?;
            if let Some(p) = prof.as_deref_mut() {
                p.stage("gemm (engine)", t);
            }
            return Ok((vec![c], vec![x.shape[0], self.out_channels]));
        }
        let low = self.lower_from(x, nhwc, zp);
        if let Some(p) = prof.as_deref_mut() {
            t = p.stage("im2col", t);
        }
        let mut cs = Vec::with_capacity(low.a.len());
        for (g, a) in low.a.iter().enumerate() {
            cs.push(engine.gemm(index, self, g, a, &self.weights[g])?);
        }
        for a in low.a {
            scratch::give(a.data);
        }
        if let Some(p) = prof {
            p.stage("gemm (engine)", t);
        }
        Ok((cs, low.out_shape))
    }

    /// Run the layer on `x` through `engine`.
    pub fn run(
        &self,
        index: usize,
        x: &Tensor<u8>,
        zp: u8,
        engine: &mut dyn MacEngine,
    ) -> anyhow::Result<Tensor<i32>> {
        self.run_profiled(index, x, zp, engine, None)
    }

    /// [`MacLayer::run`]; with `prof`, the time of each stage is added to
    /// it.
    pub fn run_profiled(
        &self,
        index: usize,
        x: &Tensor<u8>,
        zp: u8,
        engine: &mut dyn MacEngine,
        mut prof: Option<&mut Profile>,
    ) -> anyhow::Result<Tensor<i32>> {
        let (cs, shape) = self.gemms(index, x, zp, engine, prof.as_deref_mut())?;
        let t = Instant::now();
        let y = self.finish(&cs, i32::from(zp), &shape);
        if let Some(p) = prof {
            p.stage("zero point + bias", t);
        }
        Ok(y)
    }
}

/// An output buffer that parallel tasks write disjoint parts of.
#[derive(Clone, Copy)]
struct SyncBytes(*mut u8, usize);
// SAFETY: used only where every task writes its own bytes (see the callers).
unsafe impl Send for SyncBytes {}
unsafe impl Sync for SyncBytes {}

impl SyncBytes {
    /// `len` bytes from `at`.
    ///
    /// # Safety
    /// No other live reference may cover these bytes, and the buffer must
    /// outlive the slice.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, at: usize, len: usize) -> &mut [u8] {
        assert!(at + len <= self.1, "write past the output");
        // SAFETY: in bounds (checked above); exclusive per the contract
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at), len) }
    }
}

/// One convolution's im2col geometry: the input `h x w` of pixels with
/// `pc` channels each, the group's `cg` of them from offset `off`.
struct Im2col {
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
    kh: usize,
    kw: usize,
    cg: usize,
    pc: usize,
    off: usize,
    stride: [usize; 2],
    pads: [usize; 4],
    zp: u8,
}

impl Im2col {
    /// Rows `r0..` of A into `buf` (`k` bytes each), stepping through the
    /// output pixels instead of dividing for each row.
    fn rows(&self, src: &[u8], r0: usize, buf: &mut [u8], k: usize) {
        let k = k.max(1);
        let n = buf.len() / k;
        let mut r = 0;
        while r < n {
            let at = r0 + r;
            let (b, oh, ow) = (
                at / (self.ho * self.wo),
                (at / self.wo) % self.ho,
                at % self.wo,
            );
            let span = (self.wo - ow).min(n - r);
            self.span(src, b, oh, ow, &mut buf[r * k..(r + span) * k], k);
            r += span;
        }
    }

    /// The rows of output pixels `(oh, ow0..)` of image `b` (one output
    /// row's run of them) into `dst`, kernel row by kernel row: a pixel
    /// whose kernel row lies inside the input copies it as one run of
    /// fixed length (the bounds worked out once per span, not per pixel;
    /// the per-pixel bookkeeping was half of the digits CNN's time), a
    /// pixel on the border (or a group's channels) through
    /// [`Im2col::taps`].
    fn span(&self, src: &[u8], b: usize, oh: usize, ow0: usize, dst: &mut [u8], k: usize) {
        let (h, w, cg, pc, kw) = (self.h, self.w, self.cg, self.pc, self.kw);
        let img = &src[b * h * w * pc..(b + 1) * h * w * pc];
        let run = kw * cg;
        let (s1, p1) = (self.stride[1], self.pads[1]);
        // the pixels whose taps all lie inside the row: p1 <= ow * s1 and
        // ow * s1 - p1 + kw <= w
        let ow_lo = p1.div_ceil(s1);
        let ow_hi = if w + p1 >= kw {
            (w + p1 - kw) / s1 + 1
        } else {
            0
        };
        let inner = |ow: usize| pc == cg && ow >= ow_lo && ow < ow_hi;
        for i in 0..self.kh {
            let y = (oh * self.stride[0] + i) as isize - self.pads[0] as isize;
            let line = (y >= 0 && y < h as isize).then(|| {
                let y = y as usize;
                &img[y * w * pc..(y + 1) * w * pc]
            });
            for (j, row) in dst.chunks_exact_mut(k).enumerate() {
                let ow = ow0 + j;
                let d = &mut row[i * run..(i + 1) * run];
                match line {
                    None => d.fill(self.zp),
                    Some(line) if inner(ow) => {
                        let at = (ow * s1 - p1) * pc;
                        copy_run(d, &line[at..at + run]);
                    }
                    Some(line) => self.taps(line, ow, d),
                }
            }
        }
    }

    /// One kernel row of output column `ow` from input row `line` (`w`
    /// pixels of `pc` channels) into `dst` (`kw * cg` bytes): the taps
    /// inside the input copied, those in the padding set to the zero point.
    #[inline(always)]
    fn taps(&self, line: &[u8], ow: usize, dst: &mut [u8]) {
        let (w, cg, pc, kw) = (self.w, self.cg, self.pc, self.kw);
        let x0 = (ow * self.stride[1]) as isize - self.pads[1] as isize;
        let jlo = (-x0).clamp(0, kw as isize) as usize;
        let jhi = (w as isize - x0).clamp(0, kw as isize) as usize;
        if jlo >= jhi {
            dst.fill(self.zp);
            return;
        }
        if jlo > 0 {
            dst[..jlo * cg].fill(self.zp);
        }
        if jhi < kw {
            dst[jhi * cg..].fill(self.zp);
        }
        let at = (x0 + jlo as isize) as usize * pc + self.off;
        if pc == cg {
            // one contiguous run in both
            let len = (jhi - jlo) * cg;
            copy_run(&mut dst[jlo * cg..jlo * cg + len], &line[at..at + len]);
        } else {
            for j in 0..jhi - jlo {
                let s = at + j * pc;
                copy_run(
                    &mut dst[(jlo + j) * cg..(jlo + j + 1) * cg],
                    &line[s..s + cg],
                );
            }
        }
    }

    /// Row `r` of A (every byte written: the buffer may hold old data).
    fn row(&self, src: &[u8], r: usize, row: &mut [u8]) {
        let (b, oh, ow) = (
            r / (self.ho * self.wo),
            (r / self.wo) % self.ho,
            r % self.wo,
        );
        self.pixel(src, b, oh, ow, row);
    }

    /// The row of output pixel `(oh, ow)` of image `b`.
    #[inline(always)]
    fn pixel(&self, src: &[u8], b: usize, oh: usize, ow: usize, row: &mut [u8]) {
        let (h, w, cg, pc, kw) = (self.h, self.w, self.cg, self.pc, self.kw);
        let img = &src[b * h * w * pc..(b + 1) * h * w * pc];
        for i in 0..self.kh {
            let dst = &mut row[i * kw * cg..(i + 1) * kw * cg];
            let y = (oh * self.stride[0] + i) as isize - self.pads[0] as isize;
            if y < 0 || y >= h as isize {
                dst.fill(self.zp);
                continue;
            }
            let y = y as usize;
            self.taps(&img[y * w * pc..(y + 1) * w * pc], ow, dst);
        }
    }
}

/// `dst.copy_from_slice(src)`; runs shorter than 64 bytes (a small
/// layer's taps: 3 to 48 bytes) as 16-byte moves inline instead of a
/// `memcpy` call each.
#[inline(always)]
fn copy_run(dst: &mut [u8], src: &[u8]) {
    let len = dst.len();
    if len >= 64 {
        dst.copy_from_slice(src);
        return;
    }
    let src = &src[..len];
    if len >= 16 {
        let (d16, _) = dst.as_chunks_mut::<16>();
        let (s16, _) = src.as_chunks::<16>();
        for (d, s) in d16.iter_mut().zip(s16) {
            *d = *s;
        }
        // the last 16 bytes, overlapping the chunks (no byte loop)
        if !len.is_multiple_of(16) {
            dst[len - 16..len].copy_from_slice(&src[len - 16..len]);
        }
        return;
    }
    if len >= 8 {
        // two overlapping 8-byte moves
        dst[..8].copy_from_slice(&src[..8]);
        dst[len - 8..len].copy_from_slice(&src[len - 8..len]);
        return;
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// im2col buffers kept between layers (per thread), so a run allocates
/// them once, not per layer and image.
pub(super) mod scratch {
    use std::cell::RefCell;

    thread_local! {
        static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A buffer of at least `len` bytes of unspecified content: the
    /// longest kept one (grown when shorter: buffers only grow, so a run
    /// zeroes new memory only until it has seen its largest layer).
    pub fn take(len: usize) -> Vec<u8> {
        let mut v = POOL
            .with(|p| {
                let mut p = p.borrow_mut();
                let longest = (0..p.len()).max_by_key(|&i| p[i].len())?;
                Some(p.swap_remove(longest))
            })
            .unwrap_or_default();
        if v.len() < len {
            v.resize(len, 0);
        }
        v
    }

    /// Return a buffer for a later [`take`].
    pub fn give(v: Vec<u8>) {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 4 {
                p.push(v);
            }
        });
    }
}

/// [`requant_row`] of each row of `src` (`add.len()` values a row) into
/// the output's bytes `at + i * stride ..` (row `i`); one CPU feature check
/// per block of rows, not per row (a small layer's rows are 16 values).
/// The caller guarantees that no one else writes those bytes meanwhile.
fn requant_rows(
    out: &SyncBytes,
    at: usize,
    stride: usize,
    src: &[i32],
    add: &[i32],
    mult: &[f32],
    zp: f32,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512 F (checked just above)
        unsafe { requant_rows_avx512(out, at, stride, src, add, mult, zp) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above)
        unsafe { requant_rows_avx2(out, at, stride, src, add, mult, zp) };
        return;
    }
    requant_rows_body(out, at, stride, src, add, mult, zp);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn requant_rows_avx2(
    out: &SyncBytes,
    at: usize,
    stride: usize,
    src: &[i32],
    add: &[i32],
    mult: &[f32],
    zp: f32,
) {
    requant_rows_body(out, at, stride, src, add, mult, zp);
}

/// [`requant_rows_avx2`] on 16 lanes: the same IEEE operations.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn requant_rows_avx512(
    out: &SyncBytes,
    at: usize,
    stride: usize,
    src: &[i32],
    add: &[i32],
    mult: &[f32],
    zp: f32,
) {
    requant_rows_body(out, at, stride, src, add, mult, zp);
}

/// The rows of [`requant_rows`] in one loop (the row body inlined: a small
/// layer's rows are too short for a call each).
#[inline(always)]
fn requant_rows_body(
    out: &SyncBytes,
    at: usize,
    stride: usize,
    src: &[i32],
    add: &[i32],
    mult: &[f32],
    zp: f32,
) {
    for (i, s) in src.chunks_exact(add.len().max(1)).enumerate() {
        // SAFETY: the caller's guarantee (see requant_rows); in bounds is
        // checked by `slice`
        let d = unsafe { out.slice(at + i * stride, add.len()) };
        requant_row_body(d, s, add, mult, zp);
    }
}

/// `d[i] = requant_lane(src[i] + add[i], mult[i], zp)`: with AVX2 when the
/// CPU has it (8 lanes instead of SSE2's 4; the same IEEE operations, so
/// the same codes).
fn requant_row(d: &mut [u8], src: &[i32], add: &[i32], mult: &[f32], zp: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above)
        unsafe { requant_row_avx2(d, src, add, mult, zp) };
        return;
    }
    requant_row_body(d, src, add, mult, zp);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn requant_row_avx2(d: &mut [u8], src: &[i32], add: &[i32], mult: &[f32], zp: f32) {
    requant_row_body(d, src, add, mult, zp);
}

#[inline(always)]
fn requant_row_body(d: &mut [u8], src: &[i32], add: &[i32], mult: &[f32], zp: f32) {
    let n = d.len();
    let (src, add, mult) = (&src[..n], &add[..n], &mult[..n]);
    for i in 0..n {
        d[i] = requant_lane(src[i].wrapping_add(add[i]), mult[i], zp);
    }
}

/// Whether [`requant_lane`] equals [`super::value::requant`] for every
/// int32 with this multiplier (no product overflows f32).
pub fn fast_mult(m: f32) -> bool {
    m.is_finite() && m.abs() < 1e20
}

/// [`super::value::requant`] in a form that vectorizes (see
/// [`super::value::round_saturate`]); the caller checked [`fast_mult`] and
/// that the zero point is in 0..=255.
#[inline(always)]
fn requant_lane(acc: i32, mult: f32, zp: f32) -> u8 {
    super::value::round_saturate(acc as f32 * mult, zp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::Model;
    use crate::workload::Rng;

    struct Exact(Model);
    impl MacEngine for Exact {
        fn gemm(
            &mut self,
            _: usize,
            _: &MacLayer,
            _: usize,
            a: &MatU8,
            b: &MatI8,
        ) -> anyhow::Result<MatI32> {
            Ok(self.0.gemm(a, b)?)
        }
    }

    #[test]
    fn grouped_strided_asymmetric_conv_with_a_zero_point_matches_the_definition() {
        let (n, c, h, w, o, groups, kh, kw) = (2, 6, 7, 5, 4, 2, 3, 2);
        let (stride, pads, zp) = ([2, 1], [1, 0, 2, 1], 3u8);
        let cg = c / groups;
        let mut rng = Rng::new(9);
        let x: Vec<u8> = (0..n * c * h * w).map(|_| rng.next_u64() as u8).collect();
        let wt: Vec<i8> = (0..o * cg * kh * kw)
            .map(|_| rng.next_u64() as i8)
            .collect();
        let bias: Vec<i32> = (0..o as i32).map(|v| 100 * v - 150).collect();
        let og = o / groups;
        let k = kh * kw * cg;
        let weights = (0..groups)
            .map(|g| {
                let mut m = vec![0i8; og * k];
                for oi in 0..og {
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                m[oi * k + (i * kw + j) * cg + ci] =
                                    wt[(((g * og + oi) * cg + ci) * kh + i) * kw + j];
                            }
                        }
                    }
                }
                Tensor::new(vec![og, k], m)
            })
            .collect();
        let layer = MacLayer {
            name: "t".into(),
            op: "Conv".into(),
            kind: MacKind::Conv {
                kh,
                kw,
                stride,
                pads,
                groups,
            },
            in_channels: c,
            out_channels: o,
            weights,
            bias: bias.clone(),
            w_scale: vec![1.0; o],
        };
        let xt = Tensor::new(vec![n, c, h, w], x.clone());
        let y = layer.run(0, &xt, zp, &mut Exact(Model::exact())).unwrap();
        let (ho, wo) = layer.out_hw(h, w).unwrap();
        assert_eq!(y.shape, [n, o, ho, wo]);
        assert_eq!((ho, wo), ((h + 3 - kh) / 2 + 1, w + 1 - kw + 1));
        for b in 0..n {
            for oc in 0..o {
                let g = oc / og;
                for oh in 0..ho {
                    for ow in 0..wo {
                        let mut acc = bias[oc];
                        for ci in 0..cg {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let yy = (oh * stride[0] + i) as isize - pads[0] as isize;
                                    let xx = (ow * stride[1] + j) as isize - pads[1] as isize;
                                    let inside = (0..h as isize).contains(&yy)
                                        && (0..w as isize).contains(&xx);
                                    let v = if inside {
                                        let ch = g * cg + ci;
                                        x[((b * c + ch) * h + yy as usize) * w + xx as usize]
                                    } else {
                                        zp
                                    };
                                    let wv = wt[((oc * cg + ci) * kh + i) * kw + j];
                                    acc += (i32::from(v) - i32::from(zp)) * i32::from(wv);
                                }
                            }
                        }
                        assert_eq!(y.data[((b * o + oc) * ho + oh) * wo + ow], acc);
                    }
                }
            }
        }
    }

    /// im2col of channels-innermost data equals im2col of the planes:
    /// two groups, strides, asymmetric pads, a zero point, two images.
    #[test]
    fn im2col_of_nhwc_equals_im2col_of_planes() {
        let (n, c, h, w, o, groups) = (2, 6, 7, 5, 4, 2);
        let mut rng = Rng::new(3);
        let cg = c / groups;
        for (kh, kw, stride, pads) in [
            (3, 2, [2, 1], [1, 0, 2, 1]),
            (1, 1, [1, 1], [0; 4]),
            (3, 3, [1, 2], [2, 2, 2, 2]),
        ] {
            let layer = MacLayer {
                name: "t".into(),
                op: "Conv".into(),
                kind: MacKind::Conv {
                    kh,
                    kw,
                    stride,
                    pads,
                    groups,
                },
                in_channels: c,
                out_channels: o,
                weights: (0..groups)
                    .map(|_| {
                        Tensor::new(
                            vec![o / groups, kh * kw * cg],
                            vec![1; o / groups * kh * kw * cg],
                        )
                    })
                    .collect(),
                bias: vec![0; o],
                w_scale: vec![1.0; o],
            };
            let x = Tensor::new(
                vec![n, c, h, w],
                (0..n * c * h * w).map(|_| rng.next_u64() as u8).collect(),
            );
            let q = super::super::value::QTensor {
                t: x.clone(),
                scale: 1.0,
                zp: 0,
            };
            let nhwc = q.to_nhwc();
            assert_eq!(nhwc.from_nhwc(), q);
            let want = layer.lower(&x, 7);
            // twice: the second reuses (dirty) scratch buffers
            for _ in 0..2 {
                let got = layer.lower_from(&nhwc.t, true, 7);
                assert_eq!(got.out_shape, want.out_shape);
                assert_eq!(got.a, want.a, "kernel {kh}x{kw}");
                for a in got.a {
                    scratch::give(a.data);
                }
            }
        }
    }

    /// The fused epilogue equals finish + requantize bit for bit: ties
    /// (multiplier 0.5 on odd sums), both saturations, int32 extremes,
    /// two groups, a last block of rows shorter than the others.
    #[test]
    fn finish_requant_equals_finish_then_requantize() {
        let (n, groups, og, sp) = (2, 2, 5, 67);
        let o = groups * og;
        let k = 3;
        let mut rng = Rng::new(5);
        let layer = MacLayer {
            name: "t".into(),
            op: "Conv".into(),
            kind: MacKind::Conv {
                kh: 1,
                kw: 1,
                stride: [1, 1],
                pads: [0; 4],
                groups,
            },
            in_channels: groups * k,
            out_channels: o,
            weights: (0..groups)
                .map(|_| {
                    Tensor::new(
                        vec![og, k],
                        (0..og * k).map(|_| rng.next_u64() as i8).collect(),
                    )
                })
                .collect(),
            bias: (0..o as i32).map(|v| 37 * v - 200).collect(),
            w_scale: vec![1.0; o],
        };
        let edge = [i32::MIN, i32::MAX, -1, 1, 0, 3, -3, 5, 511, -511];
        let c: Vec<MatI32> = (0..groups)
            .map(|_| {
                let data = (0..n * sp * og)
                    .map(|i| match i % 7 {
                        0 => edge[(i / 7) % edge.len()],
                        _ => (rng.next_u64() as i32) >> (i % 24),
                    })
                    .collect();
                Tensor::new(vec![n * sp, og], data)
            })
            .collect();
        let shape = [n, o, 1, sp];
        let mult: Vec<f32> = (0..o)
            .map(|i| [0.5, 1.0, 1e-3, 0.37, 2.5e-6][i % 5])
            .collect();
        for (zp, yz) in [(0, 0), (3, 128), (255, 255)] {
            let acc = super::super::value::AccTensor {
                t: layer.finish(&c, zp, &shape),
                scale: mult.clone(),
            };
            // the scalar rule, and AccTensor::requantize (its own loop)
            let want: Vec<u8> = acc
                .t
                .data
                .iter()
                .enumerate()
                .map(|(i, &v)| super::super::value::requant(v, mult[(i / sp) % o], yz))
                .collect();
            let add = layer.addends_from(&layer.weight_sums(), zp);
            let got = layer.finish_requant_nhwc(&c, &add, &shape, &mult, yz);
            assert_eq!(got.shape, shape);
            let got = super::super::value::QTensor {
                t: got,
                scale: 1.0,
                zp: 0,
            }
            .from_nhwc();
            assert_eq!(got.t.data, want, "zp {zp}, y_zp {yz}");
            assert_eq!(acc.requantize(1.0, yz).t.data, want, "zp {zp}, y_zp {yz}");
        }
    }
}
