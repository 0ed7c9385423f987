//! `sparqgen` for Python: the bit-exact model on NumPy arrays.
//!
//! Everything here is conversion: designs come from `sparqgen::config`, the
//! arithmetic from `sparqgen::arith`. Inputs that are already C-contiguous
//! arrays of the model's dtype are borrowed, not copied; other integer
//! dtypes are range-checked like the CLI's .npy reader. The GIL is released
//! while the model computes.

mod design;
mod operand;

use design::{resolve, PyDesign};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn};
use operand::{operand, Operand};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sparqgen::arith::{route_pair, ArithError, Route, Tensor, View};
use sparqgen::config::PeKind;

fn arith_err(e: ArithError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A Python int that must be a count of at least `min`. Only negative values
/// are refused here; the model checks the rest with the CLI's messages.
fn count(v: i64, name: &str, min: i64) -> PyResult<usize> {
    if v < 0 {
        return Err(PyValueError::new_err(format!(
            "{name} = {v} is out of range (allowed: {min} or more)"
        )));
    }
    usize::try_from(v).map_err(|_| PyValueError::new_err(format!("{name} = {v} is too large")))
}

fn to_array<T: numpy::Element>(py: Python<'_>, t: Tensor<T>) -> Bound<'_, PyArrayDyn<T>> {
    ArrayD::from_shape_vec(IxDyn(&t.shape), t.data)
        .expect("the model returns consistent shapes")
        .into_pyarray(py)
}

/// C = A . B^T through the design's PE arithmetic.
///
/// a: M x K activations (uint8, or any integer dtype with values in
/// 0..=255; 0..=15 for a mac4x8 design). b: N x K weights (int8, or any
/// integer dtype with values in -128..=127). Returns M x N int32, equal bit
/// for bit to `sparqgen model gemm`. design: a sparqgen.Design, a path to a
/// YAML file, a YAML string or a dict; None is the default design.
#[pyfunction]
#[pyo3(signature = (a, b, design=None))]
fn gemm<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    design: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<i32>>> {
    let d = resolve(py, design)?;
    let a: Operand<u8> = operand(py, a, "a", "A (activations, M x K)", 2)?;
    let b: Operand<i8> = operand(py, b, "b", "B (weights, N x K)", 2)?;
    let (av, bv) = (a.view(), b.view());
    let model = &d.get().model;
    let c = py
        .allow_threads(|| model.gemm_view(&av, &bv))
        .map_err(arith_err)?;
    Ok(to_array(py, c))
}

/// 2-D convolution through the design's PE arithmetic (im2col to GEMM,
/// channel-innermost K order; dilation 1, groups 1).
///
/// x: N x C x H x W activations (uint8 values), w: O x C x kh x kw weights
/// (int8 values); returns N x O x H_out x W_out int32, equal bit for bit to
/// `sparqgen model conv`.
#[pyfunction]
#[pyo3(signature = (x, w, stride=1, padding=0, design=None))]
fn conv2d<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    stride: i64,
    padding: i64,
    design: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<i32>>> {
    let stride = count(stride, "stride", 1)?;
    let padding = count(padding, "padding", 0)?;
    let d = resolve(py, design)?;
    let x: Operand<u8> = operand(py, x, "x", "X (activations, N x C x H x W)", 4)?;
    let w: Operand<i8> = operand(py, w, "w", "W (weights, O x C x kh x kw)", 4)?;
    let (xv, wv) = (x.view(), w.view());
    let model = &d.get().model;
    let y = py
        .allow_threads(|| model.conv2d_view(&xv, &wv, stride, padding))
        .map_err(arith_err)?;
    Ok(to_array(py, y))
}

/// `trim`'s result: the values and the wide-window flags.
type TrimOut<'py> = (Bound<'py, PyArrayDyn<u8>>, Bound<'py, PyArrayDyn<bool>>);

/// The activations as the design's multipliers see them.
///
/// Pairs run along the last axis as (k, k+1), as in a dense GEMM (an odd
/// tail is paired with a zero). Returns `(values, wide)`: `values` (uint8,
/// same shape) are the trimmed activations that multiply the weights;
/// `wide` (bool) marks the ones trimmed to the wide window because their
/// partner is zero (vSPARQ pair sharing). Baseline designs return the input
/// unchanged and no wide entries. 2:4 (stc) designs pair by weight
/// positions, so they are refused here.
#[pyfunction]
#[pyo3(signature = (a, design=None))]
fn trim<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    design: Option<&Bound<'py, PyAny>>,
) -> PyResult<TrimOut<'py>> {
    let d = resolve(py, design)?;
    let dd = d.get();
    let sparq = match &dd.design.pe().kind() {
        PeKind::Sparq(s) if s.stc => {
            return Err(PyValueError::new_err(
                "trim: pe.stc pairs activations by the weights' non-zero positions; \
                 use gemm or conv2d for a 2:4 design",
            ))
        }
        PeKind::Sparq(s) => Some(*s),
        PeKind::Mac8x8 | PeKind::Mac4x8 => None,
    };
    let a: Operand<u8> = operand(py, a, "a", "A (activations)", 0)?;
    let av = a.view();
    let model = &dd.model;
    let (values, wide) = py.allow_threads(|| trim_rows(model, sparq.as_ref(), &av));
    let shape = av.shape.to_vec();
    Ok((
        to_array(py, Tensor::new(shape.clone(), values)),
        to_array(py, Tensor::new(shape, wide)),
    ))
}

fn trim_rows(
    model: &sparqgen::arith::Model,
    sparq: Option<&sparqgen::config::SparqArith>,
    a: &View<u8>,
) -> (Vec<u8>, Vec<bool>) {
    let mut values = vec![0u8; a.data.len()];
    let mut wide = vec![false; a.data.len()];
    let k = a.shape.last().copied().unwrap_or(1).max(1);
    for ((src, vals), wd) in a
        .data
        .chunks(k)
        .zip(values.chunks_mut(k))
        .zip(wide.chunks_mut(k))
    {
        for ((p, v), w) in src.chunks(2).zip(vals.chunks_mut(2)).zip(wd.chunks_mut(2)) {
            let (a1, a2) = (p[0], p.get(1).copied().unwrap_or(0));
            let h = model.pair(a1, a2);
            let is_wide = sparq.is_some_and(|s| matches!(route_pair(a1, a2, s).0, Route::Wide(_)));
            for (i, (vi, wi)) in v.iter_mut().zip(w.iter_mut()).enumerate() {
                *vi = h[i];
                *wi = is_wide;
            }
        }
    }
    (values, wide)
}

#[pymodule]
fn _sparqgen(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDesign>()?;
    m.add_function(wrap_pyfunction!(gemm, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d, m)?)?;
    m.add_function(wrap_pyfunction!(trim, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
