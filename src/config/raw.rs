//! Stage 1: the design as the user typed it. Every field is optional so
//! that omitted fields take their documented default and fields a PE kind
//! does not use can be reported by name. [`RawDesign::validate`] fills the
//! defaults and hands the result to [`Design::new`], the one place a design
//! is checked.

use super::{
    field_err, limits, ArrayShape, Design, DesignError, Pe, PeKind, Pipeline, PlacementSet,
    Rounding, SparqArith,
};
use serde::Deserialize;

/// The name a design takes when `name` is omitted.
pub const DEFAULT_NAME: &str = "sparq_sa8x8";

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

impl RawDesign {
    /// Fill the defaults and validate.
    pub fn validate(self) -> Result<Design, DesignError> {
        let name = self.name.unwrap_or_else(|| DEFAULT_NAME.to_string());
        let pe = validate_pe(self.pe.unwrap_or_default())?;
        let array = validate_array(self.array.unwrap_or_default())?;
        Design::new(&name, pe, array)
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
    let pipeline = Pipeline::new(raw.pipeline.unwrap_or(0))?;
    let pe = Pe::new(
        kind,
        raw.acc_bits.unwrap_or(limits::DEFAULT_ACC_BITS),
        pipeline,
    )?;
    Ok(pe.with_datapath_reset(raw.datapath_reset.unwrap_or(true)))
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

/// Picks the shape and its defaults; the dimensions are checked by
/// [`Design::new`].
fn validate_array(raw: RawArray) -> Result<ArrayShape, DesignError> {
    let kind = raw.kind.clone().unwrap_or_else(|| "systolic".to_string());
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
                rows: raw.rows.unwrap_or(limits::DEFAULT_ROWS),
                cols: raw.cols.unwrap_or(limits::DEFAULT_COLS),
            })
        }
        "dot" => {
            unused("array.rows", raw.rows.is_some())?;
            unused("array.cols", raw.cols.is_some())?;
            Ok(ArrayShape::Dot {
                lanes: raw.lanes.unwrap_or(limits::DEFAULT_LANES),
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
