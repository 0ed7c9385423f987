//! Run an imported network on a batch: step by step over the slots, MAC
//! layers through a [`MacEngine`].

use super::lower::MacEngine;
use super::onnx::{self, FLOAT};
use super::ops;
use super::plan::{Op, Plan};
use super::profile::Profile;
use super::value::{AccTensor, QTensor, Value};
use super::NetError;
use crate::arith::Tensor;
use anyhow::{anyhow, Context, Result};
use std::time::Instant;

impl Plan {
    /// The input must be float32 with the graph's rank and fixed dims.
    pub fn check_input(&self, x: &Tensor<f32>) -> Result<(), NetError> {
        let io = &self.input;
        if io.elem_type != FLOAT {
            return Err(NetError::Input(format!(
                "the graph's input {:?} is {}; `net` feeds float32 images (the model's QuantizeLinear quantizes them)",
                io.name,
                onnx::elem_type_name(io.elem_type)
            )));
        }
        let want: Vec<String> = io
            .dims
            .iter()
            .map(|d| d.map_or("?".to_string(), |v| v.to_string()))
            .collect();
        let fits = io.dims.len() == x.shape.len()
            && io
                .dims
                .iter()
                .zip(&x.shape)
                .enumerate()
                .all(|(i, (d, &g))| i == 0 || d.is_none_or(|d| d == g));
        if !fits && !io.dims.is_empty() {
            return Err(NetError::Input(format!(
                "input shape {:?} does not match the graph's input {:?} [{}] (batch first)",
                x.shape,
                io.name,
                want.join(", ")
            )));
        }
        if x.shape.is_empty() || x.shape[0] == 0 {
            return Err(NetError::Input("the input holds no images".into()));
        }
        if x.shape.contains(&0) {
            return Err(NetError::Input(format!(
                "input shape {:?} has a zero-size dimension",
                x.shape
            )));
        }
        if let Some(Some(b)) = io.dims.first() {
            if !x.shape[0].is_multiple_of(*b) {
                return Err(NetError::Input(format!(
                    "the graph's input {:?} declares a batch of {b}; {} images is not a multiple \
                     of it (sparqgen runs the images {b} at a time)",
                    io.name, x.shape[0]
                )));
            }
        }
        Ok(())
    }

    /// Images per run for an input of `shape`: the graph's declared batch
    /// when it is fixed; every image at once when the graph mixes images
    /// (an op along the batch axis, or a shape whose first dimension is not
    /// the batch), so that splitting cannot change the answer; else
    /// `requested`.
    pub fn batch_size(&self, shape: &[usize], requested: usize) -> usize {
        if let Some(Some(b)) = self.input.dims.first() {
            return *b;
        }
        if self.mixes_batch(shape) {
            return shape.first().copied().unwrap_or(1).max(1);
        }
        requested.max(1)
    }

    /// Whether images of one run influence each other's results.
    pub fn mixes_batch(&self, shape: &[usize]) -> bool {
        if shape.is_empty() {
            return true;
        }
        let with = |b: usize| {
            let mut s = shape.to_vec();
            s[0] = b;
            super::shapes::step_shapes(self, &s)
        };
        let (Ok(one), Ok(two)) = (with(1), with(2)) else {
            return true;
        };
        for ((st, a), b) in self.steps.iter().zip(&one).zip(&two) {
            if matches!(st.op, Op::ConstU8(_)) {
                continue;
            }
            if a.is_empty() || b.len() != a.len() || a[0] != 1 || b[0] != 2 || a[1..] != b[1..] {
                return true;
            }
            let rank = a.len() as i64;
            let axis0 = |axis: i64| axis == 0 || axis == -rank;
            let mixes = match &st.op {
                Op::Concat { axis }
                | Op::QLinearConcat { axis, .. }
                | Op::Softmax { axis, .. }
                | Op::Flatten { axis } => axis0(*axis),
                // the range of the whole batch sets the scale
                Op::DynamicQuantize => true,
                Op::AddConst(c) | Op::MulConst(c) => {
                    c.shape.len() >= a.len() && c.shape[c.shape.len() - a.len()] != 1
                }
                _ => false,
            };
            if mixes {
                return true;
            }
        }
        false
    }

