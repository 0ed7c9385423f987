//! The ops around the MAC layers, with ONNX semantics: pooling, ReLU,
//! Clip, Add, Concat, Flatten/Reshape, Softmax. Max pooling and ReLU stay
//! in uint8 (they commute with an affine quantization); the rest work on
//! real values and a following QuantizeLinear rounds them.

use super::onnx::Node;
use super::value::{QTensor, Value};
use super::NetError;
use crate::arith::Tensor;
use rayon::prelude::*;

/// A 2-D pooling window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// top, left, bottom, right
    pub pads: [usize; 4],
    pub count_include_pad: bool,
}

/// A 2-D window's strides and pads from a node's attributes, validated as
/// the ONNX spec defines them: strides at least 1, pads at least 0,
/// dilations 1, auto_pad NOTSET or VALID (which means no padding).
pub fn strides_pads(n: &Node) -> Result<([usize; 2], [usize; 4]), NetError> {
    let bad = |why: String| NetError::Unsupported {
        node: n.name.clone(),
        op: n.op.clone(),
        why,
    };
    let attr_len = |key: &str, want: usize, default: i64| -> Result<Vec<i64>, NetError> {
        match n.attrs.get(key) {
            None => Ok(vec![default; want]),
            Some(super::onnx::Attr::Ints(v)) if v.len() == want => Ok(v.clone()),
            Some(super::onnx::Attr::Ints(v)) => Err(bad(format!(
                "{key} has {} values; a 2-D window takes {want}",
                v.len()
            ))),
            Some(_) => Err(bad(format!("attribute {key} must be a list of integers"))),
        }
    };
    let s = attr_len("strides", 2, 1)?;
    if let Some(v) = s.iter().find(|&&v| v < 1) {
        return Err(bad(format!(
            "strides {s:?}: stride {v} is not allowed (at least 1)"
        )));
    }
    let d = attr_len("dilations", 2, 1)?;
    if d.iter().any(|&v| v != 1) {
        return Err(bad(format!(
            "dilations {d:?}: only dilations 1 are supported"
        )));
    }
    let mut p = attr_len("pads", 4, 0)?;
    if let Some(v) = p.iter().find(|&&v| v < 0) {
        return Err(bad(format!(
            "pads {p:?}: pad {v} is not allowed (at least 0)"
        )));
    }
    match n.string("auto_pad").unwrap_or("NOTSET") {
        "NOTSET" | "" => {}
        "VALID" => p = vec![0; 4],
        "SAME_UPPER" | "SAME_LOWER" => {
            return Err(bad(
                "auto_pad SAME_UPPER/SAME_LOWER is not supported; export with explicit pads".into(),
            ))
        }
        other => {
            return Err(bad(format!(
                "auto_pad {other:?} is not allowed (NOTSET, VALID, SAME_UPPER or SAME_LOWER)"
            )))
        }
    }
    let limit = crate::arith::MAX_PADDING as i64;
    if let Some(v) = p.iter().find(|&&v| v > limit) {
        return Err(bad(format!(
            "pad {v} is larger than sparqgen allows (at most {limit})"
        )));
    }
    let u = |v: i64| v as usize; // checked non-negative above
    Ok(([u(s[0]), u(s[1])], [u(p[0]), u(p[1]), u(p[2]), u(p[3])]))
}

