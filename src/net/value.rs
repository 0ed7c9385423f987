//! Run-time values of a quantized network and the integer rounding rules
//! ONNX (and ONNX Runtime's integer kernels) use.

use crate::arith::Tensor;
use rayon::prelude::*;

/// A uint8 tensor with its quantization: real value `scale * (q - zp)`.
#[derive(Debug, Clone, PartialEq)]
pub struct QTensor {
    pub t: Tensor<u8>,
    pub scale: f32,
    pub zp: i32,
}

impl QTensor {
    /// The same codes with the channels innermost: `t.shape` stays the
    /// logical `N x C x H x W`, the data runs `N x H x W x C` (what
    /// [`Value::QuantNhwc`] holds).
    pub fn to_nhwc(&self) -> QTensor {
        QTensor {
            t: Tensor::new(self.t.shape.clone(), transpose_planes(&self.t, false)),
            ..*self
        }
    }

    /// The inverse of [`QTensor::to_nhwc`]: channel planes again.
    pub fn from_nhwc(&self) -> QTensor {
        QTensor {
            t: Tensor::new(self.t.shape.clone(), transpose_planes(&self.t, true)),
            ..*self
        }
    }

    pub fn to_float(&self) -> Tensor<f32> {
        let data = self
            .t
            .data
            .iter()
            .map(|&q| (i32::from(q) - self.zp) as f32 * self.scale)
            .collect();
        Tensor::new(self.t.shape.clone(), data)
    }
}

/// Per image, `C x HW` planes to `HW x C` pixels (`back`: the reverse),
/// for a tensor of logical shape `N x C x ...`; blocked so both sides are
/// read and written in cache-sized tiles, one task per image and block.
fn transpose_planes(t: &Tensor<u8>, back: bool) -> Vec<u8> {
    const B: usize = 64;
    let c = t.shape.get(1).copied().unwrap_or(1).max(1);
    let hw: usize = t.shape.iter().skip(2).product::<usize>().max(1);
    let mut out = vec![0u8; t.data.len()];
    if t.data.is_empty() {
        return out;
    }
    // (rows, cols) of the source matrix of one image
    let (rows, cols) = if back { (hw, c) } else { (c, hw) };
    out.par_chunks_mut(rows * cols)
        .zip(t.data.par_chunks(rows * cols))
        .for_each(|(dst, src)| {
            for r0 in (0..rows).step_by(B) {
                for c0 in (0..cols).step_by(B) {
                    for r in r0..(r0 + B).min(rows) {
                        let line = &src[r * cols..(r + 1) * cols];
                        for cc in c0..(c0 + B).min(cols) {
                            dst[cc * rows + r] = line[cc];
                        }
                    }
                }
            }
        });
    out
}

/// An int32 accumulator (products, zero-point correction and bias) with
/// one scale per output channel (axis 1): real value `acc * scale[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccTensor {
    pub t: Tensor<i32>,
    pub scale: Vec<f32>,
}

impl AccTensor {
    /// `f(channel, src, dst)` over the data, one channel plane at a time
    /// (tight loops over a plane vectorize).
    fn map<T: Send + Copy + Default>(&self, f: impl Fn(usize, &[i32], &mut [T]) + Sync) -> Vec<T> {
        let s = &self.t.shape;
        let inner: usize = s[2..].iter().product::<usize>().max(1);
        let c = s[1].max(1);
        let mut out = vec![T::default(); self.t.data.len()];
        // one task per channel plane when planes are large, else per image
        let per = if inner >= 1024 { inner } else { inner * c };
        out.par_chunks_mut(per)
            .zip(self.t.data.par_chunks(per))
            .enumerate()
            .for_each(|(run, (dst, src))| {
                for (p, (src, dst)) in src.chunks(inner).zip(dst.chunks_mut(inner)).enumerate() {
                    f(if per == inner { run % c } else { p }, src, dst);
                }
            });
        out
    }

    pub fn to_float(&self) -> Tensor<f32> {
        let data = self.map(|c, src, dst: &mut [f32]| {
            let s = self.scale[c];
            for (d, &a) in dst.iter_mut().zip(src) {
                *d = a as f32 * s;
            }
        });
        Tensor::new(self.t.shape.clone(), data)
    }

