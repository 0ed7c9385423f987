//! The design description: parsed once from YAML (or JSON), validated into
//! types that cannot hold an invalid design, and hashed.
//!
//! Two stages, like ripgrep's low/high arguments: [`RawDesign`] is what the
//! user typed (every field optional, unknown fields rejected), [`Design`] is
//! the validated result that every other module takes by reference.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;

/// The embedded default design: SPARQ, 4-bit window, 5opt, round half even,
/// pair sharing, 8x8 systolic array, 32-bit accumulator.
pub const DEFAULT_DESIGN_YAML: &str = include_str!("../configs/default.yaml");

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

// ---------------------------------------------------------------------------
// Stage 1: what the user typed.
// ---------------------------------------------------------------------------

/// The design as written. Every field is optional so that omitted fields
/// take their documented default and fields a PE kind does not use can be
/// reported by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDesign {
    pub name: Option<String>,
    pub pe: Option<RawPe>,
    pub array: Option<RawArray>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPe {
    pub kind: Option<String>,
    pub window_bits: Option<u32>,
    pub placements: Option<u32>,
    pub rounding: Option<String>,
    pub pair_sharing: Option<bool>,
    pub stc: Option<bool>,
    pub acc_bits: Option<u32>,
    pub pipeline: Option<u32>,
    pub datapath_reset: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArray {
    pub kind: Option<String>,
    pub rows: Option<u32>,
    pub cols: Option<u32>,
    pub lanes: Option<u32>,
}

// ---------------------------------------------------------------------------
// Stage 2: the validated design.
// ---------------------------------------------------------------------------

/// Rounding applied when an activation is trimmed to its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// `RAW` in the reference: the bits below the window are dropped.
    Truncate,
    /// `ROUND` in the reference: round half to even at the window's LSB,
    /// saturating inside the chosen window.
    RoundHalfEven,
}

impl Rounding {
    pub const ALL: [Rounding; 2] = [Rounding::Truncate, Rounding::RoundHalfEven];

    /// The name used in the design description.
    pub fn yaml_name(self) -> &'static str {
        match self {
            Rounding::Truncate => "truncate",
            Rounding::RoundHalfEven => "round_half_even",
        }
    }

    /// The short name used in benchmark and report tables.
    pub fn short(self) -> &'static str {
        match self {
            Rounding::Truncate => "trunc",
            Rounding::RoundHalfEven => "round",
        }
    }
}

/// A set of allowed window placements (docs/arithmetic.md, "bSPARQ"). Each set implies
/// its window width, so a width/placement mismatch cannot be represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlacementSet {
    /// n = 4, shifts 4, 3, 2, 1, 0.
    #[serde(rename = "5opt")]
    Opt5,
    /// n = 4, shifts 4, 2, 0.
    #[serde(rename = "3opt")]
    Opt3,
    /// n = 4, shifts 4, 0.
    #[serde(rename = "2opt")]
    Opt2,
    /// n = 3, shifts 5..0.
    #[serde(rename = "6opt")]
    Opt6,
    /// n = 2, shifts 6..0.
    #[serde(rename = "7opt")]
    Opt7,
}

/// A window: its width and the shifts it may be placed at, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub bits: u32,
    pub shifts: &'static [u32],
}

impl Window {
    /// The 6-bit window vSPARQ gives a lone activation when n = 3.
    pub const WIDE6: Window = Window {
        bits: 6,
        shifts: &[2, 1, 0],
    };
    /// The 4-bit window vSPARQ gives a lone activation when n = 2.
    pub const WIDE4: Window = Window {
        bits: 4,
        shifts: &[4, 3, 2, 1, 0],
    };
    /// The whole 8-bit activation (the exact path when n = 4).
    pub const EXACT8: Window = Window {
        bits: 8,
        shifts: &[0],
    };

    /// Placement chosen for activation `a`: the smallest allowed shift `s`
    /// with `s + bits - 1 >= p`, `p` the leading one's index; the lowest
    /// placement when `a < 2^bits` (zero included).
    pub fn shift_for(self, a: u8) -> u32 {
        let lowest = *self.shifts.last().expect("a window has placements");
        if u32::from(a) < (1u32 << self.bits) {
            return lowest;
        }
        let p = 7 - a.leading_zeros();
        // shifts are highest first: the smallest fitting one is the last
        // that still covers p.
        let mut best = self.shifts[0];
        for &s in self.shifts {
            if s + self.bits > p {
                best = s;
            }
        }
        best
    }
}