impl Pool {
    pub fn from_node(n: &Node) -> Result<Pool, NetError> {
        let bad = |why: String| NetError::Unsupported {
            node: n.name.clone(),
            op: n.op.clone(),
            why,
        };
        let k = n
            .ints("kernel_shape")
            .ok_or_else(|| bad("kernel_shape is missing (it is required)".into()))?;
        if k.len() != 2 {
            return Err(bad(format!(
                "kernel_shape {k:?}: only 2-D pooling is supported"
            )));
        }
        if let Some(v) = k.iter().find(|&&v| v < 1) {
            return Err(bad(format!(
                "kernel_shape {k:?}: size {v} is not allowed (at least 1)"
            )));
        }
        if n.int("ceil_mode", 0) != 0 {
            return Err(bad("ceil_mode = 1 is not supported".into()));
        }
        let cip = n.int("count_include_pad", 0);
        if cip != 0 && cip != 1 {
            return Err(bad(format!(
                "count_include_pad {cip} is not allowed (0 or 1)"
            )));
        }
        let (stride, pads) = strides_pads(n)?;
        let kernel = [k[0] as usize, k[1] as usize];
        for (i, &p) in pads.iter().enumerate() {
            if p >= kernel[i % 2] {
                return Err(bad(format!(
                    "pads {pads:?}: each pad must be smaller than the kernel {kernel:?} \
                     (ONNX Runtime refuses it too)"
                )));
            }
        }
        Ok(Pool {
            kernel,
            stride,
            pads,
            count_include_pad: cip != 0,
        })
    }

    fn out_hw(&self, h: usize, w: usize) -> Result<(usize, usize), String> {
        let hp = h + self.pads[0] + self.pads[2];
        let wp = w + self.pads[1] + self.pads[3];
        if hp < self.kernel[0] || wp < self.kernel[1] {
            return Err(format!("window {:?} does not fit {h}x{w}", self.kernel));
        }
        Ok((
            (hp - self.kernel[0]) / self.stride[0] + 1,
            (wp - self.kernel[1]) / self.stride[1] + 1,
        ))
    }

    /// Max pooling of uint8 codes stored `N x H x W x C` (logical shape
    /// `N x C x H x W`, kept so in the result): per output pixel the
    /// element-wise maximum of its in-bounds input pixels' channel vectors
    /// (the same maxima as [`Pool::map`]), output rows in parallel.
    fn max_nhwc(&self, t: &Tensor<u8>) -> Result<Tensor<u8>, String> {
        let [n, c, h, w] = dims4(&t.shape)?;
        let (ho, wo) = self.out_hw(h, w)?;
        let mut out = vec![0u8; n * c * ho * wo];
        if c == 0 {
            return Ok(Tensor::new(vec![n, c, ho, wo], out));
        }
        // rows of at least 16 KB a task (a small tensor's rows would cost
        // more in thread wake-ups than in work)
        out.par_chunks_mut(wo * c)
            .with_min_len(((16 << 10) / (wo * c).max(1)).max(1))
            .enumerate()
            .for_each(|(r, line)| {
                let (b, oh) = (r / ho, r % ho);
                let img = &t.data[b * h * w * c..(b + 1) * h * w * c];
                let y0 = (oh * self.stride[0]) as isize - self.pads[0] as isize;
                let ys =
                    y0.max(0) as usize..((y0 + self.kernel[0] as isize).min(h as isize)) as usize;
                for (ow, dst) in line.chunks_mut(c).enumerate() {
                    let x0 = (ow * self.stride[1]) as isize - self.pads[1] as isize;
                    let xs = x0.max(0) as usize
                        ..((x0 + self.kernel[1] as isize).min(w as isize)) as usize;
                    // an empty window gives 0, as Pool::map's max of nothing
                    dst.fill(0);
                    for y in ys.clone() {
                        for x in xs.clone() {
                            let px = &img[(y * w + x) * c..(y * w + x + 1) * c];
                            for (d, &v) in dst.iter_mut().zip(px) {
                                *d = (*d).max(v);
                            }
                        }
                    }
                }
            });
        Ok(Tensor::new(vec![n, c, ho, wo], out))
    }