    /// Requantize as ONNX Runtime's QLinearConv/QGemm do: multiplier
    /// `(x_scale * w_scale[c]) / y_scale` in f32, the product rounded half
    /// to even, plus the zero point, saturated to 0..=255.
    pub fn requantize(&self, y_scale: f32, y_zp: i32) -> QTensor {
        let mult: Vec<f32> = self.scale.iter().map(|s| s / y_scale).collect();
        // the loop that vectorizes when it gives the same codes (see
        // round_saturate: every product finite, the zero point a uint8)
        let fast =
            mult.iter().all(|m| m.is_finite() && m.abs() < 1e20) && (0..=255).contains(&y_zp);
        let zf = y_zp as f32;
        let data = self.map(|c, src, dst: &mut [u8]| {
            let m = mult[c];
            if fast {
                for (d, &a) in dst.iter_mut().zip(src) {
                    *d = round_saturate(a as f32 * m, zf);
                }
            } else {
                for (d, &a) in dst.iter_mut().zip(src) {
                    *d = requant(a, m, y_zp);
                }
            }
        });
        QTensor {
            t: Tensor::new(self.t.shape.clone(), data),
            scale: y_scale,
            zp: y_zp,
        }
    }
}

/// Round half to even; exact and branch-light for |x| < 2^22 (adding and
/// subtracting 1.5 * 2^23 rounds in the FPU's default mode, which is half
/// to even), `round_ties_even` beyond.
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    if x.abs() < 4_194_304.0 {
        (x + MAGIC) - MAGIC
    } else {
        x.round_ties_even()
    }
}

/// `round_half_even(v) + zp` saturated to 0..=255, in a form that
/// vectorizes: for a finite `v` and an integer `zp` in 0..=255 the same as
/// rounding, adding in i64 and clamping (below 2^22 the 1.5 * 2^23 trick
/// rounds exactly and the sum is an exact integer; beyond, both saturate to
/// the same end).
#[inline(always)]
// clamp would keep a NaN, which the unchecked conversion must never see
#[allow(clippy::manual_clamp)]
pub fn round_saturate(v: f32, zp: f32) -> u8 {
    const MAGIC: f32 = 12_582_912.0;
    // max/min (a NaN becomes 0, as `NaN as u8` is) leave an integer in
    // 0..=255, so the unchecked conversion is exact and, unlike the
    // saturating `as`, compiles to one vector instruction
    let x = (((v + MAGIC) - MAGIC) + zp).max(0.0).min(255.0);
    // SAFETY: x is finite and in 0.0..=255.0 (max(0.0) maps NaN to 0.0)
    unsafe { x.to_int_unchecked::<i32>() as u8 }
}

/// One int32 to uint8: round half to even, saturate.
#[inline]
pub fn requant(acc: i32, mult: f32, zp: i32) -> u8 {
    let v = round_half_even(acc as f32 * mult) as i64 + i64::from(zp);
    v.clamp(0, 255) as u8
}

/// ONNX QuantizeLinear to uint8: `saturate(round_half_even(x / scale) + zp)`.
#[inline]
pub fn quantize(x: f32, scale: f32, zp: i32) -> u8 {
    let v = round_half_even(x / scale);
    if v.is_nan() {
        return zp.clamp(0, 255) as u8;
    }
    // saturating: an infinite x gives i64::MAX, which must not wrap
    (v as i64).saturating_add(i64::from(zp)).clamp(0, 255) as u8
}

