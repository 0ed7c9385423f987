//! What `prove` tells people and scripts: the verdict, what it covers, and
//! on failure a counterexample in the golden GEMM format that `sparqgen
//! verify --golden` replays.

use super::datapath::Cex;
use super::spec::{Case, Operands, Spec};
use super::Target;
use crate::config::{ArrayShape, PeKind};
use serde_json::{json, Value};

/// The verdict on one netlist.
#[derive(Debug, Clone)]
pub enum Outcome {
    Pending,
    Proven,
    /// A cycle whose product differs from the model's.
    Refuted(Box<Refutation>),
    /// The accumulator's control does not follow the contract.
    Control(String),
    /// A bit the design observes is `x` in the RTL (named), where the model
    /// defines every bit.
    Undefined(String),
}

#[derive(Debug, Clone)]
pub struct Refutation {
    pub slot: usize,
    pub case: String,
    pub operands: Operands,
    pub act: u64,
    pub wgt: u64,
    pub expected: i64,
    pub actual: i64,
}

impl Outcome {
    pub fn refuted(spec: &Spec, slot: usize, case: &Case, cex: Cex, _what: &str) -> Outcome {
        Outcome::Refuted(Box::new(Refutation {
            slot,
            case: case.label.clone(),
            operands: spec.operands(cex.act, cex.wgt),
            act: cex.act,
            wgt: cex.wgt,
            expected: cex.expected,
            actual: cex.actual,
        }))
    }

    pub fn is_proven(&self) -> bool {
        matches!(self, Outcome::Proven)
    }

    fn word(&self) -> &'static str {
        match self {
            Outcome::Proven => "PROVEN",
            Outcome::Pending => "NOT RUN",
            _ => "REFUTED",
        }
    }

    fn json(&self) -> Value {
        match self {
            Outcome::Proven => json!({"verdict": "proven"}),
            Outcome::Pending => json!({"verdict": "not_run"}),
            Outcome::Control(why) => json!({"verdict": "refuted", "part": "control", "why": why}),
            Outcome::Undefined(why) => {
                json!({"verdict": "refuted", "part": "undefined", "why": why})
            }
            Outcome::Refuted(r) => json!({
                "verdict": "refuted",
                "part": "product",
                "counterexample": {
                    "lane": r.slot,
                    "case": r.case,
                    "acts": r.operands.acts,
                    "weights": r.operands.b,
                    "idx": r.operands.idx.map(|(a, b)| vec![a, b]),
                    "act_i": format!("0x{:x}", r.act),
                    "wgt_i": format!("0x{:x}", r.wgt),
                    "expected": r.expected,
                    "actual": r.actual,
                }
            }),
        }
    }
}

/// The result for one design.
pub struct Report {
    pub design: String,
    pub pe: String,
    pub array: String,
    pub pe_count: u32,
    pub origin: String,
    pub latency: u32,
    pub slots: usize,
    pub cases: usize,
    pub classes: usize,
    pub outcome: Outcome,
    /// The synthesized gate netlist's verdict, when asked for.
    pub gates: Option<Box<Outcome>>,
    pub seconds: f64,
    kind: PeKind,
}

impl Report {
    pub fn new(t: &Target) -> Report {
        let d = &t.manifest.design;
        let array = match d.array() {
            ArrayShape::Systolic { rows, cols } => format!("systolic {rows}x{cols}"),
            ArrayShape::Dot { lanes } => format!("dot unit, {lanes} lanes"),
            ArrayShape::Single => "single PE".into(),
        };
        Report {
            design: d.name().to_string(),
            pe: d.pe().kind().label(),
            array,
            pe_count: d.array().pe_count(),
            origin: t.origin.clone(),
            latency: t.manifest.latency_cycles,
            slots: 0,
            cases: 0,
            classes: 0,
            outcome: Outcome::Pending,
            gates: None,
            seconds: 0.0,
            kind: d.pe().kind(),
        }
    }

    pub fn passed(&self) -> bool {
        self.outcome.is_proven() && self.gates.as_ref().is_none_or(|g| g.is_proven())
    }

    /// What one proof covers, in words.
    pub fn coverage(&self) -> String {
        match self.array.as_str() {
            a if a.starts_with("systolic") => format!(
                "every PE of the array is the same module ({}_pe, fed by {}_decode), so this \
                 proof, made on the array elaborated 1 x 1 (where res_o is the accumulator), \
                 covers all {} PEs; the skew, the streaming output chain (tiles back to back, \
                 stalls, bubbles, a one-tile layer, the closing clear) and interconnect are \
                 covered by `verify`'s simulation",
                self.design, self.design, self.pe_count
            ),
            a if a.starts_with("dot") => format!(
                "each of the {} lanes is proven with the others at zero, and with every lane \
                 free the accumulator is proven to be the sum of the lanes alone (the adder \
                 tree)",
                self.slots
            ),
            _ => "the single PE".to_string(),
        }
    }

