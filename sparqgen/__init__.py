"""sparqgen: the bit-exact SPARQ model on NumPy arrays.

``gemm`` and ``conv2d`` equal ``sparqgen model gemm`` / ``sparqgen model conv``
bit for bit; ``trim`` shows what a design does to activations; ``Design``
validates a design once for reuse. ``sparqgen.torch`` (imported on demand)
runs quantized linear/conv layers on PyTorch tensors.
"""

from ._sparqgen import Design, __version__, conv2d, gemm, trim

__all__ = ["Design", "conv2d", "gemm", "trim", "__version__"]
