//! Import: an ONNX graph becomes a list of steps over numbered slots, with
//! every MAC layer's weights extracted once. Everything the run would
//! refuse is refused here, before any image is processed.

use super::layer::mac_layer;
use super::lower::MacLayer;
use super::onnx::{self, Const, ConstData, Graph, Node};
use super::ops::Pool;
use super::NetError;
use crate::arith::Tensor;
use std::collections::{HashMap, HashSet};

/// What a step does.
#[derive(Debug, Clone)]
pub enum Op {
    Quantize {
        scale: f32,
        zp: i32,
    },
    Dequantize {
        scale: f32,
        zp: i32,
    },
    /// MAC layer `layer`; `x_q`: the input's quantization when the op
    /// states it (QLinear forms); `y_q`: requantize the output.
    Mac {
        layer: usize,
        x_q: Option<(f32, i32)>,
        y_q: Option<(f32, i32)>,
    },
    /// MatMulInteger / ConvInteger: layer `layer`'s int32 accumulators
    /// `sum((a - a_zp) * w)` with scale 1 (what a Cast to float reads).
    /// `a_zp`: the stated activation zero point; None: the input's own (a
    /// DynamicQuantizeLinear's `y_zero_point`).
    MacInteger {
        layer: usize,
        a_zp: Option<i32>,
    },
    /// DynamicQuantizeLinear's `y` (its scale and zero point travel with it).
    DynamicQuantize,
    /// DynamicQuantizeLinear's `y_scale` (float scalar) or `y_zero_point`
    /// (uint8 scalar), read off its `y`.
    QParam {
        zero_point: bool,
    },
    /// Cast of an int32 accumulator to float.
    CastFloat,
    /// `a * b` in f32 with broadcasting.
    Mul,
    /// Multiply by a constant, broadcasting.
    MulConst(Tensor<f32>),
    Relu,
    Clip {
        min: f32,
        max: f32,
    },
    Add,
    /// A uint8 constant operand (its quantization is given by the consumer).
    ConstU8(Tensor<u8>),
    /// Add a constant (a bias after MatMul, say), broadcasting.
    AddConst(Tensor<f32>),
    QLinearAdd {
        a: (f32, i32),
        b: (f32, i32),
        y: (f32, i32),
    },
    MaxPool(Pool),
    AveragePool(Pool),
    GlobalAveragePool,
    /// com.microsoft QLinearAveragePool / QLinearGlobalAveragePool.
    QLinearPool {
        pool: Option<Pool>,
        x: (f32, i32),
        y: (f32, i32),
    },
    Flatten {
        axis: i64,
    },
    Reshape {
        shape: Vec<i64>,
    },
    Concat {
        axis: i64,
    },
    /// com.microsoft QLinearSoftmax (attribute `opset` < 13: legacy rows).
    QLinearSoftmax {
        axis: i64,
        legacy: bool,
        x: (f32, i32),
        y: (f32, i32),
    },
    /// com.microsoft QLinearConcat: each input's quantization, the output's.
    QLinearConcat {
        axis: i64,
        xs: Vec<(f32, i32)>,
        y: (f32, i32),
    },
    /// `legacy`: opset < 13, where the input is seen as 2-D (the axes
    /// before `axis` by the rest) and normalized over each row.
    Softmax {
        axis: i64,
        legacy: bool,
    },
    Identity,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub node: String,
    pub op_type: String,
    pub op: Op,
    pub inputs: Vec<usize>,
    pub output: usize,
}

/// A constant that a DequantizeLinear turns into a quantized weight or bias.
#[derive(Debug, Clone)]
struct DeqConst {
    q: Const,
    scale: Vec<f32>,
    zp: Vec<i64>,
    /// The DequantizeLinear's axis (per-axis scales).
    axis: i64,
}

#[derive(Debug, Clone)]
enum Kind {
    Const(Const),
    Deq(DeqConst),
    Slot(usize),
}

/// The imported network.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The MAC layers, read-only once imported ([`Plan::weight_sums`] is
    /// computed from them).
    pub layers: Vec<MacLayer>,
    pub input: onnx::Io,
    pub output: onnx::Io,
    pub input_slot: usize,
    pub output_slot: usize,
    pub slots: usize,
    /// Per slot: the last step that reads it (values are dropped after).
    pub last_use: Vec<usize>,
    /// Per layer: [`MacLayer::weight_sums`], computed at import.
    weight_sums: Vec<Vec<i32>>,
    /// Unique per import (a clone shares it: the same layers).
    id: u64,
}

impl Plan {
    /// This import's identity: within one plan, layer `i` has the same
    /// weights on every run (see [`super::lower::MacEngine::begin_plan`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Layer `l`'s per-output-channel weight sums (the zero-point term).
    pub fn weight_sums(&self, l: usize) -> &[i32] {
        &self.weight_sums[l]
    }
}