/// ONNX DynamicQuantizeLinear as ONNX Runtime computes it: the range
/// `[min(0, min x), max(0, max x)]` over the whole tensor (every image of
/// the batch), `scale = (max - min) / 255` in f32 (1 when the range is
/// empty), `zp = round_half_even(clamp(-min / scale, 0, 255))`, then
/// QuantizeLinear with those. A NaN or infinite input is refused: its
/// range, and so every code, would depend on the order of the reduction.
pub fn dynamic_quantize(x: &Tensor<f32>) -> Result<QTensor, String> {
    if let Some(v) = x.data.iter().find(|v| !v.is_finite()) {
        return Err(format!(
            "the input holds {v}; DynamicQuantizeLinear needs finite values"
        ));
    }
    let (lo, hi) = x
        .data
        .iter()
        .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = if hi == lo { 1.0 } else { (hi - lo) / 255.0 };
    let zp = round_half_even((0.0 - lo / scale).clamp(0.0, 255.0)) as i32;
    let data = x.data.iter().map(|&v| quantize(v, scale, zp)).collect();
    Ok(QTensor {
        t: Tensor::new(x.shape.clone(), data),
        scale,
        zp,
    })
}

/// What flows along an edge of the graph at run time.
#[derive(Debug, Clone)]
pub enum Value {
    Quant(QTensor),
    /// uint8 codes of a logical `N x C x H x W` tensor stored channels
    /// innermost (`N x H x W x C`, see [`QTensor::to_nhwc`]): what a
    /// convolution writes straight from its GEMM rows and the next one's
    /// im2col reads as contiguous runs. Only the ops that know the layout
    /// (MAC layers, MaxPool, QLinearAdd, Q/DQ relabels) take it; the
    /// runner turns it back into [`Value::Quant`] for every other op.
    QuantNhwc(QTensor),
    Acc(AccTensor),
    Float(Tensor<f32>),
    /// The sum of two quantized tensors, kept until a QuantizeLinear
    /// requantizes it the way ONNX Runtime's QLinearAdd does.
    SumQ(Box<QTensor>, Box<QTensor>),
    /// [`Value::SumQ`] of two channels-innermost tensors of one shape
    /// (see [`Value::QuantNhwc`]): the QuantizeLinear after it adds them
    /// element by element as they are, without going back to planes.
    SumQNhwc(Box<QTensor>, Box<QTensor>),
    /// Window averages of a quantized tensor as ONNX Runtime's
    /// QLinearAveragePool forms them (f32 sum of the dequantized values,
    /// divided by the count), kept until a QuantizeLinear rounds them its
    /// way: `nearbyint(y / scale + zp)`.
    PoolQ(Tensor<f32>),
    /// Per image and channel `sum(q) - zp * count` over the whole plane,
    /// with the input scale and the count: ONNX Runtime's
    /// QLinearGlobalAveragePool requantizes it with the multiplier
    /// `x_scale / (y_scale * count)`.
    GlobalQ {
        acc: Tensor<i32>,
        scale: f32,
        count: usize,
    },
    /// Softmax of a quantized tensor, kept until a QuantizeLinear
    /// requantizes it as ONNX Runtime's QLinearSoftmax does (what it fuses
    /// DequantizeLinear -> Softmax -> QuantizeLinear into).
    SoftQ {
        q: Box<QTensor>,
        axis: usize,
        legacy: bool,
    },
}