    /// [`avg_pool`]'s window averages of uint8 codes stored `N x H x W x C`
    /// (see [`Pool::max_nhwc`]), as channel planes: per output pixel the
    /// dequantized in-bounds values summed in f32 in window order (rows,
    /// then columns, from 0.0), each channel in its own lane, so every sum
    /// is the one [`Pool::map`] forms on the planes; divided by the count.
    fn avg_nhwc(&self, q: &QTensor) -> Result<Tensor<f32>, String> {
        let t = &q.t;
        let [n, c, h, w] = dims4(&t.shape)?;
        let (ho, wo) = self.out_hw(h, w)?;
        let mut out = vec![0f32; n * c * ho * wo];
        if c == 0 {
            return Ok(Tensor::new(vec![n, c, ho, wo], out));
        }
        // the dequantized value of every code, as QTensor::to_float forms it
        let lut: Vec<f32> = (0..256).map(|v| (v - q.zp) as f32 * q.scale).collect();
        let mut acc = vec![0f32; c];
        for b in 0..n {
            let img = &t.data[b * h * w * c..(b + 1) * h * w * c];
            let planes = &mut out[b * c * ho * wo..(b + 1) * c * ho * wo];
            for oh in 0..ho {
                for ow in 0..wo {
                    let (ys, xs, count) = self.window(oh, ow, h, w);
                    acc.fill(0.0);
                    for y in ys.clone() {
                        for x in xs.clone() {
                            let px = &img[(y * w + x) * c..(y * w + x + 1) * c];
                            for (a, &v) in acc.iter_mut().zip(px) {
                                *a += lut[usize::from(v)];
                            }
                        }
                    }
                    let div = count.max(1) as f32;
                    for (ch, &a) in acc.iter().enumerate() {
                        planes[(ch * ho + oh) * wo + ow] = a / div;
                    }
                }
            }
        }
        Ok(Tensor::new(vec![n, c, ho, wo], out))
    }

    /// The in-bounds rows and columns of output pixel (`oh`, `ow`)'s window
    /// on an `h` x `w` input, and the count an average divides by.
    fn window(
        &self,
        oh: usize,
        ow: usize,
        h: usize,
        w: usize,
    ) -> (std::ops::Range<usize>, std::ops::Range<usize>, usize) {
        let y0 = (oh * self.stride[0]) as isize - self.pads[0] as isize;
        let x0 = (ow * self.stride[1]) as isize - self.pads[1] as isize;
        let ys = y0.max(0) as usize..((y0 + self.kernel[0] as isize).min(h as isize)) as usize;
        let xs = x0.max(0) as usize..((x0 + self.kernel[1] as isize).min(w as isize)) as usize;
        let count = if self.count_include_pad {
            self.kernel[0] * self.kernel[1]
        } else {
            ys.len() * xs.len()
        };
        (ys, xs, count)
    }

    /// Apply `f` to each window's in-bounds values and their count.
    fn map<T: Copy, U: Default + Clone>(
        &self,
        t: &Tensor<T>,
        f: impl Fn(&mut dyn Iterator<Item = T>, usize) -> U,
    ) -> Result<Tensor<U>, String> {
        let [n, c, h, w] = dims4(&t.shape)?;
        let (ho, wo) = self.out_hw(h, w)?;
        let mut out = vec![U::default(); n * c * ho * wo];
        for nc in 0..n * c {
            let img = &t.data[nc * h * w..(nc + 1) * h * w];
            for oh in 0..ho {
                for ow in 0..wo {
                    let (ys, xs, count) = self.window(oh, ow, h, w);
                    let mut it = ys.flat_map(|y| xs.clone().map(move |x| img[y * w + x]));
                    out[(nc * ho + oh) * wo + ow] = f(&mut it, count);
                }
            }
        }
        Ok(Tensor::new(vec![n, c, ho, wo], out))
    }
}

fn dims4(s: &[usize]) -> Result<[usize; 4], String> {
    match s {
        [a, b, c, d] => Ok([*a, *b, *c, *d]),
        _ => Err(format!("expected an N x C x H x W tensor, got shape {s:?}")),
    }
}

