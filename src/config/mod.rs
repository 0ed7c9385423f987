//! The design description: parsed once from YAML (or JSON), validated into
//! types that cannot hold an invalid design, and hashed.
//!
//! Two stages, like ripgrep's low/high arguments: [`RawDesign`] is what the
//! user typed (every field optional, unknown fields rejected), [`Design`] is
//! the validated result that every other module takes by reference.
//!
//! A `Design` is valid by construction: its fields are private, and every
//! way to make one ([`Design::new`], [`RawDesign::validate`], the `with_*`
//! builders) runs the same checks in [`Design::new`].

mod arith;
mod pe;
mod raw;
mod shape;

pub use arith::{PlacementSet, Rounding, Window};
pub use pe::{Field, Pe, PeKind, Pipeline, SparqArith};
pub use raw::{RawArray, RawDesign, RawPe, DEFAULT_NAME};
pub use shape::ArrayShape;

pub use crate::hash::hex_sha256;
use serde::Serialize;
use std::path::Path;

/// The embedded default design: SPARQ, 4-bit window, 5opt, round half even,
/// pair sharing, 8x8 systolic array, 32-bit accumulator.
pub const DEFAULT_DESIGN_YAML: &str = include_str!("../../configs/default.yaml");

/// An error in a design description. `field` is the dotted path of the
/// offending field (`pe.placements`), `message` says what is wrong and what
/// is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesignError {
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("design description is not valid YAML/JSON: {0}")]
    Syntax(String),
}