impl Value {
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::Quant(q) | Value::QuantNhwc(q) => &q.t.shape,
            Value::Acc(a) => &a.t.shape,
            Value::Float(f) => &f.shape,
            Value::SumQ(a, _) | Value::SumQNhwc(a, _) => &a.t.shape,
            Value::PoolQ(f) => &f.shape,
            Value::GlobalQ { acc, .. } => &acc.shape,
            Value::SoftQ { q, .. } => &q.t.shape,
        }
    }

    pub fn to_float(&self) -> Tensor<f32> {
        match self {
            Value::Quant(q) => q.to_float(),
            Value::QuantNhwc(q) => q.from_nhwc().to_float(),
            Value::Acc(a) => a.to_float(),
            Value::Float(f) => f.clone(),
            Value::SumQ(a, b) => {
                let (fa, fb) = (a.to_float(), b.to_float());
                let data = fa.data.iter().zip(&fb.data).map(|(x, y)| x + y).collect();
                Tensor::new(fa.shape, data)
            }
            Value::SumQNhwc(..) => self.clone().planar().to_float(),
            Value::PoolQ(f) => f.clone(),
            Value::SoftQ { q, axis, legacy } => {
                match super::ops::softmax(&Value::Quant((**q).clone()), *axis as i64, *legacy) {
                    Ok(v) => v.to_float(),
                    Err(_) => unreachable!("the axis was checked when the value was made"),
                }
            }
            Value::GlobalQ { acc, scale, count } => Tensor::new(
                acc.shape.clone(),
                acc.data
                    .iter()
                    .map(|&a| a as f32 * scale / *count as f32)
                    .collect(),
            ),
        }
    }

    /// QuantizeLinear to uint8 with `scale`, `zp`.
    pub fn quantize(self, scale: f32, zp: i32) -> QTensor {
        match self {
            Value::Quant(q) if q.scale == scale && q.zp == zp => q,
            Value::QuantNhwc(q) => Value::Quant(q.from_nhwc()).quantize(scale, zp),
            Value::Acc(a) => a.requantize(scale, zp),
            Value::SumQ(a, b) => qlinear_add(&a, &b, scale, zp),
            Value::SumQNhwc(a, b) => qlinear_add(&a, &b, scale, zp).from_nhwc(),
            Value::SoftQ { q, axis, legacy } => qlinear_softmax(&q, axis, legacy, scale, zp),
            Value::PoolQ(f) => {
                let z = zp as f32;
                // `round_half_even(y / scale + zp)` saturated, a NaN to 0: in
                // the form that vectorizes, clamped to +-1024 first (within,
                // the rounding of round_saturate is exact; beyond, both
                // saturate alike; a NaN passes the clamp and becomes 0)
                let data = f
                    .data
                    .iter()
                    .map(|&y| round_saturate((y / scale + z).clamp(-1024.0, 1024.0), 0.0))
                    .collect();
                QTensor {
                    t: Tensor::new(f.shape, data),
                    scale,
                    zp,
                }
            }
            Value::GlobalQ {
                acc,
                scale: xs,
                count,
            } => {
                let mult = xs / (scale * count as f32);
                let data = acc.data.iter().map(|&a| requant(a, mult, zp)).collect();
                QTensor {
                    t: Tensor::new(acc.shape, data),
                    scale,
                    zp,
                }
            }
            Value::Float(f) => QTensor {
                t: Tensor::new(f.shape.clone(), quantize_all(&f.data, scale, zp)),
                scale,
                zp,
            },
            other => {
                let f = other.to_float();
                QTensor {
                    t: Tensor::new(f.shape.clone(), quantize_all(&f.data, scale, zp)),
                    scale,
                    zp,
                }
            }
        }
    }
}

/// The in-range-zero-point loop of [`quantize_all`], with AVX-512 when the
/// CPU has it (16 lanes instead of SSE2's 4: the same IEEE division,
/// rounding and clamps, so the same codes).
fn quantize_run(d: &mut [u8], x: &[f32], scale: f32, zp: i32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512 F (checked just above)
        unsafe { quantize_run_avx512(d, x, scale, zp) };
        return;
    }
    quantize_run_body(d, x, scale, zp);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn quantize_run_avx512(d: &mut [u8], x: &[f32], scale: f32, zp: i32) {
    quantize_run_body(d, x, scale, zp);
}

#[inline(always)]
fn quantize_run_body(d: &mut [u8], x: &[f32], scale: f32, zp: i32) {
    let zf = zp as f32;
    for (d, &x) in d.iter_mut().zip(x) {
        let v = x / scale;
        let r = round_saturate(v.clamp(-512.0, 512.0), zf);
        *d = if v.is_nan() { zp as u8 } else { r };
    }
}

/// [`quantize`] of every value, in parallel chunks; with a zero point in
/// 0..=255 in a form that vectorizes: `x / scale` clamped to +-512 first
/// (beyond, every code saturates the same way; within, the rounding of
/// [`round_saturate`] is exact), a NaN to the zero point.
pub fn quantize_all(xs: &[f32], scale: f32, zp: i32) -> Vec<u8> {
    let mut out = vec![0u8; xs.len()];
    let fast = (0..=255).contains(&zp);
    out.par_chunks_mut(1 << 14)
        .zip(xs.par_chunks(1 << 14))
        .for_each(|(d, x)| {
            if fast {
                quantize_run(d, x, scale, zp);
            } else {
                for (d, &x) in d.iter_mut().zip(x) {
                    *d = quantize(x, scale, zp);
                }
            }
        });
    out
}