pub fn max_pool(v: &Value, p: &Pool) -> Result<Value, String> {
    Ok(match v {
        Value::QuantNhwc(q) => Value::QuantNhwc(QTensor {
            t: p.max_nhwc(&q.t)?,
            scale: q.scale,
            zp: q.zp,
        }),
        Value::Quant(q) => Value::Quant(QTensor {
            t: p.map(&q.t, |it, _| it.max().unwrap_or(0))?,
            scale: q.scale,
            zp: q.zp,
        }),
        other => Value::Float(p.map(&other.to_float(), |it, _| {
            it.fold(f32::NEG_INFINITY, f32::max)
        })?),
    })
}

/// Average pooling. On a quantized input, as ONNX Runtime runs it (it fuses
/// DequantizeLinear -> AveragePool -> QuantizeLinear into
/// QLinearAveragePool): the f32 sum of the dequantized values in window
/// order, divided by the count, rounded by the QuantizeLinear after it as
/// `nearbyint(y / scale + zp)` ([`Value::PoolQ`]). Otherwise on real values.
pub fn avg_pool(v: &Value, p: &Pool) -> Result<Value, String> {
    if let Value::QuantNhwc(q) = v {
        return Ok(Value::PoolQ(p.avg_nhwc(q)?));
    }
    let avg = p.map(&v.to_float(), |it, count| {
        it.fold(0.0f32, |a, x| a + x) / count.max(1) as f32
    })?;
    Ok(match v {
        Value::Quant(_) => Value::PoolQ(avg),
        _ => Value::Float(avg),
    })
}

/// com.microsoft QLinearAveragePool: [`avg_pool`] on the quantized input.
pub fn qlinear_avg_pool(v: &Value, p: &Pool) -> Result<Value, String> {
    avg_pool(v, p)
}

fn global_pool(v: &Value) -> Result<Pool, String> {
    let [_, _, h, w] = dims4(v.shape())?;
    Ok(Pool {
        kernel: [h, w],
        stride: [1, 1],
        pads: [0; 4],
        count_include_pad: false,
    })
}

/// Global average pooling. On a quantized input, as ONNX Runtime's
/// QLinearGlobalAveragePool (what it fuses the QDQ form into): the integer
/// sum `sum(q) - zp * count` per plane ([`Value::GlobalQ`]).
pub fn global_avg_pool(v: &Value) -> Result<Value, String> {
    match v {
        Value::Quant(q) => {
            let [n, c, h, w] = dims4(&q.t.shape)?;
            let count = h * w;
            let zp = q.zp;
            let data = q
                .t
                .data
                .chunks(count.max(1))
                .take(n * c)
                .map(|plane| plane.iter().map(|&x| i32::from(x)).sum::<i32>() - zp * count as i32)
                .collect();
            Ok(Value::GlobalQ {
                acc: Tensor::new(vec![n, c, 1, 1], data),
                scale: q.scale,
                count,
            })
        }
        other => avg_pool(other, &global_pool(other)?),
    }
}

/// com.microsoft QLinearGlobalAveragePool: [`global_avg_pool`].
pub fn qlinear_global_avg_pool(v: &Value) -> Result<Value, String> {
    global_avg_pool(v)
}

pub fn relu(v: Value) -> Value {
    match v {
        Value::Quant(mut q) => {
            let zp = q.zp.clamp(0, 255) as u8;
            q.t.data.iter_mut().for_each(|x| *x = (*x).max(zp));
            Value::Quant(q)
        }
        Value::Acc(mut a) => {
            a.t.data.iter_mut().for_each(|x| *x = (*x).max(0));
            Value::Acc(a)
        }
        other => {
            let mut f = other.to_float();
            f.data.iter_mut().for_each(|x| *x = x.max(0.0));
            Value::Float(f)
        }
    }
}

pub fn clip(v: &Value, min: f32, max: f32) -> Value {
    let mut f = v.to_float();
    // ONNX: min(max(x, min), max), so max wins when min > max
    f.data.iter_mut().for_each(|x| *x = x.max(min).min(max));
    Value::Float(f)
}