    /// Run the network on `x` (float32, batch first); returns the first
    /// output as float32.
    pub fn run(&self, x: &Tensor<f32>, engine: &mut dyn MacEngine) -> Result<Tensor<f32>> {
        self.run_profiled(x, engine, None)
    }

    /// [`Plan::run`], adding where the time went to `prof`.
    pub fn run_profiled(
        &self,
        x: &Tensor<f32>,
        engine: &mut dyn MacEngine,
        prof: Option<&mut Profile>,
    ) -> Result<Tensor<f32>> {
        engine.begin_plan(Some(self.id()));
        let y = self.run_steps(x, engine, prof);
        engine.begin_plan(None);
        y
    }

    fn run_steps(
        &self,
        x: &Tensor<f32>,
        engine: &mut dyn MacEngine,
        mut prof: Option<&mut Profile>,
    ) -> Result<Tensor<f32>> {
        let start = Instant::now();
        let mut slots: Vec<Option<Value>> = vec![None; self.slots];
        slots[self.input_slot] = Some(Value::Float(x.clone()));
        for (i, step) in self.steps.iter().enumerate() {
            let ctx = || format!("node {:?} ({})", step.node, step.op_type);
            // a convolution reads its input where it is
            if let (Op::Mac { layer, x_q, y_q }, [x]) = (&step.op, &step.inputs[..]) {
                if self.takes_nhwc(&step.op) {
                    let v = slots[*x]
                        .as_ref()
                        .ok_or_else(|| anyhow!("internal: slot {x} is empty"))
                        .with_context(ctx)?;
                    let t = Instant::now();
                    let out = self
                        .mac(layer, x_q, y_q, v, engine, prof.as_deref_mut())
                        .with_context(ctx)?;
                    if let Some(p) = prof.as_deref_mut() {
                        p.op(&step.op_type, t.elapsed().as_secs_f64());
                    }
                    if self.last_use[*x] == i {
                        slots[*x] = None;
                    }
                    slots[step.output] = Some(out);
                    continue;
                }
            }
            let mut args: Vec<Value> = Vec::with_capacity(step.inputs.len());
            for &s in &step.inputs {
                let v = if self.last_use[s] == i
                    && step.inputs.iter().filter(|&&t| t == s).count() == 1
                {
                    slots[s].take()
                } else {
                    slots[s].clone()
                };
                args.push(
                    v.ok_or_else(|| anyhow!("internal: slot {s} is empty"))
                        .with_context(ctx)?,
                );
            }
            // only the ops that know the channels-innermost layout take it
            if !self.takes_nhwc(&step.op) {
                let t = Instant::now();
                args = args.into_iter().map(Value::planar).collect();
                if let Some(p) = prof.as_deref_mut() {
                    p.op("(back to channel planes)", t.elapsed().as_secs_f64());
                }
            }
            let t = Instant::now();
            let out = self
                .step(&step.op, args, engine, prof.as_deref_mut())
                .with_context(ctx)?;
            if let Some(p) = prof.as_deref_mut() {
                p.op(&step.op_type, t.elapsed().as_secs_f64());
            }
            slots[step.output] = Some(out);
        }
        if let Some(p) = prof {
            p.total += start.elapsed().as_secs_f64();
        }
        let out = slots[self.output_slot]
            .take()
            .ok_or_else(|| anyhow!("the output {:?} was not computed", self.output.name))?;
        Ok(out.to_float())
    }

    /// Whether `op` takes [`Value::QuantNhwc`] inputs as they are.
    fn takes_nhwc(&self, op: &Op) -> bool {
        match op {
            Op::Mac { layer, .. } => {
                matches!(self.layers[*layer].kind, super::lower::MacKind::Conv { .. })
            }
            Op::Quantize { .. }
            | Op::Dequantize { .. }
            | Op::Identity
            | Op::MaxPool(_)
            | Op::AveragePool(_)
            | Op::Add
            | Op::QLinearAdd { .. } => true,
            _ => false,
        }
    }