    pub fn text(&self) -> String {
        let mut s = format!(
            "prove {} ({}; {}): {} in {:.1} s\n  RTL: {}\n",
            self.design,
            self.pe,
            self.array,
            if self.passed() { "PROVEN" } else { "REFUTED" },
            self.seconds,
            self.origin
        );
        match &self.outcome {
            Outcome::Proven => {
                s += &format!(
                    "  product: equal to the model for every input of one cycle ({} case{} x \
                     every activation and weight; {} activation classes at the cut)\n",
                    self.cases,
                    if self.cases == 1 { "" } else { "s" },
                    self.classes
                );
                s += &format!(
                    "  accumulate/clear/valid, latency {} edges: proven by induction (base and \
                     step by SAT)\n",
                    self.latency
                );
            }
            Outcome::Control(why) => s += &format!("  product: proven\n  control: {why}\n"),
            Outcome::Refuted(r) => s += &refutation_text(r, &self.kind),
            Outcome::Undefined(why) => s += &format!("  undefined: {why}\n"),
            Outcome::Pending => {}
        }
        if let Some(g) = &self.gates {
            s += &format!(
                "  gate netlist (synth -flatten; abc -g cmos2): {}\n",
                g.word()
            );
            match g.as_ref() {
                Outcome::Refuted(r) => s += &refutation_text(r, &self.kind),
                Outcome::Control(why) => s += &format!("  control: {why}\n"),
                Outcome::Undefined(why) => s += &format!("  undefined: {why}\n"),
                _ => {}
            }
        }
        s += &format!("  coverage: {}\n", self.coverage());
        s
    }

    pub fn json(&self) -> Value {
        json!({
            "design": self.design,
            "pe": self.pe,
            "array": self.array,
            "pe_count": self.pe_count,
            "origin": self.origin,
            "proven": self.passed(),
            "rtl": self.outcome.json(),
            "gates": self.gates.as_ref().map(|g| g.json()),
            "cases": self.cases,
            "classes": self.classes,
            "latency_cycles": self.latency,
            "seconds": self.seconds,
            "coverage": self.coverage(),
        })
    }

    /// A counterexample as one GEMM case for `verify --golden`, when the
    /// golden format can state this PE kind (SPARQ; not the baselines).
    pub fn replay_case(&self) -> Option<Value> {
        let r = match &self.outcome {
            Outcome::Refuted(r) => r,
            _ => match self.gates.as_deref() {
                Some(Outcome::Refuted(r)) => r,
                _ => return None,
            },
        };
        let PeKind::Sparq(s) = self.kind else {
            return None;
        };
        let o = &r.operands;
        let (a, b): (Vec<i64>, Vec<i64>) = match o.idx {
            None => (
                o.acts.iter().map(|&v| i64::from(v)).collect(),
                o.b.iter().map(|&v| i64::from(v)).collect(),
            ),
            Some((i1, i2)) => {
                let mut w = vec![0i64; 4];
                if o.b[0] != 0 && o.b[1] != 0 && i1 == i2 {
                    return None;
                }
                w[usize::from(i1)] = i64::from(o.b[0]);
                if o.b[1] != 0 {
                    w[usize::from(i2)] = i64::from(o.b[1]);
                }
                (o.acts.iter().map(|&v| i64::from(v)).collect(), w)
            }
        };
        Some(json!({
            "source": format!("sparqgen prove counterexample for design {}", self.design),
            "layout": "C[m][n] = PE product of activation row A[m] (uint8) and weight row B[n] (int8) along K",
            "cases": [{
                "config": {
                    "window_bits": s.placements.window_bits(),
                    "placements": s.placements.count(),
                    "rounding": s.rounding.yaml_name(),
                    "stc_2of4": s.stc,
                    "pair_sharing": s.pair_sharing,
                },
                "A": [a],
                "B": [b],
                "C": [[r.expected]],
            }]
        }))
    }
}

fn refutation_text(r: &Refutation, kind: &PeKind) -> String {
    let o = &r.operands;
    let acts = match (kind, o.idx) {
        (PeKind::Mac8x8, _) => format!("a = {}", o.acts[0]),
        (_, Some(_)) => format!(
            "group (a0, a1, a2, a3) = ({}, {}, {}, {})",
            o.acts[0], o.acts[1], o.acts[2], o.acts[3]
        ),
        _ => format!("(a1, a2) = ({}, {})", o.acts[0], o.acts[1]),
    };
    let wgts = if o.b.len() == 1 {
        format!("b = {}", o.b[0])
    } else {
        format!("(b1, b2) = ({}, {})", o.b[0], o.b[1])
    };
    let idx = o
        .idx
        .map(|(a, b)| format!(", (idx1, idx2) = ({a}, {b})"))
        .unwrap_or_default();
    format!(
        "  product: counterexample (lane {}, case {}): {acts}, {wgts}{idx}; act_i = 0x{:x}, \
         wgt_i = 0x{:x}: expected {}, the RTL gives {}\n",
        r.slot, r.case, r.act, r.wgt, r.expected, r.actual
    )
}