/// `Mac -> QuantizeLinear` where the QuantizeLinear is the only reader of
/// the accumulator (a QDQ graph's Conv/Gemm and its output quantization):
/// the layer requantizes itself, and the QuantizeLinear passes the codes
/// through. The same codes ([`MacLayer::finish_requant_nhwc`] equals
/// `AccTensor::requantize`, which the QuantizeLinear ran), without the
/// int32 tensor between the two.
fn fuse_quantize(steps: &mut [Step], output_slot: usize) {
    for i in 0..steps.len() {
        let Op::Mac { y_q: None, .. } = steps[i].op else {
            continue;
        };
        let out = steps[i].output;
        if out == output_slot {
            continue;
        }
        let readers: Vec<usize> = (0..steps.len())
            .filter(|&j| steps[j].inputs.contains(&out))
            .collect();
        let [j] = readers[..] else {
            continue;
        };
        if steps[j].inputs != [out] {
            continue;
        }
        if let Op::Quantize { scale, zp } = steps[j].op {
            if let Op::Mac { y_q, .. } = &mut steps[i].op {
                *y_q = Some((scale, zp));
            }
            steps[j].op = Op::Identity;
        }
    }
}

struct Builder<'g> {
    path: String,
    graph: &'g Graph,
    kinds: HashMap<String, Kind>,
    slots: usize,
    steps: Vec<Step>,
    layers: Vec<MacLayer>,
    /// Slots a DequantizeLinear of an activation wrote: its scale.
    act_scale: HashMap<usize, f32>,
    /// Slots that only some consumers may read (see [`Restricted`]).
    restricted: HashMap<usize, Restricted>,
    /// Slots ONNX types as uint8 (quantized codes).
    codes: HashSet<usize>,
}

/// Ops that take uint8 codes as their (first) input; every other op reads
/// float, and ONNX Runtime rejects (or has no kernel for) uint8 there.
const READS_CODES: &[&str] = &[
    "DequantizeLinear",
    "MaxPool",
    "Flatten",
    "Reshape",
    "Identity",
    "Concat",
    "QLinearConv",
    "QLinearMatMul",
    "QGemm",
    "QLinearAdd",
    "QLinearAveragePool",
    "QLinearGlobalAveragePool",
    "QLinearSoftmax",
    "QLinearConcat",
    "MatMulInteger",
    "ConvInteger",
];

/// Values of the integer ops that ONNX types as uint8 or int32: each may
/// feed only the consumer whose semantics sparqgen runs exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Restricted {
    /// MatMulInteger/ConvInteger output (int32): read by Cast to float.
    Int32,
    /// DynamicQuantizeLinear `y` (slot): input 0 of MatMulInteger/ConvInteger.
    DynY,
    /// DynamicQuantizeLinear `y_zero_point` of the `y` in that slot: input 2
    /// of MatMulInteger/ConvInteger whose input 0 is that `y`.
    DynZp(usize),
}

pub(super) const QUANTIZE_HINT: &str =
    "quantize it first with onnxruntime.quantization.quantize_static \
     (QDQ or QOperator format, int8 weights, uint8 activations)";

pub(super) fn unsupported(n: &Node, why: impl Into<String>) -> NetError {
    NetError::Unsupported {
        node: n.name.clone(),
        op: n.op.clone(),
        why: why.into(),
    }
}

/// A constant as the real tensor it stands for (dequantized if needed).
fn const_value(n: &Node, k: &Kind) -> Result<Tensor<f32>, NetError> {
    let (c, scale, zp) = match k {
        Kind::Const(c) => (c, vec![1.0], vec![0]),
        Kind::Deq(d) => (&d.q, d.scale.clone(), d.zp.clone()),
        Kind::Slot(_) => unreachable!("called for constants only"),
    };
    if matches!(c.data, ConstData::I64(_)) && matches!(k, Kind::Const(_)) {
        return Err(unsupported(n, "an int64 constant operand"));
    }
    if scale.len() != 1 || zp.len() > 1 {
        return Err(unsupported(n, "a per-channel quantized constant operand"));
    }
    let z = zp.first().copied().unwrap_or(0) as f32;
    let data = c.as_f32().iter().map(|&v| (v - z) * scale[0]).collect();
    Ok(Tensor::new(c.dims.clone(), data))
}

impl<'g> Builder<'g> {
    fn slot(&mut self, name: &str) -> usize {
        let s = self.slots;
        self.slots += 1;
        self.kinds.insert(name.to_string(), Kind::Slot(s));
        s
    }

    fn kind(&self, n: &Node, i: usize) -> Result<&Kind, NetError> {
        let name = n
            .input(i)
            .ok_or_else(|| unsupported(n, format!("input {i} is missing")))?;
        self.kinds
            .get(name)
            .ok_or_else(|| unsupported(n, format!("input {name:?} is produced by no node")))
    }

    fn dynamic(&self, n: &Node, i: usize) -> Result<usize, NetError> {
        match self.kind(n, i)? {
            Kind::Slot(s) => Ok(*s),
            _ => Err(unsupported(
                n,
                format!("input {i} is a constant; expected a tensor computed by the graph"),
            )),
        }
    }

    /// A computed input, or a uint8 constant materialized into a slot.
    fn dynamic_or_u8(&mut self, n: &Node, i: usize) -> Result<usize, NetError> {
        if let Kind::Const(c) = self.kind(n, i)? {
            let ConstData::U8(v) = &c.data else {
                return Err(unsupported(
                    n,
                    format!("input {i} is a constant that is not uint8"),
                ));
            };
            let t = Tensor::new(c.dims.clone(), v.clone());
            let s = self.slots;
            self.slots += 1;
            self.steps.push(Step {
                node: format!("{} (constant input {i})", n.name),
                op_type: "Constant".into(),
                op: Op::ConstU8(t),
                inputs: vec![],
                output: s,
            });
            return Ok(s);
        }
        self.dynamic(n, i)
    }

