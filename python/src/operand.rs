//! Python objects to model operands: borrowed when they already are
//! C-contiguous arrays of the model's dtype, else converted with the range
//! check (and the error text) of the CLI's .npy reader.

use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sparqgen::arith::View;
use sparqgen::npy::{self, NpyError};

/// An operand of the model: a borrowed NumPy buffer or a converted copy.
pub enum Operand<'py, T: Element> {
    Borrowed(PyReadonlyArrayDyn<'py, T>, Vec<usize>),
    Owned(Vec<T>, Vec<usize>),
}

impl<T: Element> Operand<'_, T> {
    pub fn view(&self) -> View<'_, T> {
        match self {
            Operand::Borrowed(a, shape) => View {
                shape,
                data: a.as_slice().expect("checked C-contiguous"),
            },
            Operand::Owned(data, shape) => View { shape, data },
        }
    }
}

fn value_err(e: NpyError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `obj` as an operand of `ndim` dimensions (0: any number, at least one).
/// `arg` is the Python argument's name, `what` the operand as the CLI names
/// it.
pub fn operand<'py, T>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    arg: &str,
    what: &str,
    ndim: usize,
) -> PyResult<Operand<'py, T>>
where
    T: Element + npy::Element,
{
    let arr: Bound<'py, PyUntypedArray> = match obj.downcast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => {
            let np = py.import("numpy")?;
            np.call_method1("asarray", (obj,))?
                .downcast_into::<PyUntypedArray>()
                .map_err(|e| PyValueError::new_err(format!("{arg}: {e}")))?
        }
    };
    let shape = arr.shape().to_vec();
    let bad_ndim = if ndim == 0 {
        shape.is_empty()
    } else {
        shape.len() != ndim
    };
    if bad_ndim {
        return Err(value_err(NpyError::Shape {
            path: arg.to_string(),
            what: what.to_string(),
            expected: if ndim == 0 {
                "at least 1-D".to_string()
            } else {
                format!("{ndim}-D")
            },
            got: shape,
        }));
    }
    let dt = arr.dtype();
    if dt.is_equiv_to(&numpy::dtype::<T>(py)) && arr.is_c_contiguous() {
        let ro = arr.downcast::<PyArrayDyn<T>>()?.readonly();
        return Ok(Operand::Borrowed(ro, shape));
    }
    // The copy is checked against the model's tensor limit before it is
    // allocated: a broadcast view (`np.broadcast_to`, zero strides) can be
    // tiny in memory and petabytes as a contiguous copy.
    sparqgen::arith::checked_bytes("the operand's contiguous copy", &shape, std::mem::size_of::<T>())
        .map_err(|e| PyValueError::new_err(format!("{arg}: {e}")))?;
    let native = dt.is_native_byteorder().unwrap_or(true);
    let data = match (dt.kind(), dt.itemsize(), native) {
        (b'u', 1, _) => convert::<u8, T>(&arr, arg, what)?,
        (b'i', 1, _) => convert::<i8, T>(&arr, arg, what)?,
        (b'u', 2, true) => convert::<u16, T>(&arr, arg, what)?,
        (b'i', 2, true) => convert::<i16, T>(&arr, arg, what)?,
        (b'u', 4, true) => convert::<u32, T>(&arr, arg, what)?,
        (b'i', 4, true) => convert::<i32, T>(&arr, arg, what)?,
        (b'u', 8, true) => convert::<u64, T>(&arr, arg, what)?,
        (b'i', 8, true) => convert::<i64, T>(&arr, arg, what)?,
        _ => {
            return Err(value_err(NpyError::Dtype {
                path: arg.to_string(),
                descr: format!("'{}'", dt.getattr("str")?.extract::<String>()?),
                name: dt.to_string(),
                what: what.to_string(),
                expected: format!(
                    "{} ('{}'), or another little-endian integer dtype with values in {}..={}",
                    <T as npy::Element>::NAME,
                    <T as npy::Element>::DESCR,
                    <T as npy::Element>::MIN,
                    <T as npy::Element>::MAX
                ),
            }))
        }
    };
    Ok(Operand::Owned(data, shape))
}

/// Copy `arr` (any strides) in C order into `T`, range-checked.
fn convert<S, T>(arr: &Bound<'_, PyUntypedArray>, arg: &str, what: &str) -> PyResult<Vec<T>>
where
    S: Element + Copy + Into<i128>,
    T: npy::Element,
{
    let typed = arr.downcast::<PyArrayDyn<S>>()?.readonly();
    let view = typed.as_array();
    let mut out = Vec::with_capacity(view.len());
    for (index, &v) in view.iter().enumerate() {
        let v: i128 = v.into();
        if v < i128::from(T::MIN) || v > i128::from(T::MAX) {
            return Err(value_err(NpyError::Range {
                path: arg.to_string(),
                what: what.to_string(),
                value: v.to_string().into(),
                index,
                pos: sparqgen::npy::unravel(index, view.shape()),
                min: T::MIN,
                max: T::MAX,
            }));
        }
        out.push(T::from_i64(v as i64));
    }
    Ok(out)
}
