"""sparqgen: the bit-exact SPARQ model on NumPy arrays.

``gemm`` and ``conv2d`` equal ``sparqgen model gemm`` / ``sparqgen model conv``
bit for bit; ``trim`` shows what a design does to activations; ``Design``
validates a design once for reuse. ``sparqgen.torch`` (imported on demand)
runs quantized linear/conv layers on PyTorch tensors.
"""

from pkgutil import extend_path

# Inside a checkout, this source folder comes first on sys.path and has no
# compiled module: let the package also search the installed sparqgen/.
__path__ = extend_path(__path__, __name__)

try:
    from ._sparqgen import Design, __version__, conv2d, gemm, trim
except ModuleNotFoundError as e:  # pragma: no cover - a setup mistake, not a test case
    raise ImportError(
        "sparqgen: the compiled module _sparqgen is not installed; "
        "build and install it with `pip install .` at the repository root"
    ) from e

__all__ = ["Design", "conv2d", "gemm", "trim", "__version__"]