    fn constant(&self, n: &Node, i: usize) -> Result<&Const, NetError> {
        match self.kind(n, i)? {
            Kind::Const(c) => Ok(c),
            _ => Err(unsupported(n, format!("input {i} must be a constant"))),
        }
    }

    fn scalar_f32(&self, n: &Node, i: usize) -> Result<f32, NetError> {
        let c = self.constant(n, i)?;
        match c.as_f32().as_slice() {
            [v] => Ok(*v),
            _ => Err(unsupported(
                n,
                format!("input {i} must be a scalar scale (per-tensor activations)"),
            )),
        }
    }

    /// An activation zero point: uint8 scalar, or absent (0).
    fn act_zp(&self, n: &Node, i: usize) -> Result<i32, NetError> {
        if n.input(i).is_none() {
            return Ok(0);
        }
        let c = self.constant(n, i)?;
        match (&c.data, c.len()) {
            (ConstData::U8(v), 1) => Ok(i32::from(v[0])),
            (ConstData::I8(_), _) => Err(unsupported(
                n,
                "int8 activations; the PEs take uint8 activations (quantize with activation_type=QuantType.QUInt8)",
            )),
            _ => Err(unsupported(n, format!("input {i} must be a uint8 scalar zero point"))),
        }
    }

    fn push(&mut self, n: &Node, op: Op, inputs: Vec<usize>) -> Result<(), NetError> {
        let out = n
            .outputs
            .first()
            .ok_or_else(|| unsupported(n, "no output"))?
            .clone();
        let output = self.slot(&out);
        let codes = match &op {
            Op::Quantize { .. }
            | Op::DynamicQuantize
            | Op::QLinearAdd { .. }
            | Op::QLinearPool { .. }
            | Op::QLinearSoftmax { .. }
            | Op::QLinearConcat { .. }
            | Op::Mac { y_q: Some(_), .. } => true,
            Op::MaxPool(_)
            | Op::Flatten { .. }
            | Op::Reshape { .. }
            | Op::Identity
            | Op::Concat { .. } => inputs.first().is_some_and(|i| self.codes.contains(i)),
            _ => false,
        };
        if codes {
            self.codes.insert(output);
        }
        self.steps.push(Step {
            node: n.name.clone(),
            op_type: n.op.clone(),
            op,
            inputs,
            output,
        });
        Ok(())
    }