impl PlacementSet {
    pub const ALL: [PlacementSet; 5] = [
        PlacementSet::Opt5,
        PlacementSet::Opt3,
        PlacementSet::Opt2,
        PlacementSet::Opt6,
        PlacementSet::Opt7,
    ];

    /// Window width n.
    pub fn window_bits(self) -> u32 {
        self.window().bits
    }

    /// Number of placements (the `placements` field).
    pub fn count(self) -> u32 {
        self.window().shifts.len() as u32
    }

    /// The n-bit window of this set.
    pub fn window(self) -> Window {
        match self {
            PlacementSet::Opt5 => Window {
                bits: 4,
                shifts: &[4, 3, 2, 1, 0],
            },
            PlacementSet::Opt3 => Window {
                bits: 4,
                shifts: &[4, 2, 0],
            },
            PlacementSet::Opt2 => Window {
                bits: 4,
                shifts: &[4, 0],
            },
            PlacementSet::Opt6 => Window {
                bits: 3,
                shifts: &[5, 4, 3, 2, 1, 0],
            },
            PlacementSet::Opt7 => Window {
                bits: 2,
                shifts: &[6, 5, 4, 3, 2, 1, 0],
            },
        }
    }

    /// The window a lone activation (partner zero) gets under vSPARQ: the
    /// exact 8-bit value for n = 4, `wide6` for n = 3, `wide4` for n = 2.
    pub fn wide_window(self) -> Window {
        match self.window_bits() {
            4 => Window::EXACT8,
            3 => Window::WIDE6,
            _ => Window::WIDE4,
        }
    }

    /// `5opt`, `3opt`, ...
    pub fn name(self) -> &'static str {
        match self {
            PlacementSet::Opt5 => "5opt",
            PlacementSet::Opt3 => "3opt",
            PlacementSet::Opt2 => "2opt",
            PlacementSet::Opt6 => "6opt",
            PlacementSet::Opt7 => "7opt",
        }
    }

    /// The set for a `(window_bits, placements)` pair, if it exists.
    pub fn from_fields(window_bits: u32, placements: u32) -> Option<PlacementSet> {
        PlacementSet::ALL
            .into_iter()
            .find(|s| s.window_bits() == window_bits && s.count() == placements)
    }

    /// The placement counts allowed with a window width.
    pub fn allowed_placements(window_bits: u32) -> Vec<u32> {
        PlacementSet::ALL
            .into_iter()
            .filter(|s| s.window_bits() == window_bits)
            .map(|s| s.count())
            .collect()
    }
}

impl fmt::Display for PlacementSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The arithmetic of a SPARQ PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SparqArith {
    pub placements: PlacementSet,
    pub rounding: Rounding,
    /// vSPARQ: a zero activation gives its partner the whole budget.
    pub pair_sharing: bool,
    /// Weights are 2:4 structured sparse (4 activations, 2 weights in).
    pub stc: bool,
}

/// What a processing element computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PeKind {
    Sparq(SparqArith),
    /// One exact 8b x 8b product per cycle.
    Mac8x8,
    /// Two 4b x 8b products per cycle on pre-quantized 4-bit activations.
    Mac4x8,
}

