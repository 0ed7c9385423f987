from typing import Optional

import torch

from . import DesignLike

def linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    design: DesignLike = None,
) -> torch.Tensor: ...
def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    stride: int = 1,
    padding: int = 0,
    design: DesignLike = None,
) -> torch.Tensor: ...
