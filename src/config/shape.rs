//! How PEs are arranged: systolic array, dot-product unit or one PE.

use super::{field_err, limits, DesignError};
use serde::Serialize;

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

    /// `8x8 systolic`, `dot x16`, `single PE`: the shape in reports.
    pub fn describe(&self) -> String {
        match *self {
            ArrayShape::Systolic { rows, cols } => format!("{rows}x{cols} systolic"),
            ArrayShape::Dot { lanes } => format!("dot x{lanes}"),
            ArrayShape::Single => "single PE".to_string(),
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

    /// The fill of a streaming systolic array: the skew across rows and
    /// columns plus the PE's pipeline, `(rows-1) + (cols-1) + pipeline`.
    /// A stream of tiles costs `tiles * max(steps, drain) + fill + drain`
    /// cycles ([`crate::cycles`]). `None` for the other shapes.
    pub fn flush_cycles(&self, pipeline_stages: u32) -> Option<u32> {
        match *self {
            ArrayShape::Systolic { rows, cols } => Some((rows - 1) + (cols - 1) + pipeline_stages),
            _ => None,
        }
    }

    /// Cycles a systolic array's row takes to put out a tile's results (one
    /// column per cycle), so also the fewest cycles between two tile starts.
    /// `None` for the other shapes.
    pub fn drain_cycles(&self) -> Option<u32> {
        match *self {
            ArrayShape::Systolic { cols, .. } => Some(cols),
            _ => None,
        }
    }

    /// Checks the dimensions against the schema's limits; the error names
    /// the field (`array.rows`, ...) and the allowed range.
    pub(super) fn check(&self) -> Result<(), DesignError> {
        let dim = |field: &str, v: u32, max: u32| {
            if (1..=max).contains(&v) {
                Ok(())
            } else {
                Err(field_err(
                    field,
                    format!("{v} is not allowed (allowed: 1..={max})"),
                ))
            }
        };
        match *self {
            ArrayShape::Systolic { rows, cols } => {
                dim("array.rows", rows, limits::ARRAY_DIM_MAX)?;
                dim("array.cols", cols, limits::ARRAY_DIM_MAX)
            }
            ArrayShape::Dot { lanes } => dim("array.lanes", lanes, limits::LANES_MAX),
            ArrayShape::Single => Ok(()),
        }
    }
}