impl Value {
    /// The value with channel planes ([`Value::QuantNhwc`] transposed
    /// back; anything else as it is).
    pub fn planar(self) -> Value {
        match self {
            Value::QuantNhwc(q) => Value::Quant(q.from_nhwc()),
            Value::SumQNhwc(a, b) => Value::SumQ(Box::new(a.from_nhwc()), Box::new(b.from_nhwc())),
            v => v,
        }
    }
}

/// Softmax on uint8 codes as ONNX Runtime's QLinearSoftmax: a 256-entry
/// f32 table `exp((i - 255 + shift) * x_scale)` (computed in f64, `shift`
/// keeping the row sum finite), each row read shifted so that its maximum
/// lands on entry 255, summed in f32, and
/// `nearbyint(e * floor(1 / y_scale) / sum) + zp` saturated. The input zero
/// point cancels. `legacy` (opset < 13): rows are everything from `axis` on.
pub fn qlinear_softmax(q: &QTensor, axis: usize, legacy: bool, y_scale: f32, zp: i32) -> QTensor {
    let s = &q.t.shape;
    let (len, inner) = if legacy {
        (s[axis..].iter().product::<usize>(), 1)
    } else {
        (s[axis], s[axis + 1..].iter().product::<usize>())
    };
    let outer: usize = s[..axis].iter().product();
    let d = len.max(1);
    let shift = ((f32::MAX / d as f32) as f64).ln();
    let shift = (shift - 5.0).max(0.0) / f64::from(q.scale);
    let table: Vec<f32> = (0..256)
        .map(|i| ((f64::from(i) - 255.0 + shift) * f64::from(q.scale)).exp() as f32)
        .collect();
    let ys = (1.0f32 / y_scale).floor();
    let mut out = vec![0u8; q.t.data.len()];
    for o in 0..outer {
        for i in 0..inner {
            let idx = |j: usize| (o * len + j) * inner + i;
            let xmax = (0..len).map(|j| q.t.data[idx(j)]).max().unwrap_or(0);
            let e = |j: usize| table[255 - usize::from(xmax) + usize::from(q.t.data[idx(j)])];
            let sum = (0..len).fold(0.0f32, |a, j| a + e(j));
            for j in 0..len {
                let v = round_half_even(e(j) * ys / sum);
                let v = if v.is_nan() { 0 } else { v as i64 };
                out[idx(j)] = (v.max(0) + i64::from(zp)).clamp(0, 255) as u8;
            }
        }
    }
    QTensor {
        t: Tensor::new(s.clone(), out),
        scale: y_scale,
        zp,
    }
}

/// `c = a + b` requantized as ONNX Runtime's QLinearAdd: each input scaled
/// by `scale_in / scale_out` in f32, the sum rounded half to even.
pub fn qlinear_add(a: &QTensor, b: &QTensor, scale: f32, zp: i32) -> QTensor {
    let (ra, rb) = (a.scale / scale, b.scale / scale);
    let small = |v: f32| v.abs() < 1e30;
    let zps_u8 = |z: i32| (0..=255).contains(&z);
    let fast = small(ra) && small(rb) && zps_u8(a.zp) && zps_u8(b.zp) && zps_u8(zp);
    let (za, zb, zf) = (a.zp as f32, b.zp as f32, zp as f32);
    let mut data = vec![0u8; a.t.data.len()];
    // element-wise: chunks in parallel give the same codes as one loop
    data.par_chunks_mut(1 << 14)
        .zip(
            a.t.data
                .par_chunks(1 << 14)
                .zip(b.t.data.par_chunks(1 << 14)),
        )
        .for_each(|(d, (xa, xb))| {
            if fast {
                // every sum is finite: the loop that vectorizes gives the same codes
                add_codes(d, xa, xb, [ra, za, rb, zb, zf]);
            } else {
                for ((d, &x), &y) in d.iter_mut().zip(xa).zip(xb) {
                    let v = ra * (i32::from(x) - a.zp) as f32 + rb * (i32::from(y) - b.zp) as f32;
                    *d = (round_half_even(v) as i64 + i64::from(zp)).clamp(0, 255) as u8;
                }
            }
        });
    QTensor {
        t: Tensor::new(a.t.shape.clone(), data),
        scale,
        zp,
    }
}