pub fn add(a: Value, b: Value) -> Result<Value, String> {
    if a.shape() == b.shape() {
        if let (Value::Quant(x), Value::Quant(y)) = (&a, &b) {
            return Ok(Value::SumQ(Box::new(x.clone()), Box::new(y.clone())));
        }
    }
    Ok(Value::Float(broadcast_add(&a.to_float(), &b.to_float())?))
}

/// The broadcast shape of two shapes (NumPy rules).
pub(super) fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        if i + s.len() >= rank {
            s[i + s.len() - rank]
        } else {
            1
        }
    };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

/// `q` repeated to `shape` (which it broadcasts to).
fn expand(q: QTensor, shape: &[usize]) -> QTensor {
    if q.t.shape == shape {
        return q;
    }
    let f = Tensor::new(
        q.t.shape.clone(),
        q.t.data.iter().map(|&v| f32::from(v)).collect(),
    );
    let zeros = Tensor::new(shape.to_vec(), vec![0.0; shape.iter().product()]);
    // infallible: callers pass a shape broadcast_shape computed from q's own
    let e = broadcast_add(&zeros, &f).expect("the shapes broadcast");
    QTensor {
        t: Tensor::new(e.shape, e.data.iter().map(|&v| v as u8).collect()),
        ..q
    }
}

/// Two uint8 tensors brought to their common shape.
pub fn broadcast_pair(a: QTensor, b: QTensor) -> Result<(QTensor, QTensor), String> {
    let shape = broadcast_shape(&a.t.shape, &b.t.shape)?;
    // expand() builds f32 copies of the full shape
    crate::arith::checked_bytes("the broadcast operands", &shape, 4).map_err(|e| e.to_string())?;
    Ok((expand(a, &shape), expand(b, &shape)))
}

/// `a + b` with NumPy (ONNX multidirectional) broadcasting.
pub fn broadcast_add(a: &Tensor<f32>, b: &Tensor<f32>) -> Result<Tensor<f32>, String> {
    broadcast_with(a, b, "the sum", |x, y| x + y)
}

/// `a * b` with NumPy (ONNX multidirectional) broadcasting (f32, as ONNX
/// Runtime's Mul).
pub fn broadcast_mul(a: &Tensor<f32>, b: &Tensor<f32>) -> Result<Tensor<f32>, String> {
    broadcast_with(a, b, "the product", |x, y| x * y)
}

/// `f(a, b)` element by element with NumPy broadcasting.
fn broadcast_with(
    a: &Tensor<f32>,
    b: &Tensor<f32>,
    what: &'static str,
    f: impl Fn(f32, f32) -> f32,
) -> Result<Tensor<f32>, String> {
    let rank = a.shape.len().max(b.shape.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (sa, sb) = (pad(&a.shape), pad(&b.shape));
    let mut out = Vec::with_capacity(rank);
    for (&x, &y) in sa.iter().zip(&sb) {
        out.push(match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(format!(
                    "shapes {:?} and {:?} do not broadcast",
                    a.shape, b.shape
                ))
            }
        });
    }
    let strides = |s: &[usize]| -> Vec<usize> {
        let mut st = vec![0; rank];
        let mut acc = 1;
        for i in (0..rank).rev() {
            st[i] = if s[i] == 1 { 0 } else { acc };
            acc *= s[i];
        }
        st
    };
    let (ta, tb) = (strides(&sa), strides(&sb));
    crate::arith::checked_bytes(what, &out, 4).map_err(|e| e.to_string())?;
    let total: usize = out.iter().product();
    let mut data = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for _ in 0..total {
        let ia: usize = idx.iter().zip(&ta).map(|(i, s)| i * s).sum();
        let ib: usize = idx.iter().zip(&tb).map(|(i, s)| i * s).sum();
        data.push(f(a.data[ia], b.data[ib]));
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor::new(out, data))
}

