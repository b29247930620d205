"""The stacked readout ``x Wᵀ + b`` of K members whose output widths differ.

An ensemble pads every member's readout with zero rows to the widest member's
width. A member's logits and its gradients with respect to its inputs and weight
matrix come out of batched gemms whose bits do not depend on that width, but
autograd's bias gradient of ``baddbmm`` sums over ``(K, rows, width)`` with SIMD
lanes laid across the width, so the padding regroups a member's terms (it moved
readout bias gradients by an ulp, and training by 1e-4 after 300 batches). Here each
``(member, output)`` row of the gradient is made contiguous and summed alone, so a
member trains to the same bits whatever the members it is stacked with.
"""

from __future__ import annotations

import torch

__all__ = ["readout"]


class _Readout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_kxmxi, weight_kxoxi, bias_kxo):  # type: ignore[override]
        ctx.save_for_backward(x_kxmxi, weight_kxoxi)
        return torch.baddbmm(bias_kxo.unsqueeze(1), x_kxmxi, weight_kxoxi.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad_kxmxo):  # type: ignore[override]
        x_kxmxi, weight_kxoxi = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad
        # the gemms autograd would run for baddbmm
        grad_x = torch.bmm(grad_kxmxo, weight_kxoxi) if need_x else None
        grad_weight = torch.bmm(x_kxmxi.transpose(1, 2), grad_kxmxo).transpose(1, 2) if need_weight else None
        grad_bias = grad_kxmxo.transpose(1, 2).contiguous().sum(dim=2) if need_bias else None
        return grad_x, grad_weight, grad_bias


def readout(x_kx_xi: torch.Tensor, weight_kxoxi: torch.Tensor, bias_kxo: torch.Tensor) -> torch.Tensor:
    """``x Wᵀ + b`` per member, for any middle axes of ``x``; gradients independent of the padded width.

    Examples
    --------
    >>> x, w, b = torch.ones(2, 3, 4), torch.ones(2, 5, 4), torch.zeros(2, 5)
    >>> readout(x, w, b).shape
    torch.Size([2, 3, 5])
    """
    k, n_in = x_kx_xi.shape[0], x_kx_xi.shape[-1]
    flat = _Readout.apply(x_kx_xi.reshape(k, -1, n_in), weight_kxoxi, bias_kxo)
    return flat.view(*x_kx_xi.shape[:-1], weight_kxoxi.shape[1])
