//! `sparqgen.Design`: a validated design with its model ready to run.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyString};
use sparqgen::arith::Model;
use sparqgen::config::Design;
use std::path::Path;

/// A validated sparqgen design (the schema of `sparqgen check`), with its
/// pair table built once; pass it as `design=` to reuse it.
///
/// Design(design=None): a path to a YAML file (str or os.PathLike), a YAML
/// string, a dict with the same fields, or None for the default design.
/// Raises ValueError with the CLI's message when the design is invalid.
#[pyclass(name = "Design", module = "sparqgen", frozen)]
pub struct PyDesign {
    pub design: Design,
    pub model: Model,
}

impl PyDesign {
    fn from_design(design: Design) -> PyDesign {
        let model = Model::new(&design);
        PyDesign { design, model }
    }
}

fn invalid(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn from_path(path: &Path) -> PyResult<Design> {
    // `{:#}`: the context and its cause, as the CLI prints them.
    Design::from_path(path).map_err(|e| PyValueError::new_err(format!("{e:#}")))
}

fn from_yaml(text: &str) -> PyResult<Design> {
    Design::from_yaml(text).map_err(|e| invalid(format!("invalid design: {e}")))
}

/// Parse what the user passed as a design.
fn load(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Design> {
    if let Ok(d) = obj.downcast::<PyDict>() {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (d,))
            .map_err(|e| invalid(format!("design: the dict is not plain data: {e}")))?
            .extract()?;
        return from_yaml(&text);
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        let s = s.to_cow()?;
        let looks_like_yaml = s.contains(['\n', ':', '{']) || s.trim().is_empty();
        if Path::new(&*s).is_file() || !looks_like_yaml {
            return from_path(Path::new(&*s));
        }
        return from_yaml(&s);
    }
    if obj.hasattr("__fspath__")? {
        let p: std::path::PathBuf = obj.extract()?;
        return from_path(&p);
    }
    Err(invalid(format!(
        "design: expected a sparqgen.Design, a path, a YAML string or a dict, got {}",
        obj.get_type().name()?
    )))
}

static DEFAULT: GILOnceCell<Py<PyDesign>> = GILOnceCell::new();

/// The design argument of gemm/conv2d/trim as a `Design` (None: the
/// default design, built once per process).
pub fn resolve<'py>(
    py: Python<'py>,
    obj: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDesign>> {
    match obj {
        None => Ok(DEFAULT
            .get_or_try_init(py, || {
                Py::new(py, PyDesign::from_design(Design::default_design()))
            })?
            .bind(py)
            .clone()),
        Some(o) if o.is_none() => resolve(py, None),
        Some(o) => match o.downcast::<PyDesign>() {
            Ok(d) => Ok(d.clone()),
            Err(_) => Bound::new(py, PyDesign::from_design(load(py, o)?)),
        },
    }
}

#[pymethods]
impl PyDesign {
    #[new]
    #[pyo3(signature = (design=None))]
    fn new(py: Python<'_>, design: Option<&Bound<'_, PyAny>>) -> PyResult<PyDesign> {
        let design = match design {
            // Design(Design(...)) is the same design (what `design=` takes)
            Some(o) => match o.downcast::<PyDesign>() {
                Ok(d) => d.get().design.clone(),
                Err(_) if o.is_none() => Design::default_design(),
                Err(_) => load(py, o)?,
            },
            None => Design::default_design(),
        };
        Ok(PyDesign::from_design(design))
    }

    /// The design's name.
    #[getter]
    fn name(&self) -> &str {
        self.design.name()
    }

    /// The PE kind: "sparq", "mac8x8" or "mac4x8".
    #[getter]
    fn kind(&self) -> &'static str {
        self.design.pe().kind().name()
    }

    /// The validated design as YAML, every field explicit.
    #[getter]
    fn yaml(&self) -> String {
        self.design.to_yaml()
    }

    /// SHA-256 of the canonical design (the hash in every report).
    #[getter]
    fn hash(&self) -> String {
        self.design.hash()
    }

    /// Largest K whose sums the accumulator holds exactly.
    #[getter]
    fn exact_k_max(&self) -> u64 {
        self.design.exact_k_max()
    }

    /// Pickling: a design is its validated YAML (the model is rebuilt).
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let cls = slf.get_type().into_any();
        Ok((cls, (slf.get().design.to_yaml(),)))
    }

    fn __repr__(&self) -> String {
        format!(
            "sparqgen.Design(name={:?}, kind={:?}, hash={:?})",
            self.design.name(),
            self.design.pe().kind().name(),
            self.design.short_hash()
        )
    }
}