/// `d[i] = round_saturate(ra * (xa[i] - za) + rb * (xb[i] - zb), zf)`
/// (`c = [ra, za, rb, zb, zf]`), with AVX2 when the CPU has it: the same
/// IEEE operations lane by lane, so the same codes.
fn add_codes(d: &mut [u8], xa: &[u8], xb: &[u8], c: [f32; 5]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512 F (checked just above)
        unsafe { add_codes_avx512(d, xa, xb, c) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above)
        unsafe { add_codes_avx2(d, xa, xb, c) };
        return;
    }
    add_codes_body(d, xa, xb, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn add_codes_avx2(d: &mut [u8], xa: &[u8], xb: &[u8], c: [f32; 5]) {
    add_codes_body(d, xa, xb, c);
}

/// [`add_codes`] on 16 lanes (Rust contracts no multiply-add into an FMA,
/// so the lanes round as the scalar operations do).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn add_codes_avx512(d: &mut [u8], xa: &[u8], xb: &[u8], c: [f32; 5]) {
    add_codes_body(d, xa, xb, c);
}

#[inline(always)]
fn add_codes_body(d: &mut [u8], xa: &[u8], xb: &[u8], c: [f32; 5]) {
    let [ra, za, rb, zb, zf] = c;
    let n = d.len();
    let (xa, xb) = (&xa[..n], &xb[..n]);
    for i in 0..n {
        d[i] = round_saturate(
            ra * (f32::from(xa[i]) - za) + rb * (f32::from(xb[i]) - zb),
            zf,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorized rounding of pooled averages equals the scalar rule
    /// `round_half_even(y / scale + zp)` saturated, NaN to 0: ties, both
    /// saturations, +-inf, NaN, zero points inside and outside 0..=255.
    #[test]
    fn pooled_averages_round_as_the_scalar_rule() {
        let mut ys: Vec<f32> = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            127.5,
            128.5,
            254.5,
            255.5,
            256.0,
            -256.0,
            1023.5,
            1024.5,
            -1024.5,
            3e9,
            -3e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            4_194_304.5,
        ];
        ys.extend((0..2000).map(|i| (i as f32 - 1000.0) * 0.37));
        for (scale, zp) in [(1.0, 0), (0.5, 128), (0.013, 255), (2.0, -300), (1.0, 700)] {
            let want: Vec<u8> = ys
                .iter()
                .map(|&y| {
                    let v = round_half_even(y / scale + zp as f32);
                    if v.is_nan() {
                        0
                    } else {
                        (v as i64).clamp(0, 255) as u8
                    }
                })
                .collect();
            let got = Value::PoolQ(Tensor::new(vec![ys.len()], ys.clone())).quantize(scale, zp);
            assert_eq!(got.t.data, want, "scale {scale}, zp {zp}");
        }
    }

    /// The vectorized QuantizeLinear equals the scalar rule on ties,
    /// both saturations, +-inf, NaN, huge and tiny values, every zero
    /// point kind.
    #[test]
    fn quantize_all_equals_quantize() {
        let mut xs: Vec<f32> = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            127.5,
            128.5,
            255.5,
            256.0,
            -256.0,
            511.5,
            512.5,
            -512.5,
            1e6,
            -1e6,
            3e38,
            -3e38,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-30,
            -1e-30,
            4194303.5,
            4194304.5,
            8388609.0,
        ];
        xs.extend((0..5000).map(|i| (i as f32 - 2500.0) * 0.37));
        for (scale, zp) in [
            (1.0f32, 0),
            (0.5, 128),
            (0.1, 255),
            (3.0, 7),
            (1.0, -3),
            (1.0, 300),
        ] {
            let got = quantize_all(&xs, scale, zp);
            for (x, g) in xs.iter().zip(&got) {
                assert_eq!(*g, quantize(*x, scale, zp), "{x} / {scale} + {zp}");
            }
        }
        assert_eq!(
            quantize(f32::INFINITY, 1.0, 3),
            255,
            "saturates, never wraps"
        );
    }

    #[test]
    fn requantize_uses_each_channels_scale_for_small_and_large_planes() {
        for (n, c, hw) in [(2usize, 3usize, 4usize), (2, 3, 1100), (3, 5, 1)] {
            let data: Vec<i32> = (0..n * c * hw)
                .map(|i| (i as i32 * 37) % 2001 - 1000)
                .collect();
            let scale: Vec<f32> = (0..c).map(|k| 0.01 * (k + 1) as f32).collect();
            let shape = if hw == 1 { vec![n, c] } else { vec![n, c, hw] };
            let a = AccTensor {
                t: Tensor::new(shape, data.clone()),
                scale: scale.clone(),
            };
            let q = a.requantize(0.05, 7);
            for (i, &v) in data.iter().enumerate() {
                let ch = (i / hw) % c;
                assert_eq!(
                    q.t.data[i],
                    requant(v, scale[ch] / 0.05, 7),
                    "{n} {c} {hw} at {i}"
                );
            }
            let f = a.to_float();
            assert_eq!(f.data[hw], data[hw] as f32 * scale[1 % c]);
        }
    }

    #[test]
    fn rounding_is_half_to_even_and_saturates() {
        assert_eq!(requant(5, 0.5, 0), 2);
        assert_eq!(requant(7, 0.5, 0), 4);
        assert_eq!(requant(-7, 0.5, 10), 6);
        assert_eq!(requant(1000, 1.0, 0), 255);
        assert_eq!(requant(-1000, 1.0, 3), 0);
        assert_eq!(quantize(0.25, 0.5, 0), 0);
        assert_eq!(quantize(0.75, 0.5, 0), 2);
        assert_eq!(quantize(f32::NAN, 0.5, 7), 7);
        for x in [
            0.5f32,
            1.5,
            2.5,
            -0.5,
            -2.5,
            4_194_303.5,
            1e7 + 0.5,
            -3.4999998,
            123.50001,
        ] {
            assert_eq!(round_half_even(x), x.round_ties_even(), "{x}");
        }
    }

    /// QLinearAdd's vectorized loop equals round, add in i64, clamp on
    /// every pair of codes, for scales that make ties, saturate, or exceed
    /// 2^22.
    #[test]
    fn qlinear_add_equals_the_integer_rounding_on_every_code_pair() {
        let all: Vec<u8> = (0..=255).collect();
        for (sa, sb, sy, za, zb, zy) in [
            (0.5f32, 0.5f32, 1.0f32, 0, 128, 3),
            (0.1, 0.37, 0.05, 17, 0, 128),
            (1e6, 3e5, 1e-2, 255, 1, 0),
            (0.25, 1.5, 0.5, 128, 128, 255),
        ] {
            let a = QTensor {
                t: Tensor::new(vec![256 * 256], all.repeat(256)),
                scale: sa,
                zp: za,
            };
            let b = QTensor {
                t: Tensor::new(
                    vec![256 * 256],
                    all.iter().flat_map(|&v| [v; 256]).collect(),
                ),
                scale: sb,
                zp: zb,
            };
            let got = qlinear_add(&a, &b, sy, zy);
            let (ra, rb) = (sa / sy, sb / sy);
            for (i, (&x, &y)) in a.t.data.iter().zip(&b.t.data).enumerate() {
                let v = ra * (i32::from(x) - za) as f32 + rb * (i32::from(y) - zb) as f32;
                let want = (round_half_even(v) as i64 + i64::from(zy)).clamp(0, 255) as u8;
                assert_eq!(got.t.data[i], want, "{x} + {y} with scales {sa} {sb} {sy}");
            }
        }
    }
}
