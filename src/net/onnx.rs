//! Read an ONNX file (protobuf through the `onnx-protobuf` crate) into a
//! plain graph: nodes with typed attributes, constant tensors (initializers
//! and `Constant` nodes) and the graph's inputs and outputs.

use super::NetError;
use onnx_protobuf::{attribute_proto::AttributeType, Message, ModelProto, TensorProto};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// ONNX element types we read.
pub const FLOAT: i32 = 1;
pub const UINT8: i32 = 2;
pub const INT8: i32 = 3;
pub const INT32: i32 = 6;
pub const INT64: i32 = 7;
pub const DOUBLE: i32 = 11;

/// The values of a constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstData {
    F32(Vec<f32>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// A constant tensor: an initializer or a `Constant` node's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    pub dims: Vec<usize>,
    pub data: ConstData,
}

impl Const {
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as f32 (scales), if numeric.
    pub fn as_f32(&self) -> Vec<f32> {
        match &self.data {
            ConstData::F32(v) => v.clone(),
            ConstData::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            ConstData::I8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            ConstData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            ConstData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Values as i64 (zero points, shapes).
    pub fn as_i64(&self) -> Option<Vec<i64>> {
        Some(match &self.data {
            ConstData::F32(_) => return None,
            ConstData::U8(v) => v.iter().map(|&x| i64::from(x)).collect(),
            ConstData::I8(v) => v.iter().map(|&x| i64::from(x)).collect(),
            ConstData::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            ConstData::I64(v) => v.clone(),
        })
    }

    pub fn type_name(&self) -> &'static str {
        match self.data {
            ConstData::F32(_) => "float32",
            ConstData::U8(_) => "uint8",
            ConstData::I8(_) => "int8",
            ConstData::I32(_) => "int32",
            ConstData::I64(_) => "int64",
        }
    }
}

/// A node attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Floats(Vec<f32>),
    Str(String),
    Tensor(Const),
    Other,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub op: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: BTreeMap<String, Attr>,
}

impl Node {
    /// "node NAME (OP)", for errors.
    pub fn label(&self) -> String {
        format!("node {:?} ({})", self.name, self.op)
    }

    pub fn int(&self, key: &str, default: i64) -> i64 {
        match self.attrs.get(key) {
            Some(Attr::Int(v)) => *v,
            _ => default,
        }
    }