fn axis_of(axis: i64, rank: usize) -> Result<usize, String> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a as usize >= rank.max(1) {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(a as usize)
}

fn with_shape(v: Value, shape: Vec<usize>) -> Value {
    match v {
        Value::Quant(mut q) => {
            q.t.shape = shape;
            Value::Quant(q)
        }
        other => {
            let mut f = other.to_float();
            f.shape = shape;
            Value::Float(f)
        }
    }
}

pub fn flatten(v: Value, axis: i64) -> Result<Value, String> {
    let s = v.shape().to_vec();
    let a = if axis < 0 {
        axis + s.len() as i64
    } else {
        axis
    };
    if a < 0 || a as usize > s.len() {
        return Err(format!("axis {axis} is out of range for rank {}", s.len()));
    }
    let outer: usize = s[..a as usize].iter().product();
    let inner: usize = s[a as usize..].iter().product();
    Ok(with_shape(v, vec![outer, inner]))
}

pub fn reshape(v: Value, spec: &[i64]) -> Result<Value, String> {
    let s = v.shape().to_vec();
    let total: usize = s.iter().product();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            0 => out.push(*s.get(i).ok_or("shape entry 0 past the input's rank")?),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d > 0 => out.push(d as usize),
            d => return Err(format!("shape entry {d} is not supported")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {s:?} to {spec:?}"));
        }
        out[i] = total / known;
    }
    if out.iter().product::<usize>() != total {
        return Err(format!("cannot reshape {s:?} to {spec:?}"));
    }
    Ok(with_shape(v, out))
}

pub fn concat(vs: Vec<Value>, axis: i64) -> Result<Value, String> {
    let rank = vs[0].shape().len();
    let a = axis_of(axis, rank)?;
    for v in &vs {
        let (s0, s) = (vs[0].shape(), v.shape());
        if s.len() != rank
            || s0
                .iter()
                .zip(s)
                .enumerate()
                .any(|(i, (x, y))| i != a && x != y)
        {
            return Err(format!(
                "shapes {s0:?} and {s:?} cannot be joined on axis {axis}"
            ));
        }
    }
    let outer: usize = vs[0].shape()[..a].iter().product();
    let mut shape = vs[0].shape().to_vec();
    shape[a] = vs.iter().map(|v| v.shape()[a]).sum();
    let same_q = match &vs[0] {
        Value::Quant(q0) => vs
            .iter()
            .all(|v| matches!(v, Value::Quant(q) if q.scale == q0.scale && q.zp == q0.zp)),
        _ => false,
    };
    fn join<T: Copy>(parts: &[(&[T], usize)], outer: usize) -> Vec<T> {
        let mut out = Vec::new();
        for o in 0..outer {
            for (d, chunk) in parts {
                out.extend_from_slice(&d[o * chunk..(o + 1) * chunk]);
            }
        }
        out
    }
    let chunk = |v: &Value| v.shape()[a..].iter().product::<usize>();
    if same_q {
        let (scale, zp) = match &vs[0] {
            Value::Quant(q) => (q.scale, q.zp),
            _ => unreachable!("checked above"),
        };
        let parts: Vec<(&[u8], usize)> = vs
            .iter()
            .map(|v| match v {
                Value::Quant(q) => (q.t.data.as_slice(), chunk(v)),
                _ => unreachable!("checked above"),
            })
            .collect();
        let data = join(&parts, outer);
        return Ok(Value::Quant(QTensor {
            t: Tensor::new(shape, data),
            scale,
            zp,
        }));
    }
    let fs: Vec<(Tensor<f32>, usize)> = vs.iter().map(|v| (v.to_float(), chunk(v))).collect();
    let parts: Vec<(&[f32], usize)> = fs.iter().map(|(t, c)| (t.data.as_slice(), *c)).collect();
    Ok(Value::Float(Tensor::new(shape, join(&parts, outer))))
}

