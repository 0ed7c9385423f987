//! The Verilog parameters of the generated modules: name, generated default
//! and the range the RTL is correct for. One list serves the manifest, the
//! FuseSoC core and the elaboration-time guard every module carries
//! (`rtl/guard.v`): an out-of-range override (`-GAccBits=8`) instantiates a
//! module that does not exist and whose name states the rule, so Verilator,
//! Icarus and Yosys all stop at elaboration with that name in the message
//! (Verilog-2005 has no `$error` at elaboration, and Icarus 11 rejects it).

use super::plan::{tree_bits, PePlan};
use crate::config::{limits, ArrayShape, Design};

/// One parameter and the values its module accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRange {
    /// `UpperCamelCase`, as in the Verilog.
    pub name: &'static str,
    /// The generated default.
    pub value: u32,
    pub min: u32,
    pub max: u32,
}

impl ParamRange {
    /// The module an out-of-range value instantiates: it does not exist, so
    /// its name is the message (`bad_parameter_AccBits_must_be_17_to_48`).
    pub fn guard_module(&self) -> String {
        format!(
            "bad_parameter_{}_must_be_{}_to_{}",
            self.name, self.min, self.max
        )
    }

    /// The guard's generate block: `gen_check_acc_bits`.
    pub fn block(&self) -> String {
        let mut snake = String::new();
        for (i, ch) in self.name.chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                snake.push('_');
            }
            snake.push(ch.to_ascii_lowercase());
        }
        format!("gen_check_{snake}")
    }
}

/// The parameters of the design's top module (and of the array or PE it
/// wraps, which declare the same ones): systolic `Rows`, `Cols`, then
/// `AccBits`, at least one cycle's sum (the adder tree's, for a dot unit)
/// and at most the schema's limit.
pub fn top_params(design: &Design, plan: &PePlan) -> Vec<ParamRange> {
    let mut v = Vec::new();
    let mut acc_min = plan.sum_bits;
    match design.array() {
        ArrayShape::Systolic { rows, cols } => {
            v.push(ParamRange {
                name: "Rows",
                value: rows,
                min: 1,
                max: limits::ARRAY_DIM_MAX,
            });
            v.push(ParamRange {
                name: "Cols",
                value: cols,
                min: 1,
                max: limits::ARRAY_DIM_MAX,
            });
        }
        ArrayShape::Dot { lanes } => {
            acc_min = tree_bits(lanes, plan.sum_bits, design.acc_bits_needed_per_cycle());
        }
        ArrayShape::Single => {}
    }
    v.push(ParamRange {
        name: "AccBits",
        value: design.pe().acc_bits(),
        min: acc_min,
        max: limits::ACC_BITS_MAX,
    });
    v
}

/// The parameters of the PE module: `AccBits` alone.
pub fn pe_params(design: &Design, plan: &PePlan) -> Vec<ParamRange> {
    top_params(design, plan)
        .into_iter()
        .filter(|p| p.name == "AccBits")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_name_the_rule() {
        let d = Design::from_yaml("pe: {acc_bits: 24}\narray: {kind: systolic, rows: 2, cols: 3}")
            .unwrap();
        let p = top_params(&d, &PePlan::new(&d));
        let names: Vec<&str> = p.iter().map(|p| p.name).collect();
        assert_eq!(names, ["Rows", "Cols", "AccBits"]);
        assert_eq!(
            p[2].guard_module(),
            "bad_parameter_AccBits_must_be_17_to_48"
        );
        assert_eq!(p[2].block(), "gen_check_acc_bits");
        assert_eq!(p[0].block(), "gen_check_rows");
        for q in &p {
            assert!((q.min..=q.max).contains(&q.value), "{q:?}");
        }
    }

    #[test]
    fn dot_units_need_the_trees_width() {
        let d = Design::from_yaml("pe: {kind: mac4x8}\narray: {kind: dot, lanes: 16}").unwrap();
        let p = top_params(&d, &PePlan::new(&d));
        assert_eq!(p.last().unwrap().min, d.acc_bits_needed_per_cycle());
    }
}
