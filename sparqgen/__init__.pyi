import os
from typing import Any, Mapping, Union

import numpy as np
import numpy.typing as npt

__version__: str

DesignLike = Union["Design", str, os.PathLike[str], Mapping[str, Any], None]

class Design:
    """A validated design (path, YAML string, dict or None for the default),
    its pair table built once. Raises ValueError on an invalid design."""

    def __init__(self, design: DesignLike = None) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def yaml(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def exact_k_max(self) -> int: ...

def gemm(a: npt.ArrayLike, b: npt.ArrayLike, design: DesignLike = None) -> npt.NDArray[np.int32]:
    """C = A . B^T (A: M x K uint8 values, B: N x K int8 values) -> M x N int32."""

def conv2d(
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    stride: int = 1,
    padding: int = 0,
    design: DesignLike = None,
) -> npt.NDArray[np.int32]:
    """NCHW uint8 values * OIHW int8 values -> NCHW int32 (dilation 1, groups 1)."""

def trim(
    a: npt.ArrayLike, design: DesignLike = None
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """(values that multiply the weights, wide-window flags); pairs along the last axis."""