impl PeKind {
    /// The PE's short label, the one every table, report, plot and file name
    /// uses: `sparq 5opt round`, `sparq 3opt trunc bsparq stc`, `mac8x8`, ...
    /// Names `bsparq` when pair sharing is off and `stc` for 2:4 weights.
    pub fn label(&self) -> String {
        match self {
            PeKind::Sparq(s) => format!(
                "sparq {} {}{}{}",
                s.placements.name(),
                s.rounding.short(),
                if s.pair_sharing { "" } else { " bsparq" },
                if s.stc { " stc" } else { "" }
            ),
            other => other.name().to_string(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            PeKind::Sparq(_) => "sparq",
            PeKind::Mac8x8 => "mac8x8",
            PeKind::Mac4x8 => "mac4x8",
        }
    }

    /// Largest activation value the PE accepts.
    pub fn act_max(&self) -> u8 {
        match self {
            PeKind::Mac4x8 => 15,
            _ => 255,
        }
    }

    /// Products summed by one PE per cycle (its activation throughput on
    /// dense data).
    pub fn products_per_cycle(&self) -> u32 {
        match self {
            PeKind::Mac8x8 => 1,
            _ => 2,
        }
    }

    /// Activations consumed per PE per cycle (2:4 SPARQ reads four, of which
    /// at most two have a non-zero weight).
    pub fn activations_per_cycle(&self) -> u32 {
        match self {
            PeKind::Sparq(s) if s.stc => 4,
            PeKind::Mac8x8 => 1,
            _ => 2,
        }
    }

    /// Bits of one activation as the PE reads it: 4-bit codes for mac4x8,
    /// the 8-bit value otherwise.
    pub fn act_code_bits(&self) -> u32 {
        match self {
            PeKind::Mac4x8 => 4,
            _ => 8,
        }
    }

    /// Bits of one weight as the PE reads it: the signed 8-bit value, and
    /// for 2:4 SPARQ the 2-bit index of its position in the group of four.
    pub fn weight_code_bits(&self) -> u32 {
        match self {
            PeKind::Sparq(s) if s.stc => 8 + 2,
            _ => 8,
        }
    }

    /// Widths of one lane's slice of `act_i` and `wgt_i` (the operand
    /// encodings of the PE interface): every activation and every weight
    /// one PE takes per cycle. SPARQ 16/16, SPARQ 2:4 32/20, mac8x8 8/8,
    /// mac4x8 8/16.
    pub fn lane_bits(&self) -> (u32, u32) {
        (
            self.activations_per_cycle() * self.act_code_bits(),
            self.products_per_cycle() * self.weight_code_bits(),
        )
    }
}

/// Register stages inside the PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub struct Pipeline(u32);

impl Pipeline {
    pub const MAX: u32 = 2;
    pub fn stages(self) -> u32 {
        self.0
    }
}

impl From<Pipeline> for u32 {
    fn from(p: Pipeline) -> u32 {
        p.0
    }
}

impl TryFrom<u32> for Pipeline {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, String> {
        if v <= Pipeline::MAX {
            Ok(Pipeline(v))
        } else {
            Err(format!("{v} is not allowed (allowed: 0, 1, 2)"))
        }
    }
}

/// A validated processing element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Pe {
    #[serde(flatten)]
    pub kind: PeKind,
    pub acc_bits: u32,
    pub pipeline: Pipeline,
    /// Datapath flip-flops (pipeline operand and sum registers, a systolic
    /// array's activation and weight skew registers) have the reset. False
    /// drops it for ASIC area; accumulators and valid/clear keep theirs.
    /// Serialized only when false, so designs without it hash as before.
    #[serde(skip_serializing_if = "is_true")]
    pub datapath_reset: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

/// How PEs are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArrayShape {
    /// R x C output-stationary systolic array.
    Systolic { rows: u32, cols: u32 },
    /// L pairs in parallel into an adder tree and one accumulator.
    Dot { lanes: u32 },
    /// One PE.
    Single,
}

impl ArrayShape {
    pub fn name(&self) -> &'static str {
        match self {
            ArrayShape::Systolic { .. } => "systolic",
            ArrayShape::Dot { .. } => "dot",
            ArrayShape::Single => "single",
        }
    }

    /// Number of PEs (lanes for a dot unit).
    pub fn pe_count(&self) -> u32 {
        match *self {
            ArrayShape::Systolic { rows, cols } => rows * cols,
            ArrayShape::Dot { lanes } => lanes,
            ArrayShape::Single => 1,
        }
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

/// A validated design. Construct with [`Design::from_yaml`] or
/// [`Design::from_raw`]; every field is consistent by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Design {
    pub name: String,
    pub pe: Pe,
    pub array: ArrayShape,
}