    /// `sh` fits layer `l`, and its im2col and accumulators fit in memory
    /// (checked before anything is allocated).
    fn check_mac_input(&self, l: &super::lower::MacLayer, sh: &[usize]) -> Result<()> {
        let want_rank = match l.kind {
            super::lower::MacKind::Conv { .. } => 4,
            super::lower::MacKind::Dense => 2,
        };
        let ok = sh.len() == want_rank && sh[1] == l.in_channels;
        if !ok {
            return Err(anyhow!(
                "input shape {sh:?} does not fit the layer ({} input channels{})",
                l.in_channels,
                if want_rank == 4 {
                    ", N x C x H x W"
                } else {
                    ", N x K"
                }
            ));
        }
        if let super::lower::MacKind::Conv { kh, kw, pads, .. } = l.kind {
            let (ho, wo) = l.out_hw(sh[2], sh[3]).ok_or_else(|| {
                anyhow!(
                    "the kernel {kh} x {kw} is larger than the padded input {} x {} \
                     (input {} x {}, pads {pads:?})",
                    sh[2] + pads[0] + pads[2],
                    sh[3] + pads[1] + pads[3],
                    sh[2],
                    sh[3]
                )
            })?;
            // the im2col and the accumulators, before anything is allocated
            let rows = [sh[0], ho, wo, l.k()];
            crate::arith::checked_bytes("the layer's im2col", &rows, 1)?;
            let out = [sh[0], l.out_channels, ho, wo];
            crate::arith::checked_bytes("the layer's output", &out, 4)?;
        }
        Ok(())
    }

    /// A MAC layer's step on its input `first` (borrowed: a tensor that
    /// other steps read later is not copied for it).
    fn mac(
        &self,
        layer: &usize,
        x_q: &Option<(f32, i32)>,
        y_q: &Option<(f32, i32)>,
        first: &Value,
        engine: &mut dyn MacEngine,
        mut prof: Option<&mut Profile>,
    ) -> Result<Value> {
        let l = &self.layers[*layer];
        let (q, nhwc) = match first {
            Value::Quant(q) => (q, false),
            Value::QuantNhwc(q) => (q, true),
            _ => {
                return Err(anyhow!(
                    "the layer's input is not quantized to uint8 (a float path into a \
                     MAC layer); quantize the model with onnxruntime.quantization.quantize_static"
                ))
            }
        };
        let (xs, xz) = x_q.unwrap_or((q.scale, q.zp));
        self.check_mac_input(l, &q.t.shape)?;
        let xz = xz.clamp(0, 255);
        let scale: Vec<f32> = l.w_scale.iter().map(|w| xs * w).collect();
        // a convolution straight to its output codes, block by block
        if let Some((ys, yz)) = *y_q {
            let mult: Vec<f32> = scale.iter().map(|s| s / ys).collect();
            let fast = mult.iter().all(|m| super::lower::fast_mult(*m)) && (0..=255).contains(&yz);
            if fast && l.fuses(&q.t) && !engine.records_inputs() {
                let t = Instant::now();
                let add = l.addends_from(self.weight_sums(*layer), xz);
                let y =
                    l.run_requant_nhwc(*layer, &q.t, nhwc, xz as u8, engine, &add, &mult, yz)?;
                if let Some(p) = prof {
                    p.stage("im2col + gemm + requantize (fused)", t);
                }
                return Ok(Value::QuantNhwc(QTensor {
                    t: y,
                    scale: ys,
                    zp: yz,
                }));
            }
        }
        let (cs, shape) =
            l.gemms_from(*layer, &q.t, nhwc, xz as u8, engine, prof.as_deref_mut())?;
        let t = Instant::now();
        let fused = y_q.and_then(|(ys, yz)| {
            let mult: Vec<f32> = scale.iter().map(|s| s / ys).collect();
            let fast = mult.iter().all(|m| super::lower::fast_mult(*m));
            (fast && (0..=255).contains(&yz)).then(|| {
                let add = l.addends_from(self.weight_sums(*layer), xz);
                let y = l.finish_requant_nhwc(&cs, &add, &shape, &mult, yz);
                let q = QTensor {
                    t: y,
                    scale: ys,
                    zp: yz,
                };
                // a dense layer's N x O is the same either way
                match shape.len() {
                    4 => Value::QuantNhwc(q),
                    _ => Value::Quant(q),
                }
            })
        });
        let v = match fused {
            Some(v) => v,
            None => {
                let a = AccTensor {
                    t: l.finish(&cs, xz, &shape),
                    scale,
                };
                match y_q {
                    Some((ys, yz)) => Value::Quant(a.requantize(*ys, *yz)),
                    None => Value::Acc(a),
                }
            }
        };
        if let Some(p) = prof {
            p.stage("requantize", t);
        }
        Ok(v)
    }

