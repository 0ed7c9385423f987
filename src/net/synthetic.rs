//! A ResNet-18-shaped int8 ONNX graph (QOperator form) with random
//! weights, made in memory: for `hcm MODEL.onnx` checks and `bench net`
//! without shipping an 11 M-weight file. The torchvision layout: 7x7/2 stem,
//! 3x3/2 max pool, four stages of two basic blocks (1x1/2 downsample on the
//! first block of stages 2-4), global average pool, 512 -> 1000 classifier.
//! Every convolution's output zero point is 0, so its requantization clamps
//! at zero (the ReLU that onnxruntime's quantizer folds the same way).

use crate::workload::Rng;
use onnx_protobuf::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

const ACT_SCALE: f32 = 1.0 / 32.0;

struct G {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    rng: Rng,
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INTS.into(),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn tensor(name: &str, dims: &[i64], dt: DataType, raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: dt as i32,
        raw_data: raw,
        ..Default::default()
    }
}

fn io(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
            ..Default::default()
        })
        .collect();
    let tt = type_proto::Tensor {
        elem_type: DataType::FLOAT as i32,
        shape: Some(TensorShapeProto {
            dim,
            ..Default::default()
        })
        .into(),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.into(),
        type_: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(tt)),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

impl G {
    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        out: &str,
        attrs: Vec<AttributeProto>,
    ) {
        self.nodes.push(NodeProto {
            op_type: op.into(),
            name: name.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.into()],
            attribute: attrs,
            domain: if op.starts_with("QLinearGlobal") || op == "QLinearAdd" {
                "com.microsoft".into()
            } else {
                String::new()
            },
            ..Default::default()
        });
    }

    fn scalar_f(&mut self, name: &str, v: f32) {
        self.inits
            .push(tensor(name, &[], DataType::FLOAT, v.to_le_bytes().to_vec()));
    }

    fn scalar_u8(&mut self, name: &str, v: u8) {
        self.inits.push(tensor(name, &[], DataType::UINT8, vec![v]));
    }

    /// A QLinearConv with random weights; returns its output name.
    fn conv(&mut self, name: &str, x: &str, cin: i64, cout: i64, k: i64, s: i64) -> String {
        let kk = (cin * k * k) as usize;
        let count = cout as usize * kk;
        let w: Vec<u8> = (0..count)
            .map(|_| ((self.rng.next_u64() % 255) as i64 - 127) as i8 as u8)
            .collect();
        self.inits.push(tensor(
            &format!("{name}.w"),
            &[cout, cin, k, k],
            DataType::INT8,
            w,
        ));
        // keeps outputs in range: ~ x * 73 * sqrt(K) products, one step 1/32
        let ws = 1.0 / (73.0 * (kk as f32).sqrt());
        self.scalar_f(&format!("{name}.ws"), ws);
        self.inits
            .push(tensor(&format!("{name}.wz"), &[], DataType::INT8, vec![0]));
        let bias: Vec<u8> = (0..cout).flat_map(|_| 0i32.to_le_bytes()).collect();
        self.inits
            .push(tensor(&format!("{name}.b"), &[cout], DataType::INT32, bias));
        let out = format!("{name}.y");
        let p = (k - 1) / 2;
        self.node(
            "QLinearConv",
            name,
            &[
                x,
                "act.s",
                "act.z",
                &format!("{name}.w"),
                &format!("{name}.ws"),
                &format!("{name}.wz"),
                "act.s",
                "act.z",
                &format!("{name}.b"),
            ],
            &out,
            vec![
                ints("kernel_shape", &[k, k]),
                ints("strides", &[s, s]),
                ints("pads", &[p, p, p, p]),
            ],
        );
        out
    }

    fn add(&mut self, name: &str, a: &str, b: &str) -> String {
        let out = format!("{name}.y");
        self.node(
            "QLinearAdd",
            name,
            &[a, "act.s", "act.z", b, "act.s", "act.z", "act.s", "act.z"],
            &out,
            vec![],
        );
        out
    }
}

/// The serialized model (about 11.7 MB), weights drawn from `seed`.
pub fn resnet18_int8(seed: u64) -> Vec<u8> {
    let mut g = G {
        nodes: vec![],
        inits: vec![],
        rng: Rng::new(seed),
    };
    g.scalar_f("act.s", ACT_SCALE);
    g.scalar_u8("act.z", 0);
    g.node(
        "QuantizeLinear",
        "quant",
        &["input", "act.s", "act.z"],
        "xq",
        vec![],
    );
    let mut x = g.conv("conv1", "xq", 3, 64, 7, 2);
    g.node(
        "MaxPool",
        "maxpool",
        &[&x],
        "pool.y",
        vec![
            ints("kernel_shape", &[3, 3]),
            ints("strides", &[2, 2]),
            ints("pads", &[1, 1, 1, 1]),
        ],
    );
    x = "pool.y".into();
    let mut cin = 64;
    for (stage, cout) in [64i64, 128, 256, 512].into_iter().enumerate() {
        for block in 0..2 {
            let p = format!("layer{}.{block}", stage + 1);
            let s = if stage > 0 && block == 0 { 2 } else { 1 };
            let y = g.conv(&format!("{p}.conv1"), &x, cin, cout, 3, s);
            let y = g.conv(&format!("{p}.conv2"), &y, cout, cout, 3, 1);
            let skip = if s == 2 {
                g.conv(&format!("{p}.downsample"), &x, cin, cout, 1, 2)
            } else {
                x.clone()
            };
            x = g.add(&format!("{p}.add"), &y, &skip);
            cin = cout;
        }
    }
    g.node(
        "QLinearGlobalAveragePool",
        "avgpool",
        &[&x, "act.s", "act.z", "act.s", "act.z"],
        "gap.y",
        vec![],
    );
    g.inits.push(tensor("flat.shape", &[2], DataType::INT64, {
        let mut v = (-1i64).to_le_bytes().to_vec();
        v.extend_from_slice(&512i64.to_le_bytes());
        v
    }));
    g.node(
        "Reshape",
        "flatten",
        &["gap.y", "flat.shape"],
        "flat.y",
        vec![],
    );
    let w: Vec<u8> = (0..512 * 1000)
        .map(|_| ((g.rng.next_u64() % 255) as i64 - 127) as i8 as u8)
        .collect();
    g.inits
        .push(tensor("fc.w", &[512, 1000], DataType::INT8, w));
    g.scalar_f("fc.ws", 1.0 / (73.0 * 512f32.sqrt()));
    g.inits.push(tensor("fc.wz", &[], DataType::INT8, vec![0]));
    g.node(
        "QLinearMatMul",
        "fc",
        &[
            "flat.y", "act.s", "act.z", "fc.w", "fc.ws", "fc.wz", "act.s", "act.z",
        ],
        "fc.q",
        vec![],
    );
    g.node(
        "DequantizeLinear",
        "dequant",
        &["fc.q", "act.s", "act.z"],
        "logits",
        vec![],
    );
    let graph = GraphProto {
        name: "resnet18_shaped".into(),
        node: g.nodes,
        initializer: g.inits,
        input: vec![io("input", &[1, 3, 224, 224])],
        output: vec![io("logits", &[1, 1000])],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![
            OperatorSetIdProto {
                domain: String::new(),
                version: 13,
                ..Default::default()
            },
            OperatorSetIdProto {
                domain: "com.microsoft".into(),
                version: 1,
                ..Default::default()
            },
        ],
        graph: Some(graph).into(),
        ..Default::default()
    };
    model
        .write_to_bytes()
        // infallible: protobuf encoding into a Vec only fails on a full allocator
        .expect("an in-memory model serializes")
}