impl Design {
    /// The embedded default design.
    pub fn default_design() -> Design {
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
        let name = raw.name.unwrap_or_else(|| "sparq_sa8x8".to_string());
        validate_name(&name)?;
        let pe = validate_pe(raw.pe.unwrap_or_default())?;
        let array = validate_array(raw.array.unwrap_or_default())?;
        let design = Design { name, pe, array };
        let need = design.acc_bits_needed_per_cycle();
        if design.pe.acc_bits < need {
            return Err(field_err(
                "pe.acc_bits",
                format!(
                    "{} is too narrow: one cycle of this {} {} can add up to {} \
                     (needs at least {need} bits, signed; allowed: {need}..={})",
                    design.pe.acc_bits,
                    design.pe.kind.name(),
                    design.array.name(),
                    design.max_abs_per_cycle(),
                    limits::ACC_BITS_MAX
                ),
            ));
        }
        Ok(design)
    }

    /// Largest |sum| one accumulator can receive in one cycle.
    pub fn max_abs_per_cycle(&self) -> u64 {
        let per_pe =
            u64::from(self.pe.kind.products_per_cycle()) * u64::from(self.pe.kind.act_max()) * 128;
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
        u64::from(self.pe.kind.act_max()) * 128
    }

    /// The longest reduction (K, activations per output) that the
    /// accumulator holds exactly for any inputs. Beyond it the accumulator
    /// wraps modulo 2^acc_bits (two's complement), which the model and the
    /// CLI refuse rather than hide.
    pub fn exact_k_max(&self) -> u64 {
        let limit = (1u64 << (self.pe.acc_bits - 1)) - 1;
        limit / self.max_abs_product()
    }

    /// SPARQ arithmetic, if this is a SPARQ PE.
    pub fn sparq(&self) -> Option<&SparqArith> {
        match &self.pe.kind {
            PeKind::Sparq(s) => Some(s),
            _ => None,
        }
    }

