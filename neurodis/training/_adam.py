"""Adam's step as torch's single-tensor kernel computes it, in three passes over memory.

``torch.optim.Adam(foreach=False)`` updates each parameter with seven elementwise kernels
(``lerp_``, ``mul_``, ``addcmul_``, ``sqrt``, ``div``, ``add_``, ``addcdiv_``), each a
pass over parameter-sized tensors, plus Python work per parameter. :func:`step_adam`
does the same update in three passes: one Numba loop for both moments, torch's own
``sqrt`` of the second moment (torch's vectorised sqrt is not IEEE's correctly rounded
one: it differs by an ulp in about 0.7 % of values, so it cannot be redone here), and one
Numba loop for the parameters. Second moments that are exactly 0 (padded readout rows; the
flushed moments of silent units, most of a CTRNN's late in training) go to torch's sqrt as
1 and are read back as sqrt(0) = 0: torch's sqrt takes a slow path on zeros (40× slower on
an array of 60 % zeros), and its result for the other values does not depend on them.
Every operation rounds as torch's kernels round them on x86-64: ``lerp`` and ``addcmul``
as fused multiply-adds, ``addcdiv`` as ``p + (value·m)/denominator``, the scalars in
float32. The tests check the weights and
moments bit for bit against torch's step, with subnormals flushed and kept.

Only what the trainer uses takes this path (float32 CPU tensors; no weight decay,
``amsgrad``, ``maximize``, ``capturable``, ``differentiable``, ``foreach`` or fused
kernel); anything else, and the first step (which creates the state), is left to
``optimizer.step()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["step_adam"]

#: Adam's options under which a group's update is torch's plain single-tensor one.
_PLAIN = {"amsgrad": False, "maximize": False, "capturable": False, "differentiable": False, "weight_decay": 0.0}


@intrinsic
def _fma32(typingctx: Any, a: types.Type, b: types.Type, c: types.Type) -> tuple:
    """``a·b + c`` rounded once (LLVM's fma), float32."""
    signature = types.float32(types.float32, types.float32, types.float32)

    def codegen(context: Any, builder: ir.IRBuilder, sig: Any, args: list) -> ir.Value:
        float32 = args[0].type
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(float32, [float32] * 3), "llvm.fma.f32")
        return builder.call(fma, args)

    return signature, codegen


# error_model="numpy": no zero-division check, which would keep the loops from vectorising
@njit(error_model="numpy", cache=True)
def _moments(grad: np.ndarray, m: np.ndarray, v: np.ndarray, weight: np.float32, beta2: np.float32,
             one_minus_beta2: np.float32) -> int:
    """``m.lerp_(g, weight)``; ``v.mul_(beta2).addcmul_(g, g, value=1 - beta2)``; returns how many ``v`` are 0."""
    zeros = 0
    for i in range(grad.size):
        g = grad[i]
        m[i] = _fma32(weight, g - m[i], m[i])
        v_i = _fma32(one_minus_beta2 * g, g, v[i] * beta2)
        v[i] = v_i
        zeros += v_i == 0
    return zeros


@njit(error_model="numpy", cache=True)
def _without_zeros(v: np.ndarray, out: np.ndarray) -> None:
    """``v`` with its zeros set to 1, into ``out``."""
    for i in range(v.size):
        out[i] = v[i] if v[i] != 0 else np.float32(1.0)


@njit(error_model="numpy", cache=True)
def _update(param: np.ndarray, m: np.ndarray, v: np.ndarray, root: np.ndarray, root_correction: np.float32,
            eps: np.float32, neg_step: np.float32) -> None:
    """``param.addcdiv_(m, sqrt(v) / root_correction + eps, value=neg_step)``, ``sqrt(v)`` being ``root``
    where ``v`` is not 0."""
    for i in range(param.size):
        root_v = root[i] if v[i] != 0 else np.float32(0.0)
        param[i] = param[i] + (neg_step * m[i]) / (root_v / root_correction + eps)


def _plain(group: dict[str, Any], states: list[dict[str, Any]]) -> bool:
    """Whether every parameter of ``group`` can take the Numba path this step."""
    if group.get("fused") or group.get("foreach") or any(group.get(key, value) != value
                                                          for key, value in _PLAIN.items()):
        return False
    if not all(isinstance(value, float) for value in (group["lr"], group["eps"], *group["betas"])):
        return False
    for param, state in zip(group["params"], states):
        if param.grad is None:
            continue
        if param.grad.is_sparse or not torch.is_tensor(state.get("step")):
            return False
        for tensor in (param, param.grad, state.get("exp_avg"), state.get("exp_avg_sq")):
            if (tensor is None or tensor.device.type != "cpu" or tensor.dtype != torch.float32
                    or not tensor.is_contiguous()):
                return False
    return True


def step_adam(optimizer: torch.optim.Adam) -> None:
    """One step of ``optimizer``, bit for bit ``optimizer.step()`` (see the module docs).

    Examples
    --------
    >>> w, v = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    >>> ours, theirs = (torch.optim.Adam([p], lr=0.1, foreach=False) for p in (w, v))
    >>> for step in range(3):
    ...     w.grad = v.grad = torch.tensor([0.5, -2.0, 1e-3]) * (step + 1)
    ...     step_adam(ours)
    ...     theirs.step()
    >>> torch.equal(w, v)
    True
    """
    groups = [(group, [optimizer.state[p] for p in group["params"]]) for group in optimizer.param_groups]
    if not all(_plain(group, states) for group, states in groups):
        optimizer.step()
        return
    for group, states in groups:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for param, state in zip(group["params"], states):
            if param.grad is None:
                continue
            state["step"] += 1
            step = state["step"].item()
            v = state["exp_avg_sq"]
            root = torch.empty_like(v)
            flat_m, flat_v, flat_root = (t.view(-1).numpy() for t in (state["exp_avg"], v, root))
            zeros = _moments(param.grad.view(-1).numpy(), flat_m, flat_v,
                             np.float32(1 - beta1), np.float32(beta2), np.float32(1 - beta2))
            if zeros:  # see the module docs: torch's sqrt is slow on zeros
                _without_zeros(flat_v, flat_root)
                torch.sqrt(root, out=root)
            else:
                torch.sqrt(v, out=root)
            _update(param.detach().view(-1).numpy(), flat_m, flat_v, flat_root,
                    np.float32((1 - beta2 ** step) ** 0.5), np.float32(eps), np.float32(-(lr / (1 - beta1 ** step))))