fn field_err(field: &str, message: impl Into<String>) -> DesignError {
    DesignError::Field {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Limits of the schema, in one place.
pub mod limits {
    pub const ACC_BITS_MAX: u32 = 48;
    pub const ARRAY_DIM_MAX: u32 = 64;
    pub const LANES_MAX: u32 = 256;
    pub const DEFAULT_ROWS: u32 = 8;
    pub const DEFAULT_COLS: u32 = 8;
    pub const DEFAULT_LANES: u32 = 4;
    pub const DEFAULT_ACC_BITS: u32 = 32;
}

/// A validated design. Construct with [`Design::from_yaml`],
/// [`Design::new`] or the `with_*` builders; every field is consistent by
/// construction and cannot be changed afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Design {
    name: String,
    pe: Pe,
    array: ArrayShape,
}

impl Design {
    /// The embedded default design.
    pub fn default_design() -> Design {
        // infallible: a unit test parses the embedded default
        Design::from_yaml(DEFAULT_DESIGN_YAML).expect("the embedded default design is valid")
    }

    /// Parse and validate a YAML (or JSON) design description.
    pub fn from_yaml(text: &str) -> Result<Design, DesignError> {
        let raw: RawDesign = if text.trim().is_empty() {
            RawDesign::default()
        } else {
            crate::yaml::from_str(text).map_err(|e| {
                if e.path.is_empty() {
                    DesignError::Syntax(e.message)
                } else {
                    field_err(&e.path_text(), e.message)
                }
            })?
        };
        Design::from_raw(raw)
    }

    /// Read, parse and validate a design file.
    pub fn from_path(path: &Path) -> anyhow::Result<Design> {
        use anyhow::Context;
        let text = crate::input::read_text(path)
            .with_context(|| format!("cannot read design file {}", path.display()))?;
        Design::from_yaml(&text).with_context(|| format!("invalid design {}", path.display()))
    }

    /// Validate what the user typed.
    pub fn from_raw(raw: RawDesign) -> Result<Design, DesignError> {
        raw.validate()
    }

    /// The one check every design passes: the name, the array's
    /// dimensions and an accumulator wide enough for one cycle's sum (the
    /// PE's own fields are checked by [`Pe::new`]).
    pub fn new(name: &str, pe: Pe, array: ArrayShape) -> Result<Design, DesignError> {
        validate_name(name)?;
        array.check()?;
        let design = Design {
            name: name.to_string(),
            pe,
            array,
        };
        let need = design.acc_bits_needed_per_cycle();
        if pe.acc_bits() < need {
            return Err(field_err(
                "pe.acc_bits",
                format!(
                    "{} is too narrow: one cycle of this {} {} can add up to {} \
                     (needs at least {need} bits, signed; allowed: {need}..={})",
                    pe.acc_bits(),
                    pe.kind().name(),
                    array.name(),
                    design.max_abs_per_cycle(),
                    limits::ACC_BITS_MAX
                ),
            ));
        }
        Ok(design)
    }

    /// This design under another name (module prefix and folder).
    pub fn with_name(&self, name: &str) -> Result<Design, DesignError> {
        Design::new(name, self.pe, self.array)
    }

    /// This design with another PE.
    pub fn with_pe(&self, pe: Pe) -> Result<Design, DesignError> {
        Design::new(&self.name, pe, self.array)
    }

    /// This design with another PE kind, same accumulator and pipeline.
    pub fn with_kind(&self, kind: PeKind) -> Result<Design, DesignError> {
        self.with_pe(self.pe.with_kind(kind))
    }

    /// This design with another accumulator width.
    pub fn with_acc_bits(&self, acc_bits: u32) -> Result<Design, DesignError> {
        self.with_pe(self.pe.with_acc_bits(acc_bits)?)
    }

    /// This design with another arrangement of its PEs.
    pub fn with_array(&self, array: ArrayShape) -> Result<Design, DesignError> {
        Design::new(&self.name, self.pe, array)
    }

    /// The design's name: module prefix and output folder.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The processing element.
    pub fn pe(&self) -> &Pe {
        &self.pe
    }

    /// How the PEs are arranged.
    pub fn array(&self) -> ArrayShape {
        self.array
    }

    /// Activations the whole design consumes per cycle: the PE's
    /// ([`PeKind::activations_per_cycle`]) times the rows of a systolic
    /// array (each row's activations are reused by every column) or the
    /// lanes of a dot unit.
    pub fn activations_per_cycle(&self) -> u32 {
        let pe = self.pe.kind().activations_per_cycle();
        match self.array {
            ArrayShape::Systolic { rows, .. } => rows * pe,
            ArrayShape::Dot { lanes } => lanes * pe,
            ArrayShape::Single => pe,
        }
    }

    /// Largest |sum| one accumulator can receive in one cycle.
    pub fn max_abs_per_cycle(&self) -> u64 {
        let per_pe = u64::from(self.pe.kind().products_per_cycle())
            * u64::from(self.pe.kind().act_max())
            * 128;
        match self.array {
            ArrayShape::Dot { lanes } => per_pe * u64::from(lanes),
            _ => per_pe,
        }
    }

    /// Signed accumulator bits needed to hold one cycle's largest sum.
    pub fn acc_bits_needed_per_cycle(&self) -> u32 {
        signed_bits_for(self.max_abs_per_cycle())
    }

    /// Largest largest-magnitude single product: `act_max * 128`.
    pub fn max_abs_product(&self) -> u64 {
        u64::from(self.pe.kind().act_max()) * 128
    }

    /// The longest reduction (K, activations per output) that the
    /// accumulator holds exactly for any inputs. Beyond it the accumulator
    /// wraps modulo 2^acc_bits (two's complement), which the model and the
    /// CLI refuse rather than hide.
    pub fn exact_k_max(&self) -> u64 {
        let limit = (1u64 << (self.pe.acc_bits() - 1)) - 1;
        limit / self.max_abs_product()
    }

    /// Cycles from operands in to their product in the accumulator.
    pub fn latency_cycles(&self) -> u32 {
        self.pe.pipeline().latency_cycles()
    }

    /// A systolic array's fill: skew plus pipeline (`ArrayShape::flush_cycles`).
    pub fn flush_cycles(&self) -> Option<u32> {
        self.array.flush_cycles(self.pe.pipeline().stages())
    }

    /// Cycles a systolic array's row takes to put out a tile's results.
    pub fn drain_cycles(&self) -> Option<u32> {
        self.array.drain_cycles()
    }

    /// SPARQ arithmetic, if this is a SPARQ PE.
    pub fn sparq(&self) -> Option<&SparqArith> {
        self.pe.sparq()
    }

    /// Canonical JSON of the validated design (stable field order).
    pub fn canonical_json(&self) -> String {
        // infallible: plain structs with string keys
        serde_json::to_string(self).expect("a design serializes")
    }

    /// SHA-256 of the canonical JSON, hex: the design hash in every report.
    pub fn hash(&self) -> String {
        hex_sha256(self.canonical_json().as_bytes())
    }

    /// First 12 hex digits of [`Design::hash`].
    pub fn short_hash(&self) -> String {
        self.hash()[..12].to_string()
    }

    /// The validated design as YAML, every field explicit (for manifests).
    pub fn to_yaml(&self) -> String {
        let mut out = format!(
            "name: {}\npe:\n  kind: {}\n",
            self.name,
            self.pe.kind().name()
        );
        if let PeKind::Sparq(s) = &self.pe.kind() {
            out.push_str(&format!(
                "  window_bits: {}\n  placements: {}\n  rounding: {}\n  pair_sharing: {}\n  stc: {}\n",
                s.placements.window_bits(),
                s.placements.count(),
                s.rounding.yaml_name(),
                s.pair_sharing,
                s.stc
            ));
        }
        out.push_str(&format!(
            "  acc_bits: {}\n  pipeline: {}\n",
            self.pe.acc_bits(),
            self.pe.pipeline().stages(),
        ));
        if !self.pe.datapath_reset() {
            out.push_str("  datapath_reset: false\n");
        }
        out.push_str(&format!("array:\n  kind: {}\n", self.array.name()));
        match self.array {
            ArrayShape::Systolic { rows, cols } => {
                out.push_str(&format!("  rows: {rows}\n  cols: {cols}\n"))
            }
            ArrayShape::Dot { lanes } => out.push_str(&format!("  lanes: {lanes}\n")),
            ArrayShape::Single => {}
        }
        out
    }
}

/// Bits of a two's-complement number that holds every value in
/// `-max_abs..=max_abs`.
pub fn signed_bits_for(max_abs: u64) -> u32 {
    // smallest b with 2^(b-1) >= max_abs (covers -max_abs; +max_abs needs
    // 2^(b-1) - 1 >= max_abs, the stricter one).
    let mut b = 1;
    while (1u64 << (b - 1)) - 1 < max_abs {
        b += 1;
    }
    b
}

fn validate_name(name: &str) -> Result<(), DesignError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 48;
    if ok {
        Ok(())
    } else {
        Err(field_err(
            "name",
            format!(
                "{name:?} is not allowed (allowed: [a-z][a-z0-9_]*, at most 48 characters; \
                 it prefixes every module and names the output folder)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pe_labels_name_every_variant_apart() {
        let sparq = |placements, rounding, pair_sharing, stc| {
            PeKind::Sparq(SparqArith {
                placements,
                rounding,
                pair_sharing,
                stc,
            })
        };
        let k = sparq(PlacementSet::Opt5, Rounding::RoundHalfEven, true, false);
        assert_eq!(k.label(), "sparq 5opt round");
        let k = sparq(PlacementSet::Opt3, Rounding::Truncate, false, true);
        assert_eq!(k.label(), "sparq 3opt trunc bsparq stc");
        assert_eq!(PeKind::Mac8x8.label(), "mac8x8");
        assert_eq!(PeKind::Mac4x8.label(), "mac4x8");
    }

    fn err(yaml: &str) -> String {
        Design::from_yaml(yaml).unwrap_err().to_string()
    }

    #[test]
    fn default_design_is_the_documented_one() {
        let d = Design::default_design();
        assert_eq!(d.name(), "sparq_sa8x8");
        assert_eq!(
            d.pe().kind(),
            PeKind::Sparq(SparqArith {
                placements: PlacementSet::Opt5,
                rounding: Rounding::RoundHalfEven,
                pair_sharing: true,
                stc: false
            })
        );
        assert_eq!(d.pe().acc_bits(), 32);
        assert_eq!(d.array(), ArrayShape::Systolic { rows: 8, cols: 8 });
        // omitted fields take the same defaults
        assert_eq!(Design::from_yaml("").unwrap(), d);
    }

    #[test]
    fn disallowed_placement_names_field_and_allowed_values() {
        assert_eq!(
            err("pe: {window_bits: 4, placements: 4}"),
            "pe.placements: 4 is not allowed with window_bits 4 (allowed: 5, 3, 2)"
        );
        assert_eq!(
            err("pe: {window_bits: 3, placements: 5}"),
            "pe.placements: 5 is not allowed with window_bits 3 (allowed: 6)"
        );
    }

    #[test]
    fn unknown_field_is_rejected() {
        let e = err("pe: {kind: sparq, windowbits: 4}");
        assert!(e.contains("unknown field `windowbits`"), "{e}");
        let e = err("colour: red");
        assert!(e.contains("unknown field `colour`"), "{e}");
    }

    #[test]
    fn wrong_type_is_rejected() {
        let e = err("pe: {window_bits: four}");
        assert!(
            e.contains("window_bits") && e.contains("invalid type"),
            "{e}"
        );
        let e = err("pe: {pair_sharing: 3}");
        assert!(e.contains("pair_sharing"), "{e}");
    }

    #[test]
    fn fields_a_kind_does_not_use_are_rejected() {
        assert_eq!(
            err("pe: {kind: mac8x8, rounding: truncate}"),
            "pe.rounding: is not used by pe.kind mac8x8 (remove it; only kind sparq takes it)"
        );
        assert!(err("array: {kind: dot, rows: 4}").starts_with("array.rows: is not used"));
        assert!(err("array: {kind: systolic, lanes: 4}").starts_with("array.lanes: is not used"));
    }

    #[test]
    fn bad_enums_and_ranges() {
        assert!(err("pe: {kind: mac16}").contains("allowed: sparq, mac8x8, mac4x8"));
        assert!(err("pe: {rounding: nearest}").contains("allowed: truncate, round_half_even"));
        assert!(err("pe: {pipeline: 3}").starts_with("pe.pipeline: 3 is not allowed"));
        assert!(err("array: {rows: 0}").starts_with("array.rows: 0 is not allowed"));
        assert!(err("name: 9lives").starts_with("name:"));
        assert!(err("name: Upper").starts_with("name:"));
    }

    #[test]
    fn narrow_accumulator_is_an_error() {
        // one SPARQ pair can sum to 2*255*128 = 65280: 17 signed bits.
        let e = err("pe: {acc_bits: 16}");
        assert!(e.starts_with("pe.acc_bits: 16 is too narrow"), "{e}");
        assert!(Design::from_yaml("pe: {acc_bits: 17}\narray: {kind: single}").is_ok());
        // a 16-lane dot unit adds 16 pairs per cycle (1,044,480): 21 bits.
        assert!(err("pe: {acc_bits: 20}\narray: {kind: dot, lanes: 16}").contains("at least 21"));
        let d = Design::from_yaml("pe: {acc_bits: 32}").unwrap();
        assert_eq!(d.exact_k_max(), 65793);
    }

    #[test]
    fn builders_run_the_same_checks_as_the_description() {
        let d = Design::default_design();
        // a 17-bit accumulator holds one SPARQ pair's cycle sum...
        assert_eq!(d.with_acc_bits(17).unwrap().pe().acc_bits(), 17);
        // ...but not one cycle of a 16-lane dot unit
        let e = d
            .with_acc_bits(17)
            .unwrap()
            .with_array(ArrayShape::Dot { lanes: 16 })
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("pe.acc_bits: 17 is too narrow"), "{e}");
        let e = d.with_acc_bits(49).unwrap_err().to_string();
        assert!(e.starts_with("pe.acc_bits: 49 is not allowed"), "{e}");
        let e = d
            .with_array(ArrayShape::Systolic { rows: 0, cols: 4 })
            .unwrap_err()
            .to_string();
        assert_eq!(e, "array.rows: 0 is not allowed (allowed: 1..=64)");
        let e = d.with_array(ArrayShape::Dot { lanes: 257 }).unwrap_err();
        assert!(e.to_string().starts_with("array.lanes: 257"), "{e}");
        assert!(d.with_name("Bad Name").is_err());
        assert!(Pipeline::new(3).is_err());
        // a builder's design equals the one the description gives
        let via_yaml = Design::from_yaml("pe: {kind: mac8x8}\narray: {kind: single}").unwrap();
        let built = d
            .with_kind(PeKind::Mac8x8)
            .unwrap()
            .with_array(ArrayShape::Single)
            .unwrap();
        assert_eq!(built, via_yaml);
        assert_eq!(built.hash(), via_yaml.hash());
    }

    #[test]
    fn json_is_accepted() {
        let d =
            Design::from_yaml(r#"{"name":"x1","pe":{"kind":"mac4x8"},"array":{"kind":"single"}}"#)
                .unwrap();
        assert_eq!(d.pe().kind(), PeKind::Mac4x8);
    }

    #[test]
    fn to_yaml_round_trips_and_hash_tracks_content() {
        for yaml in [
            "",
            "pe: {window_bits: 2, placements: 7, rounding: truncate, stc: true, pipeline: 2}",
            "pe: {kind: mac8x8, acc_bits: 24}\narray: {kind: dot, lanes: 16}",
        ] {
            let d = Design::from_yaml(yaml).unwrap();
            let again = Design::from_yaml(&d.to_yaml()).unwrap();
            assert_eq!(d, again);
            assert_eq!(d.hash(), again.hash());
        }
        let a = Design::from_yaml("pe: {rounding: truncate}").unwrap();
        let b = Design::from_yaml("pe: {rounding: round_half_even}").unwrap();
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn shift_selection_follows_the_spec() {
        let w = PlacementSet::Opt3.window();
        assert_eq!(w.shift_for(0x40), 4); // leading one at 6: window reaches above it
        assert_eq!(w.shift_for(0x0F), 0);
        assert_eq!(w.shift_for(0x10), 2);
        assert_eq!(w.shift_for(0), 0);
        assert_eq!(PlacementSet::Opt5.window().shift_for(0x1B), 1);
    }
}