    fn step(
        &self,
        op: &Op,
        mut args: Vec<Value>,
        engine: &mut dyn MacEngine,
        prof: Option<&mut Profile>,
    ) -> Result<Value> {
        if let Op::ConstU8(t) = op {
            return Ok(Value::Quant(QTensor {
                t: t.clone(),
                scale: 1.0,
                zp: 0,
            }));
        }
        let first = args.remove(0);
        let s = |r: Result<Value, String>| r.map_err(|e| anyhow!(e));
        Ok(match op {
            Op::Quantize { scale, zp } => match first {
                Value::QuantNhwc(q) if q.scale == *scale && q.zp == *zp => Value::QuantNhwc(q),
                Value::SumQNhwc(a, b) => {
                    Value::QuantNhwc(super::value::qlinear_add(&a, &b, *scale, *zp))
                }
                v => Value::Quant(v.quantize(*scale, *zp)),
            },
            Op::Dequantize { scale, zp } => match first {
                Value::Quant(q) => Value::Quant(QTensor {
                    scale: *scale,
                    zp: *zp,
                    ..q
                }),
                Value::QuantNhwc(q) => Value::QuantNhwc(QTensor {
                    scale: *scale,
                    zp: *zp,
                    ..q
                }),
                _ => return Err(anyhow!("dequantizes a tensor that is not quantized")),
            },
            Op::Mac { layer, x_q, y_q } => self.mac(layer, x_q, y_q, &first, engine, prof)?,
            Op::MacInteger { layer, a_zp } => {
                let l = &self.layers[*layer];
                let Value::Quant(q) = first else {
                    return Err(anyhow!("the input is not a uint8 tensor"));
                };
                let zp = a_zp.unwrap_or(q.zp);
                self.check_mac_input(l, &q.t.shape)?;
                let acc = l.run_profiled(*layer, &q.t, zp.clamp(0, 255) as u8, engine, prof)?;
                Value::Acc(AccTensor {
                    t: acc,
                    scale: vec![1.0; l.out_channels],
                })
            }
            Op::DynamicQuantize => Value::Quant(
                super::value::dynamic_quantize(&first.to_float()).map_err(|e| anyhow!(e))?,
            ),
            Op::QParam { zero_point } => {
                let Value::Quant(q) = first else {
                    return Err(anyhow!("internal: not a quantized tensor"));
                };
                if *zero_point {
                    Value::Quant(QTensor {
                        t: Tensor::new(vec![], vec![q.zp.clamp(0, 255) as u8]),
                        scale: 1.0,
                        zp: 0,
                    })
                } else {
                    Value::Float(Tensor::new(vec![], vec![q.scale]))
                }
            }
            Op::CastFloat => Value::Float(first.to_float()),
            Op::Mul => Value::Float(
                ops::broadcast_mul(&first.to_float(), &args.remove(0).to_float())
                    .map_err(|e| anyhow!(e))?,
            ),
            Op::MulConst(c) => {
                Value::Float(ops::broadcast_mul(&first.to_float(), c).map_err(|e| anyhow!(e))?)
            }
            Op::Relu => ops::relu(first),
            Op::Clip { min, max } => ops::clip(&first, *min, *max),
            Op::Add => match (first, args.remove(0)) {
                // two channels-innermost tensors of one shape: summed as they are
                (Value::QuantNhwc(x), Value::QuantNhwc(y)) if x.t.shape == y.t.shape => {
                    Value::SumQNhwc(Box::new(x), Box::new(y))
                }
                (x, y) => s(ops::add(x.planar(), y.planar()))?,
            },
            Op::AddConst(c) => {
                Value::Float(ops::broadcast_add(&first.to_float(), c).map_err(|e| anyhow!(e))?)
            }
            Op::QLinearAdd { a, b, y } => {
                // the node's own scales and zero points on both inputs
                let own = |q: QTensor, (scale, zp): (f32, i32)| QTensor { scale, zp, ..q };
                let (first, second) = match (first, args.remove(0)) {
                    // both channels innermost with one shape: element-wise as they are
                    (Value::QuantNhwc(qa), Value::QuantNhwc(qb)) if qa.t.shape == qb.t.shape => {
                        let sum = super::value::qlinear_add(&own(qa, *a), &own(qb, *b), y.0, y.1);
                        return Ok(Value::QuantNhwc(sum));
                    }
                    (x, y) => (x.planar(), y.planar()),
                };
                let (Value::Quant(qa), Value::Quant(qb)) = (first, second) else {
                    return Err(anyhow!("QLinearAdd inputs must be uint8 tensors"));
                };
                let (qa, qb) = ops::broadcast_pair(qa, qb).map_err(|e| anyhow!(e))?;
                Value::Quant(super::value::qlinear_add(
                    &own(qa, *a),
                    &own(qb, *b),
                    y.0,
                    y.1,
                ))
            }
            Op::MaxPool(p) => s(ops::max_pool(&first, p))?,
            Op::AveragePool(p) => s(ops::avg_pool(&first, p))?,
            Op::GlobalAveragePool => s(ops::global_avg_pool(&first))?,
            Op::QLinearPool { pool, x, y } => {
                let Value::Quant(q) = first else {
                    return Err(anyhow!("the input must be a uint8 tensor"));
                };
                let v = Value::Quant(QTensor {
                    scale: x.0,
                    zp: x.1,
                    ..q
                });
                let f = match pool {
                    Some(p) => s(ops::qlinear_avg_pool(&v, p))?,
                    None => s(ops::qlinear_global_avg_pool(&v))?,
                };
                Value::Quant(f.quantize(y.0, y.1))
            }
            Op::Flatten { axis } => s(ops::flatten(first, *axis))?,
            Op::Reshape { shape } => s(ops::reshape(first, shape))?,
            Op::Concat { axis } => {
                let mut all = vec![first];
                all.append(&mut args);
                s(ops::concat(all, *axis))?
            }
            Op::QLinearSoftmax { axis, legacy, x, y } => {
                let Value::Quant(q) = first else {
                    return Err(anyhow!("the input must be a uint8 tensor"));
                };
                let v = Value::Quant(QTensor {
                    scale: x.0,
                    zp: x.1,
                    ..q
                });
                Value::Quant(s(ops::softmax_q(v, *axis, *legacy))?.quantize(y.0, y.1))
            }
            Op::QLinearConcat { axis, xs, y } => {
                let mut all = vec![first];
                all.append(&mut args);
                let mut parts = Vec::with_capacity(all.len());
                for (v, &(scale, zp)) in all.into_iter().zip(xs) {
                    let Value::Quant(q) = v else {
                        return Err(anyhow!("QLinearConcat inputs must be uint8 tensors"));
                    };
                    let q = Value::Quant(QTensor { scale, zp, ..q });
                    parts.push(Value::Quant(q.quantize(y.0, y.1)));
                }
                s(ops::concat(parts, *axis))?
            }
            Op::Softmax { axis, legacy } => s(ops::softmax_q(first, *axis, *legacy))?,
            Op::Identity => first,
            Op::ConstU8(_) => unreachable!("handled above"),
        })
    }
}