    /// uint8 codes may feed only the ops of [`READS_CODES`], and a Concat
    /// takes all codes or all floats, as ONNX types them.
    fn check_codes(&self, n: &Node) -> Result<(), NetError> {
        let is_codes: Vec<(usize, bool)> = n
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(i, name)| match self.kinds.get(name) {
                Some(Kind::Slot(s)) => Some((i, self.codes.contains(s))),
                _ => None,
            })
            .collect();
        if let Some((i, _)) = is_codes.iter().find(|(_, c)| *c) {
            if !READS_CODES.contains(&n.op.as_str()) {
                return Err(unsupported(
                    n,
                    format!(
                        "input {i} is uint8 codes (a QuantizeLinear's output); {} reads float \
                         there (put a DequantizeLinear before it)",
                        n.op
                    ),
                ));
            }
            if n.op == "MaxPool" && self.graph.opset < 12 {
                return Err(unsupported(
                    n,
                    format!(
                        "MaxPool of uint8 codes needs opset 12 or later (the model imports \
                         opset {}; ONNX Runtime rejects it)",
                        self.graph.opset
                    ),
                ));
            }
            if n.op == "Concat" && is_codes.iter().any(|(_, c)| !c) {
                return Err(unsupported(
                    n,
                    "mixes uint8 codes and float inputs (ONNX Concat takes one type)",
                ));
            }
        }
        Ok(())
    }

    fn node(&mut self, n: &Node) -> Result<(), NetError> {
        if n.outputs.first().is_none_or(|o| o.is_empty()) {
            return Err(unsupported(n, "has no output"));
        }
        let domain_ok = n.domain.is_empty() || n.domain == "ai.onnx" || n.domain == "com.microsoft";
        if !domain_ok {
            return Err(unsupported(
                n,
                format!("domain {:?} is not supported", n.domain),
            ));
        }
        check_attr_types(n)?;
        self.check_restricted(n)?;
        self.check_codes(n)?;
        match n.op.as_str() {
            "QuantizeLinear" => {
                let dt = n.int("output_dtype", 0);
                if dt != 0 && dt != i64::from(onnx::UINT8) {
                    return Err(unsupported(
                        n,
                        format!(
                            "output_dtype {} ({dt}); activations are uint8 (output_dtype 2, or \
                             absent with a uint8 zero point)",
                            onnx::elem_type_name(dt as i32)
                        ),
                    ));
                }
                if n.int("block_size", 0) != 0 {
                    return Err(unsupported(
                        n,
                        "blocked quantization (block_size) is not supported",
                    ));
                }
                let x = self.dynamic(n, 0)?;
                let (scale, zp) = (self.scalar_f32(n, 1)?, self.act_zp(n, 2)?);
                self.push(n, Op::Quantize { scale, zp }, vec![x])
            }
            "DequantizeLinear" => match self.kind(n, 0)?.clone() {
                Kind::Const(q) => {
                    if n.int("block_size", 0) != 0 {
                        return Err(unsupported(
                            n,
                            "blocked quantization (block_size) is not supported",
                        ));
                    }
                    let sc = self.constant(n, 1)?;
                    if sc.dims.len() > 1 {
                        return Err(unsupported(
                            n,
                            format!(
                                "scale of shape {:?}; a scalar or a 1-D vector is allowed",
                                sc.dims
                            ),
                        ));
                    }
                    let scale = sc.as_f32();
                    let zp = match n.input(2) {
                        Some(_) => self.constant(n, 2)?.as_i64().unwrap_or_default(),
                        None => vec![0; scale.len()],
                    };
                    let axis = n.int("axis", 1);
                    let rank = q.dims.len() as i64;
                    if scale.len() > 1 && !(-rank..rank).contains(&axis) {
                        return Err(unsupported(
                            n,
                            format!("axis {axis} is out of range for the rank-{rank} input"),
                        ));
                    }
                    let out = n.outputs[0].clone(); // present: checked in node()
                    self.kinds
                        .insert(out, Kind::Deq(DeqConst { q, scale, zp, axis }));
                    Ok(())
                }
                Kind::Deq(_) => Err(unsupported(n, "dequantizes a dequantized constant")),
                Kind::Slot(x) => {
                    let (scale, zp) = (self.scalar_f32(n, 1)?, self.act_zp(n, 2)?);
                    self.push(n, Op::Dequantize { scale, zp }, vec![x])?;
                    let out = self.slots - 1;
                    self.act_scale.insert(out, scale);
                    Ok(())
                }
            },
            "Conv" | "Gemm" | "MatMul" => self.qdq_mac(n),
            "QLinearConv" | "QLinearMatMul" | "QGemm" => self.qlinear_mac(n),
            "Relu" => self.unary(n, Op::Relu),
            "Clip" => {
                let bound = |i: usize, attr: &str, d: f32| -> Result<f32, NetError> {
                    match n.input(i) {
                        Some(_) => self.scalar_f32(n, i),
                        None => Ok(n.float(attr).unwrap_or(d)),
                    }
                };
                let (min, max) = (bound(1, "min", f32::MIN)?, bound(2, "max", f32::MAX)?);
                self.unary(n, Op::Clip { min, max })
            }
            "Add" => match (self.kind(n, 0)?.clone(), self.kind(n, 1)?.clone()) {
                (Kind::Slot(a), Kind::Slot(b)) => self.push(n, Op::Add, vec![a, b]),
                (Kind::Slot(a), c) | (c, Kind::Slot(a)) => {
                    let c = const_value(n, &c)?;
                    self.push(n, Op::AddConst(c), vec![a])
                }
                _ => Err(unsupported(n, "both inputs are constants")),
            },
            "QLinearAdd" => {
                let a = (self.scalar_f32(n, 1)?, self.act_zp(n, 2)?);
                let b = (self.scalar_f32(n, 4)?, self.act_zp(n, 5)?);
                let y = (self.scalar_f32(n, 6)?, self.act_zp(n, 7)?);
                let (xa, xb) = (self.dynamic_or_u8(n, 0)?, self.dynamic_or_u8(n, 3)?);
                self.push(n, Op::QLinearAdd { a, b, y }, vec![xa, xb])
            }
            "MaxPool" => {
                if n.outputs.len() > 1 && !n.outputs[1].is_empty() {
                    return Err(unsupported(n, "the Indices output is not supported"));
                }
                let p = Pool::from_node(n)?;
                self.unary(n, Op::MaxPool(p))
            }
            "AveragePool" => {
                let p = Pool::from_node(n)?;
                self.unary(n, Op::AveragePool(p))
            }
            "GlobalAveragePool" => self.unary(n, Op::GlobalAveragePool),
            "QLinearAveragePool" | "QLinearGlobalAveragePool" => {
                if n.int("channels_last", 0) != 0 {
                    return Err(unsupported(n, "channels_last is not supported"));
                }
                let pool = match n.op.as_str() {
                    "QLinearAveragePool" => Some(Pool::from_node(n)?),
                    _ => None,
                };
                let x = (self.scalar_f32(n, 1)?, self.act_zp(n, 2)?);
                let y = (self.scalar_f32(n, 3)?, self.act_zp(n, 4)?);
                let xs = self.dynamic(n, 0)?;
                self.push(n, Op::QLinearPool { pool, x, y }, vec![xs])
            }
            "Flatten" => self.unary(
                n,
                Op::Flatten {
                    axis: n.int("axis", 1),
                },
            ),
            "Reshape" => {
                let shape = self
                    .constant(n, 1)?
                    .as_i64()
                    .ok_or_else(|| unsupported(n, "the shape must be an integer constant"))?;
                if let Some(d) = shape.iter().find(|&&d| d < -1) {
                    return Err(unsupported(
                        n,
                        format!("shape {shape:?}: entry {d} is not allowed (-1, 0 or positive)"),
                    ));
                }
                if shape.iter().filter(|&&d| d == -1).count() > 1 {
                    return Err(unsupported(
                        n,
                        format!("shape {shape:?}: at most one entry may be -1"),
                    ));
                }
                if n.int("allowzero", 0) != 0 && shape.contains(&0) {
                    return Err(unsupported(
                        n,
                        format!(
                            "shape {shape:?} with allowzero = 1: a 0 entry makes an empty \
                             tensor{} (allowzero 0 copies the input's dimension)",
                            if shape.contains(&-1) {
                                ", and with -1 it is invalid"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                if let Kind::Const(c) = self.kind(n, 0)?.clone() {
                    return self.reshape_const(n, c, &shape);
                }
                self.unary(n, Op::Reshape { shape })
            }
            "Concat" => {
                if n.inputs.is_empty() {
                    return Err(unsupported(n, "no inputs (Concat takes at least one)"));
                }
                let inputs = (0..n.inputs.len())
                    .map(|i| self.dynamic(n, i))
                    .collect::<Result<Vec<_>, _>>()?;
                self.push(
                    n,
                    Op::Concat {
                        axis: n.int("axis", 1),
                    },
                    inputs,
                )
            }
            "QLinearSoftmax" => {
                let opset = match n.attrs.get("opset") {
                    Some(onnx::Attr::Int(v)) => *v,
                    _ => {
                        return Err(unsupported(
                            n,
                            "attribute opset is missing (it is required)",
                        ))
                    }
                };
                let legacy = opset < 13;
                let axis = n.int("axis", if legacy { 1 } else { -1 });
                let x = (self.scalar_f32(n, 1)?, self.act_zp(n, 2)?);
                let y = (self.scalar_f32(n, 3)?, self.act_zp(n, 4)?);
                let xs = self.dynamic(n, 0)?;
                self.push(n, Op::QLinearSoftmax { axis, legacy, x, y }, vec![xs])
            }
            "QLinearConcat" => {
                let axis = n
                    .attrs
                    .get("axis")
                    .and_then(|a| match a {
                        onnx::Attr::Int(v) => Some(*v),
                        _ => None,
                    })
                    .ok_or_else(|| unsupported(n, "axis is missing (it is required)"))?;
                if n.inputs.len() < 5 || !(n.inputs.len() - 2).is_multiple_of(3) {
                    return Err(unsupported(
                        n,
                        format!(
                            "{} inputs; QLinearConcat takes Y_scale, Y_zero_point and one \
                             (X, X_scale, X_zero_point) triple per input",
                            n.inputs.len()
                        ),
                    ));
                }
                let y = (self.scalar_f32(n, 0)?, self.act_zp(n, 1)?);
                let mut xs = vec![];
                let mut slots = vec![];
                for i in (2..n.inputs.len()).step_by(3) {
                    xs.push((self.scalar_f32(n, i + 1)?, self.act_zp(n, i + 2)?));
                    slots.push(self.dynamic_or_u8(n, i)?);
                }
                self.push(n, Op::QLinearConcat { axis, xs, y }, slots)
            }
            "Softmax" => {
                let legacy = self.graph.opset < 13;
                let axis = n.int("axis", if legacy { 1 } else { -1 });
                self.unary(n, Op::Softmax { axis, legacy })
            }
            "Identity" | "Dropout" => self.unary(n, Op::Identity),
            "MatMulInteger" | "ConvInteger" => self.integer_mac(n),
            "DynamicQuantizeLinear" => self.dynamic_quantize(n),
            "Cast" => {
                let to = n.int("to", 0);
                let x = self.dynamic(n, 0)?;
                if to != i64::from(onnx::FLOAT)
                    || self.restricted.get(&x) != Some(&Restricted::Int32)
                {
                    return Err(unsupported(
                        n,
                        format!(
                            "Cast to {} ({to}) of {:?}; only the int32 output of MatMulInteger or \
                             ConvInteger cast to float (to = 1) is supported",
                            onnx::elem_type_name(to as i32),
                            n.input(0).unwrap_or_default()
                        ),
                    ));
                }
                self.push(n, Op::CastFloat, vec![x])
            }
            "Mul" => match (self.kind(n, 0)?.clone(), self.kind(n, 1)?.clone()) {
                (Kind::Slot(a), Kind::Slot(b)) => self.push(n, Op::Mul, vec![a, b]),
                (Kind::Slot(a), c) | (c, Kind::Slot(a)) => {
                    let c = const_value(n, &c)?;
                    self.push(n, Op::MulConst(c), vec![a])
                }
                _ => Err(unsupported(n, "both inputs are constants")),
            },
            _ => Err(unsupported(n, "this op is not supported")),
        }
    }

    /// Refuse a node that reads a [`Restricted`] slot in a way sparqgen
    /// does not run exactly.
    fn check_restricted(&self, n: &Node) -> Result<(), NetError> {
        for (i, name) in n.inputs.iter().enumerate() {
            let Some(Kind::Slot(s)) = self.kinds.get(name) else {
                continue;
            };
            let Some(&r) = self.restricted.get(s) else {
                continue;
            };
            let integer = n.op == "MatMulInteger" || n.op == "ConvInteger";
            let (ok, what) = match r {
                Restricted::Int32 => (
                    n.op == "Cast" && i == 0,
                    "the int32 output of MatMulInteger/ConvInteger may be read only by Cast to float",
                ),
                Restricted::DynY => (
                    integer && i == 0,
                    "the uint8 output y of DynamicQuantizeLinear may be read only as input 0 of \
                     MatMulInteger/ConvInteger",
                ),
                Restricted::DynZp(y) => (
                    integer && i == 2 && self.kinds.get(n.input(0).unwrap_or_default()).is_some_and(
                        |k| matches!(k, Kind::Slot(a) if *a == y),
                    ),
                    "the y_zero_point of DynamicQuantizeLinear may be read only as input 2 of the \
                     MatMulInteger/ConvInteger whose input 0 is the same DynamicQuantizeLinear's y",
                ),
            };
            if !ok {
                return Err(unsupported(n, format!("input {i} ({name:?}): {what}")));
            }
        }
        Ok(())
    }

    /// DynamicQuantizeLinear: `y` in one step, `y_scale` and `y_zero_point`
    /// (when used) read off it by two more.
    fn dynamic_quantize(&mut self, n: &Node) -> Result<(), NetError> {
        let x = self.dynamic(n, 0)?;
        self.push(n, Op::DynamicQuantize, vec![x])?;
        let y = self.slots - 1;
        self.restricted.insert(y, Restricted::DynY);
        for (i, zero_point) in [(1, false), (2, true)] {
            let Some(out) = n.outputs.get(i).filter(|o| !o.is_empty()) else {
                continue;
            };
            let s = self.slot(out);
            self.steps.push(Step {
                node: format!(
                    "{} ({})",
                    n.name,
                    if zero_point {
                        "y_zero_point"
                    } else {
                        "y_scale"
                    }
                ),
                op_type: n.op.clone(),
                op: Op::QParam { zero_point },
                inputs: vec![y],
                output: s,
            });
            if zero_point {
                self.restricted.insert(s, Restricted::DynZp(y));
            }
        }
        Ok(())
    }

    /// MatMulInteger / ConvInteger: a MAC layer on int8 weights whose int32
    /// accumulators are the output (scale 1).
    fn integer_mac(&mut self, n: &Node) -> Result<(), NetError> {
        let x = match self.kind(n, 0)? {
            Kind::Slot(s) => *s,
            _ => return Err(unsupported(n, "the activation input is a constant")),
        };
        let q = match self.kind(n, 1)? {
            Kind::Const(c) => c.clone(),
            _ => {
                return Err(unsupported(
                    n,
                    "input 1 (the weights) must be an int8 constant",
                ))
            }
        };
        let zp = match n.input(3) {
            Some(_) => {
                let z = self.constant(n, 3)?;
                if z.type_name() != q.type_name() {
                    return Err(unsupported(
                        n,
                        format!(
                            "input 3 (the weight zero point) is {}, the weights {}; the two \
                             must have one type",
                            z.type_name(),
                            q.type_name()
                        ),
                    ));
                }
                z.as_i64().unwrap_or_default()
            }
            None => vec![0],
        };
        let a_zp = match n.input(2).map(|_| self.kind(n, 2)) {
            None => Some(0),
            Some(Ok(Kind::Slot(s))) => match self.restricted.get(s) {
                Some(Restricted::DynZp(y)) if *y == x => None,
                _ => {
                    return Err(unsupported(
                        n,
                        "input 2 (the activation zero point) is computed; allowed: a uint8 \
                         constant, or the y_zero_point of the DynamicQuantizeLinear whose y is input 0",
                    ))
                }
            },
            Some(_) => Some(self.act_zp(n, 2)?),
        };
        let ones = vec![1.0f32; zp.len().max(1)];
        let layer = mac_layer(&self.path, n, &q, &ones, &zp, None, None)?;
        self.layers.push(layer);
        let op = Op::MacInteger {
            layer: self.layers.len() - 1,
            a_zp,
        };
        self.push(n, op, vec![x])?;
        self.restricted.insert(self.slots - 1, Restricted::Int32);
        Ok(())
    }

    /// Reshape of a constant (quantize_dynamic reshapes a Conv's float
    /// bias to `[1, O, 1, 1]`): folded at import.
    fn reshape_const(&mut self, n: &Node, mut c: Const, shape: &[i64]) -> Result<(), NetError> {
        let total = c.len();
        let mut dims: Vec<usize> = shape
            .iter()
            .enumerate()
            .map(|(i, &d)| match d {
                0 => c.dims.get(i).copied().unwrap_or(0),
                d if d > 0 => d as usize,
                _ => 1,
            })
            .collect();
        let known = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if let Some(i) = shape.iter().position(|&d| d == -1) {
            if let Some(k) = known.filter(|&k| k > 0 && total.is_multiple_of(k)) {
                dims[i] = total / k;
            }
        }
        if dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(total) {
            return Err(unsupported(
                n,
                format!(
                    "shape {shape:?} does not fit the constant {:?} ({total} values)",
                    c.dims
                ),
            ));
        }
        c.dims = dims;
        let out = n.outputs[0].clone(); // present: checked in node()
        self.kinds.insert(out, Kind::Const(c));
        Ok(())
    }

    fn unary(&mut self, n: &Node, op: Op) -> Result<(), NetError> {
        let x = self.dynamic(n, 0)?;
        self.push(n, op, vec![x])
    }

    fn qdq_mac(&mut self, n: &Node) -> Result<(), NetError> {
        let x = match self.kind(n, 0)? {
            Kind::Slot(s) => *s,
            _ => return Err(unsupported(n, "the activation input is a constant")),
        };
        let (q, scale, zp, axis) = match self.kind(n, 1)? {
            Kind::Deq(d) => (d.q.clone(), d.scale.clone(), d.zp.clone(), d.axis),
            Kind::Const(_) => {
                return Err(NetError::FloatModel {
                    path: self.path.clone(),
                    node: n.label(),
                    hint: QUANTIZE_HINT,
                })
            }
            Kind::Slot(_) => {
                return Err(unsupported(
                    n,
                    "weights computed at run time are not supported",
                ))
            }
        };
        let bias = match n.input(2) {
            None => None,
            Some(_) => match self.kind(n, 2)? {
                Kind::Deq(d) if d.zp.iter().all(|&z| z == 0) => {
                    self.check_bias_scale(n, x, &scale, &d.scale)?;
                    Some(d.q.clone())
                }
                Kind::Const(c) => Some(c.clone()),
                _ => return Err(unsupported(n, "bias must be a dequantized int32 constant")),
            },
        };
        let layer = mac_layer(&self.path, n, &q, &scale, &zp, bias.as_ref(), Some(axis))?;
        self.layers.push(layer);
        let op = Op::Mac {
            layer: self.layers.len() - 1,
            x_q: None,
            y_q: None,
        };
        self.push(n, op, vec![x])
    }

    /// A QDQ bias is the int32 accumulator's bias only when its scale is
    /// the input scale times the weight scale (per channel), as
    /// quantize_static writes it; anything else is refused.
    fn check_bias_scale(
        &self,
        n: &Node,
        x: usize,
        w_scale: &[f32],
        b_scale: &[f32],
    ) -> Result<(), NetError> {
        let Some(&xs) = self.act_scale.get(&x) else {
            return Ok(());
        };
        let w_at = |i: usize| w_scale.get(i).or(w_scale.first()).copied().unwrap_or(1.0);
        let b_at = |i: usize| b_scale.get(i).or(b_scale.first()).copied().unwrap_or(1.0);
        let count = w_scale.len().max(b_scale.len());
        for i in 0..count {
            let want = xs * w_at(i);
            let got = b_at(i);
            if (got - want).abs() > 1e-6 * want.abs() {
                return Err(unsupported(
                    n,
                    format!(
                        "bias scale {got} (channel {i}) is not input scale x weight scale = \
                         {xs} x {} = {want}; the int32 bias must share the accumulator's scale",
                        w_at(i)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn qlinear_mac(&mut self, n: &Node) -> Result<(), NetError> {
        let x = self.dynamic(n, 0)?;
        let x_q = (self.scalar_f32(n, 1)?, self.act_zp(n, 2)?);
        let q = self.constant(n, 3)?.clone();
        let scale = self.constant(n, 4)?.as_f32();
        let zp = match n.input(5) {
            Some(_) => self.constant(n, 5)?.as_i64().unwrap_or_default(),
            None => vec![0; scale.len()],
        };
        let (y_idx, bias_idx) = match n.op.as_str() {
            "QLinearConv" => (6, Some(8)),
            "QLinearMatMul" => (6, None),
            _ => (7, Some(6)), // QGemm: A, a_s, a_zp, B, b_s, b_zp, C, y_s, y_zp
        };
        let bias = match bias_idx.and_then(|i| n.input(i).map(|_| i)) {
            Some(i) => Some(self.constant(n, i)?.clone()),
            None => None,
        };
        let y_q = match n.input(y_idx) {
            Some(_) => Some((self.scalar_f32(n, y_idx)?, self.act_zp(n, y_idx + 1)?)),
            None => None,
        };
        let layer = mac_layer(&self.path, n, &q, &scale, &zp, bias.as_ref(), None)?;
        self.layers.push(layer);
        let op = Op::Mac {
            layer: self.layers.len() - 1,
            x_q: Some(x_q),
            y_q,
        };
        self.push(n, op, vec![x])
    }
}

/// Attributes the importer reads must have the type the ONNX spec gives
/// them (ONNX Runtime refuses a mismatch; reading a default instead would
/// silently run another model).
fn check_attr_types(n: &Node) -> Result<(), NetError> {
    use onnx::Attr;
    const INT: &[&str] = &[
        "group",
        "axis",
        "count_include_pad",
        "ceil_mode",
        "transA",
        "transB",
        "allowzero",
        "output_dtype",
        "block_size",
        "opset",
        "channels_last",
        "storage_order",
        "saturate",
        "to",
    ];
    const INTS: &[&str] = &["strides", "pads", "dilations", "kernel_shape"];
    const FLOAT: &[&str] = &["alpha", "beta", "min", "max"];
    for (key, v) in &n.attrs {
        let want = if INT.contains(&key.as_str()) {
            matches!(v, Attr::Int(_)).then_some(()).ok_or("an integer")
        } else if INTS.contains(&key.as_str()) {
            matches!(v, Attr::Ints(_))
                .then_some(())
                .ok_or("a list of integers")
        } else if FLOAT.contains(&key.as_str()) {
            matches!(v, Attr::Float(_)).then_some(()).ok_or("a float")
        } else if key == "auto_pad" {
            matches!(v, Attr::Str(_)).then_some(()).ok_or("a string")
        } else {
            Ok(())
        };
        if let Err(what) = want {
            return Err(unsupported(n, format!("attribute {key} must be {what}")));
        }
    }
    Ok(())
}

/// A float AveragePool or GlobalAveragePool runs exactly only as ONNX
/// Runtime's integer QLinear kernels do: after a DequantizeLinear and
/// read only by QuantizeLinear (the form ORT fuses). Anywhere else ORT sums
/// floats in its own vector order, which sparqgen does not reproduce.
fn check_average_pools(steps: &[Step], output_slot: usize) -> Result<(), NetError> {
    for (i, st) in steps.iter().enumerate() {
        if !matches!(st.op, Op::AveragePool(_) | Op::GlobalAveragePool) {
            continue;
        }
        let after_dq = st.inputs.first().is_some_and(|&x| {
            steps[..i]
                .iter()
                .any(|p| p.output == x && matches!(p.op, Op::Dequantize { .. }))
        });
        let only_q = st.output != output_slot
            && steps[i + 1..]
                .iter()
                .filter(|c| c.inputs.contains(&st.output))
                .all(|c| matches!(c.op, Op::Quantize { .. }));
        if !(after_dq && only_q) {
            return Err(NetError::Unsupported {
                node: st.node.clone(),
                op: st.op_type.clone(),
                why: format!(
                    "{} must read a DequantizeLinear and feed only QuantizeLinear (the form \
                     ONNX Runtime runs as integer QLinear{}); its float sums elsewhere follow \
                     ORT's own order",
                    st.op_type, st.op_type
                ),
            });
        }
    }
    Ok(())
}

/// `Q1 -> DQ1 -> Q2 -> DQ2` where the middle pair changes the scale or
/// zero point: ONNX Runtime's optimizer (DoubleQDQPairsRemover) drops the
/// middle pair and gives Q1 and DQ2 one merged scale, which changes the
/// codes; ONNX's own semantics (what sparqgen runs) round twice. Refused.
fn check_requantize(steps: &[Step]) -> Result<(), NetError> {
    let producer = |slot: usize| steps.iter().find(|p| p.output == slot);
    for q2 in steps {
        let Op::Quantize { scale, zp } = q2.op else {
            continue;
        };
        let Some(dq1) = q2.inputs.first().and_then(|&x| producer(x)) else {
            continue;
        };
        let Op::Dequantize { scale: s0, zp: z0 } = dq1.op else {
            continue;
        };
        let after_q = dq1
            .inputs
            .first()
            .and_then(|&x| producer(x))
            .is_some_and(|q1| matches!(q1.op, Op::Quantize { .. }));
        let then_dq = steps
            .iter()
            .any(|c| c.inputs.contains(&q2.output) && matches!(c.op, Op::Dequantize { .. }));
        if (s0, z0) != (scale, zp) && after_q && then_dq {
            return Err(NetError::Unsupported {
                node: q2.node.clone(),
                op: q2.op_type.clone(),
                why: format!(
                    "requantizes the output of DequantizeLinear {:?} (scale {s0}, zero point \
                     {z0}) to scale {scale}, zero point {zp} between two more Q/DQ nodes; ONNX \
                     Runtime's optimizer merges such pairs into one quantization, which changes \
                     the codes (allowed: the same scale and zero point)",
                    dq1.node
                ),
            });
        }
    }
    Ok(())
}

/// Import a graph read from `path`.
pub fn build(path: &str, graph: &Graph) -> Result<Plan, NetError> {
    let input = graph
        .inputs
        .first()
        .cloned()
        .ok_or_else(|| NetError::Model {
            path: path.to_string(),
            why: "the graph has no input".into(),
        })?;
    let output = graph
        .outputs
        .first()
        .cloned()
        .ok_or_else(|| NetError::Model {
            path: path.to_string(),
            why: "the graph has no output".into(),
        })?;
    if graph.inputs.len() > 1 {
        return Err(NetError::Model {
            path: path.to_string(),
            why: format!(
                "{} graph inputs; one image input is supported",
                graph.inputs.len()
            ),
        });
    }
    let mut b = Builder {
        path: path.to_string(),
        graph,
        kinds: graph
            .consts
            .iter()
            .map(|(k, v)| (k.clone(), Kind::Const(v.clone())))
            .collect(),
        slots: 0,
        steps: vec![],
        layers: vec![],
        act_scale: HashMap::new(),
        restricted: HashMap::new(),
        codes: HashSet::new(),
    };
    let input_slot = b.slot(&input.name);
    for n in &b.graph.nodes {
        b.node(n)?;
    }
    let output_slot = match b.kinds.get(&output.name) {
        Some(Kind::Slot(s)) => *s,
        _ => {
            return Err(NetError::Model {
                path: path.to_string(),
                why: format!("output {:?} is not computed by the graph", output.name),
            })
        }
    };
    check_average_pools(&b.steps, output_slot)?;
    check_requantize(&b.steps)?;
    fuse_quantize(&mut b.steps, output_slot);
    let mut last_use = vec![usize::MAX; b.slots];
    for (i, s) in b.steps.iter().enumerate() {
        for &x in &s.inputs {
            last_use[x] = i;
        }
    }
    last_use[output_slot] = usize::MAX;
    let weight_sums = b.layers.iter().map(MacLayer::weight_sums).collect();
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    Ok(Plan {
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        steps: b.steps,
        weight_sums,
        layers: b.layers,
        input,
        output,
        input_slot,
        output_slot,
        slots: b.slots,
        last_use,
    })
}