    pub fn ints(&self, key: &str) -> Option<Vec<i64>> {
        match self.attrs.get(key) {
            Some(Attr::Ints(v)) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn float(&self, key: &str) -> Option<f32> {
        match self.attrs.get(key) {
            Some(Attr::Float(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn string(&self, key: &str) -> Option<&str> {
        match self.attrs.get(key) {
            Some(Attr::Str(v)) => Some(v),
            _ => None,
        }
    }

    /// Input `i`, or None when absent or the empty name (an omitted optional input).
    pub fn input(&self, i: usize) -> Option<&str> {
        self.inputs
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A graph input or output: name, element type and dims (None: symbolic).
#[derive(Debug, Clone)]
pub struct Io {
    pub name: String,
    pub elem_type: i32,
    pub dims: Vec<Option<usize>>,
}

#[derive(Debug, Clone)]
pub struct Graph {
    /// The default-domain opset the model imports (attribute semantics
    /// such as Softmax's depend on it).
    pub opset: i64,
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    pub consts: HashMap<String, Const>,
    pub inputs: Vec<Io>,
    pub outputs: Vec<Io>,
}

/// The name of an ONNX element type (TensorProto.DataType), every one the
/// standard defines.
pub fn elem_type_name(t: i32) -> &'static str {
    match t {
        0 => "undefined",
        FLOAT => "float32",
        UINT8 => "uint8",
        INT8 => "int8",
        4 => "uint16",
        5 => "int16",
        INT32 => "int32",
        INT64 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        DOUBLE => "float64",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        17 => "float8e4m3fn",
        18 => "float8e4m3fnuz",
        19 => "float8e5m2",
        20 => "float8e5m2fnuz",
        21 => "uint4",
        22 => "int4",
        23 => "float4e2m1",
        24 => "float8e8m0",
        25 => "uint2",
        26 => "int2",
        _ => "an unknown type",
    }
}

fn tensor(t: &TensorProto, path: &str) -> Result<Const, NetError> {
    let bad = |why: String| NetError::Model {
        path: path.to_string(),
        why: format!("tensor {:?}: {why}", t.name),
    };
    if !t.external_data.is_empty() {
        return Err(bad("stored as external data, which is not supported".into()));
    }
    let dims = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dim {d}"))))
        .collect::<Result<Vec<_>, _>>()?;
    // checked: a product that wraps around could match an empty data field
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {dims:?} has more than 2^64 elements")))?;
    let raw = &t.raw_data;
    let data = match t.data_type {
        FLOAT if !raw.is_empty() => ConstData::F32(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        FLOAT => ConstData::F32(t.float_data.clone()),
        UINT8 if !raw.is_empty() => ConstData::U8(raw.clone()),
        UINT8 => ConstData::U8(t.int32_data.iter().map(|&v| v as u8).collect()),
        INT8 if !raw.is_empty() => ConstData::I8(raw.iter().map(|&v| v as i8).collect()),
        INT8 => ConstData::I8(t.int32_data.iter().map(|&v| v as i8).collect()),
        INT32 if !raw.is_empty() => ConstData::I32(
            raw.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        INT32 => ConstData::I32(t.int32_data.clone()),
        INT64 if !raw.is_empty() => ConstData::I64(
            raw.chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        INT64 => ConstData::I64(t.int64_data.clone()),
        DOUBLE if !raw.is_empty() => ConstData::F32(
            raw.chunks_exact(8)
                .map(|c| {
                    f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
        ),
        DOUBLE => ConstData::F32(t.double_data.iter().map(|&v| v as f32).collect()),
        other => {
            return Err(bad(format!(
                "element type {} ({other}) is not supported",
                elem_type_name(other)
            )))
        }
    };
    let c = Const { dims, data };
    let got = match &c.data {
        ConstData::F32(v) => v.len(),
        ConstData::U8(v) => v.len(),
        ConstData::I8(v) => v.len(),
        ConstData::I32(v) => v.len(),
        ConstData::I64(v) => v.len(),
    };
    if got != count {
        return Err(bad(format!("{got} values for shape {:?}", c.dims)));
    }
    Ok(c)
}

fn io(v: &onnx_protobuf::ValueInfoProto) -> Io {
    let (elem_type, dims) = match v.type_.as_ref() {
        Some(t) if t.has_tensor_type() => {
            let tt = t.tensor_type();
            let dims = match tt.shape.as_ref() {
                Some(s) => s
                    .dim
                    .iter()
                    .map(|d| {
                        if d.has_dim_value() && d.dim_value() > 0 {
                            Some(d.dim_value() as usize)
                        } else {
                            None
                        }
                    })
                    .collect(),
                None => vec![],
            };
            (tt.elem_type, dims)
        }
        _ => (0, vec![]),
    };
    Io {
        name: v.name.clone(),
        elem_type,
        dims,
    }
}

/// Read and decode an ONNX model file.
pub fn read(path: &Path) -> Result<Graph, NetError> {
    let p = path.display().to_string();
    let bytes = crate::input::read_bytes(path, crate::input::MAX_MODEL_BYTES, "an ONNX model")
        .map_err(|source| NetError::Io {
            path: p.clone(),
            source,
        })?;
    read_bytes(&bytes, &p)
}

/// Decode an ONNX model held in memory; `p` names it in errors.
pub fn read_bytes(bytes: &[u8], p: &str) -> Result<Graph, NetError> {
    let p = p.to_string();
    let model = ModelProto::parse_from_bytes(bytes).map_err(|e| NetError::Model {
        path: p.clone(),
        why: format!("not an ONNX model ({e})"),
    })?;
    let g = model.graph.as_ref().ok_or_else(|| NetError::Model {
        path: p.clone(),
        why: "the model has no graph".into(),
    })?;
    let mut consts = HashMap::new();
    for t in &g.initializer {
        consts.insert(t.name.clone(), tensor(t, &p)?);
    }
    let mut nodes = Vec::new();
    for (i, n) in g.node.iter().enumerate() {
        let mut attrs = BTreeMap::new();
        for a in &n.attribute {
            let v = match a.type_.enum_value() {
                Ok(AttributeType::INT) => Attr::Int(a.i),
                Ok(AttributeType::INTS) => Attr::Ints(a.ints.clone()),
                Ok(AttributeType::FLOAT) => Attr::Float(a.f),
                Ok(AttributeType::FLOATS) => Attr::Floats(a.floats.clone()),
                Ok(AttributeType::STRING) => Attr::Str(String::from_utf8_lossy(&a.s).into_owned()),
                Ok(AttributeType::TENSOR) => match a.t.as_ref() {
                    Some(t) => Attr::Tensor(tensor(t, &p)?),
                    None => Attr::Other,
                },
                _ => Attr::Other,
            };
            attrs.insert(a.name.clone(), v);
        }
        let name = if n.name.is_empty() {
            format!("#{i}")
        } else {
            n.name.clone()
        };
        if n.op_type == "Constant" && n.domain.is_empty() {
            if let (Some(Attr::Tensor(t)), Some(out)) = (attrs.get("value"), n.output.first()) {
                consts.insert(out.clone(), t.clone());
                continue;
            }
        }
        nodes.push(Node {
            name,
            op: n.op_type.clone(),
            domain: n.domain.clone(),
            inputs: n.input.clone(),
            outputs: n.output.clone(),
            attrs,
        });
    }
    let inputs = g
        .input
        .iter()
        .filter(|v| !consts.contains_key(&v.name))
        .map(io)
        .collect();
    let outputs = g.output.iter().map(io).collect();
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(0, |o| o.version);
    if opset < 1 {
        return Err(NetError::Model {
            path: p.clone(),
            why: "the model imports no default-domain opset (opset_import)".into(),
        });
    }
    let sources: Vec<&str> = g
        .input
        .iter()
        .map(|v| v.name.as_str())
        .chain(consts.keys().map(String::as_str))
        .collect();
    let nodes = topo_sort(nodes, &sources).map_err(|why| NetError::Model {
        path: p.clone(),
        why,
    })?;
    Ok(Graph {
        opset,
        nodes,
        consts,
        inputs,
        outputs,
    })
}

/// `nodes` in an order where every node follows the producers of its
/// inputs (ONNX Runtime accepts a valid graph in any order). A tensor
/// produced twice, or a cycle, is an error naming the tensor or the nodes.
fn topo_sort(nodes: Vec<Node>, sources: &[&str]) -> Result<Vec<Node>, String> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.outputs.iter().filter(|o| !o.is_empty()) {
            if sources.contains(&o.as_str()) {
                return Err(format!(
                    "tensor {o:?} is produced by node {:?} but is also a graph input or \
                     initializer (each tensor has one producer)",
                    n.name
                ));
            }
            if let Some(&j) = producer.get(o.as_str()) {
                return Err(format!(
                    "tensor {o:?} is produced by two nodes, {:?} and {:?} (each tensor has \
                     one producer)",
                    nodes[j].name, n.name
                ));
            }
            producer.insert(o, i);
        }
    }
    // Kahn's algorithm, stable: among ready nodes the earliest in the file
    let deps: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            let mut d: Vec<usize> = n
                .inputs
                .iter()
                .filter_map(|x| producer.get(x.as_str()).copied())
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    let mut users: Vec<Vec<usize>> = vec![vec![]; nodes.len()];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            users[j].push(i);
        }
    }
    let mut missing: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: std::collections::BTreeSet<usize> =
        (0..nodes.len()).filter(|&i| missing[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            missing[u] -= 1;
            if missing[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if order.len() < nodes.len() {
        let stuck: Vec<String> = (0..nodes.len())
            .filter(|&i| missing[i] > 0)
            .take(4)
            .map(|i| format!("{:?}", nodes[i].name))
            .collect();
        return Err(format!(
            "the graph has a cycle through node(s) {} (an ONNX graph is acyclic)",
            stuck.join(", ")
        ));
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}