/// Softmax along `axis`; `legacy` (opset < 13): over every axis from
/// `axis` on, the input seen as 2-D.
pub fn softmax(v: &Value, axis: i64, legacy: bool) -> Result<Value, String> {
    let a = axis_of(axis, v.shape().len())?;
    softmax_float(v, a, legacy)
}

/// Softmax on a quantized input: as ONNX Runtime's QLinearSoftmax when a
/// QuantizeLinear follows ([`Value::SoftQ`]).
pub fn softmax_q(v: Value, axis: i64, legacy: bool) -> Result<Value, String> {
    let a = axis_of(axis, v.shape().len())?;
    match v {
        Value::Quant(q) => Ok(Value::SoftQ {
            q: Box::new(q),
            axis: a,
            legacy,
        }),
        other => softmax_float(&other, a, legacy),
    }
}

fn softmax_float(v: &Value, a: usize, legacy: bool) -> Result<Value, String> {
    let mut f = v.to_float();
    let (len, inner) = if legacy {
        (f.shape[a..].iter().product(), 1)
    } else {
        (f.shape[a], f.shape[a + 1..].iter().product())
    };
    let outer: usize = f.shape[..a].iter().product();
    for o in 0..outer {
        for i in 0..inner {
            let idx = |j: usize| (o * len + j) * inner + i;
            let m = (0..len)
                .map(|j| f.data[idx(j)])
                .fold(f32::NEG_INFINITY, f32::max);
            // the sum in f64: MLAS sums in many vector lanes, far closer
            // to the exact sum than one f32 running sum over a long row
            let mut sum = 0.0f64;
            for j in 0..len {
                let e = (f.data[idx(j)] - m).exp();
                f.data[idx(j)] = e;
                sum += f64::from(e);
            }
            // as ONNX Runtime (MLAS): one reciprocal, then products
            let r = 1.0 / sum as f32;
            for j in 0..len {
                f.data[idx(j)] *= r;
            }
        }
    }
    Ok(Value::Float(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Max pooling of channels-innermost codes equals the planar one:
    /// strides, asymmetric pads, windows cut by the border, two images.
    #[test]
    fn max_pool_of_nhwc_equals_max_pool_of_planes() {
        let (n, c, h, w) = (2, 5, 9, 7);
        let data: Vec<u8> = (0..n * c * h * w)
            .map(|i| ((i * 97 + 13) % 251) as u8)
            .collect();
        let q = QTensor {
            t: Tensor::new(vec![n, c, h, w], data),
            scale: 0.5,
            zp: 3,
        };
        for (kernel, stride, pads) in [
            ([3, 3], [2, 2], [1, 1, 1, 1]),
            ([2, 3], [1, 2], [0, 2, 1, 0]),
        ] {
            let p = Pool {
                kernel,
                stride,
                pads,
                count_include_pad: false,
            };
            let Value::Quant(want) = max_pool(&Value::Quant(q.clone()), &p).unwrap() else {
                panic!("codes in, codes out")
            };
            let Value::QuantNhwc(got) = max_pool(&Value::QuantNhwc(q.to_nhwc()), &p).unwrap()
            else {
                panic!("the layout is kept")
            };
            assert_eq!(got.from_nhwc(), want, "{kernel:?} {stride:?} {pads:?}");
        }
    }

    #[test]
    fn add_broadcasts_a_bias_row() {
        let a = Tensor::new(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = Tensor::new(vec![3], vec![10.0, 20.0, 30.0]);
        let y = broadcast_add(&a, &b).unwrap();
        assert_eq!(y.shape, [2, 3]);
        assert_eq!(y.data, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        let c = Tensor::new(vec![2, 1], vec![100.0, 200.0]);
        assert_eq!(broadcast_add(&a, &c).unwrap().data[3], 204.0);
        assert!(broadcast_add(&a, &Tensor::new(vec![2], vec![0.0; 2])).is_err());
    }
}