    /// Canonical JSON of the validated design (stable field order).
    pub fn canonical_json(&self) -> String {
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
            self.pe.kind.name()
        );
        if let PeKind::Sparq(s) = &self.pe.kind {
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
            self.pe.acc_bits,
            self.pe.pipeline.stages(),
        ));
        if !self.pe.datapath_reset {
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

/// Hex SHA-256 of bytes.
pub fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
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

fn reject_unused(kind: &str, fields: &[(&str, bool)]) -> Result<(), DesignError> {
    for (field, present) in fields {
        if *present {
            return Err(field_err(
                field,
                format!("is not used by pe.kind {kind} (remove it; only kind sparq takes it)"),
            ));
        }
    }
    Ok(())
}

fn validate_pe(raw: RawPe) -> Result<Pe, DesignError> {
    let kind_name = raw.kind.clone().unwrap_or_else(|| "sparq".to_string());
    let kind = match kind_name.as_str() {
        "sparq" => PeKind::Sparq(validate_sparq(&raw)?),
        "mac8x8" | "mac4x8" => {
            reject_unused(
                &kind_name,
                &[
                    ("pe.window_bits", raw.window_bits.is_some()),
                    ("pe.placements", raw.placements.is_some()),
                    ("pe.rounding", raw.rounding.is_some()),
                    ("pe.pair_sharing", raw.pair_sharing.is_some()),
                    ("pe.stc", raw.stc.is_some()),
                ],
            )?;
            if kind_name == "mac8x8" {
                PeKind::Mac8x8
            } else {
                PeKind::Mac4x8
            }
        }
        other => {
            return Err(field_err(
                "pe.kind",
                format!("{other:?} is not allowed (allowed: sparq, mac8x8, mac4x8)"),
            ))
        }
    };
    let acc_bits = raw.acc_bits.unwrap_or(limits::DEFAULT_ACC_BITS);
    if !(2..=limits::ACC_BITS_MAX).contains(&acc_bits) {
        return Err(field_err(
            "pe.acc_bits",
            format!(
                "{acc_bits} is not allowed (allowed: enough for one cycle's sum ..= {})",
                limits::ACC_BITS_MAX
            ),
        ));
    }
    let pipeline =
        Pipeline::try_from(raw.pipeline.unwrap_or(0)).map_err(|m| field_err("pe.pipeline", m))?;
    let datapath_reset = raw.datapath_reset.unwrap_or(true);
    Ok(Pe {
        kind,
        acc_bits,
        pipeline,
        datapath_reset,
    })
}

fn validate_sparq(raw: &RawPe) -> Result<SparqArith, DesignError> {
    let window_bits = raw.window_bits.unwrap_or(4);
    if ![4, 3, 2].contains(&window_bits) {
        return Err(field_err(
            "pe.window_bits",
            format!("{window_bits} is not allowed (allowed: 4, 3, 2)"),
        ));
    }
    let allowed = PlacementSet::allowed_placements(window_bits);
    let placements = raw.placements.unwrap_or(allowed[0]);
    let set = PlacementSet::from_fields(window_bits, placements).ok_or_else(|| {
        let list: Vec<String> = allowed.iter().map(|p| p.to_string()).collect();
        field_err(
            "pe.placements",
            format!(
                "{placements} is not allowed with window_bits {window_bits} (allowed: {})",
                list.join(", ")
            ),
        )
    })?;
    let rounding = match raw.rounding.as_deref().unwrap_or("round_half_even") {
        "truncate" => Rounding::Truncate,
        "round_half_even" => Rounding::RoundHalfEven,
        other => {
            return Err(field_err(
                "pe.rounding",
                format!("{other:?} is not allowed (allowed: truncate, round_half_even)"),
            ))
        }
    };
    Ok(SparqArith {
        placements: set,
        rounding,
        pair_sharing: raw.pair_sharing.unwrap_or(true),
        stc: raw.stc.unwrap_or(false),
    })
}

fn validate_array(raw: RawArray) -> Result<ArrayShape, DesignError> {
    let kind = raw.kind.clone().unwrap_or_else(|| "systolic".to_string());
    let dim = |field: &str, v: Option<u32>, default: u32, max: u32| {
        let v = v.unwrap_or(default);
        if (1..=max).contains(&v) {
            Ok(v)
        } else {
            Err(field_err(
                field,
                format!("{v} is not allowed (allowed: 1..={max})"),
            ))
        }
    };
    let unused = |field: &str, present: bool| -> Result<(), DesignError> {
        if present {
            Err(field_err(
                field,
                format!("is not used by array.kind {kind} (remove it)"),
            ))
        } else {
            Ok(())
        }
    };
    match kind.as_str() {
        "systolic" => {
            unused("array.lanes", raw.lanes.is_some())?;
            Ok(ArrayShape::Systolic {
                rows: dim(
                    "array.rows",
                    raw.rows,
                    limits::DEFAULT_ROWS,
                    limits::ARRAY_DIM_MAX,
                )?,
                cols: dim(
                    "array.cols",
                    raw.cols,
                    limits::DEFAULT_COLS,
                    limits::ARRAY_DIM_MAX,
                )?,
            })
        }
        "dot" => {
            unused("array.rows", raw.rows.is_some())?;
            unused("array.cols", raw.cols.is_some())?;
            Ok(ArrayShape::Dot {
                lanes: dim(
                    "array.lanes",
                    raw.lanes,
                    limits::DEFAULT_LANES,
                    limits::LANES_MAX,
                )?,
            })
        }
        "single" => {
            unused("array.rows", raw.rows.is_some())?;
            unused("array.cols", raw.cols.is_some())?;
            unused("array.lanes", raw.lanes.is_some())?;
            Ok(ArrayShape::Single)
        }
        other => Err(field_err(
            "array.kind",
            format!("{other:?} is not allowed (allowed: systolic, dot, single)"),
        )),
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
        assert_eq!(d.name, "sparq_sa8x8");
        assert_eq!(
            d.pe.kind,
            PeKind::Sparq(SparqArith {
                placements: PlacementSet::Opt5,
                rounding: Rounding::RoundHalfEven,
                pair_sharing: true,
                stc: false
            })
        );
        assert_eq!(d.pe.acc_bits, 32);
        assert_eq!(d.array, ArrayShape::Systolic { rows: 8, cols: 8 });
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
    fn json_is_accepted() {
        let d =
            Design::from_yaml(r#"{"name":"x1","pe":{"kind":"mac4x8"},"array":{"kind":"single"}}"#)
                .unwrap();
        assert_eq!(d.pe.kind, PeKind::Mac4x8);
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
