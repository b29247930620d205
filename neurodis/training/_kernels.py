"""Raw torch kernels of the trainer: a stack of K CTRNNs run as one batched model.

Arrays carry the member axis first and are time-major inside a member,
``(K, time, batch, ·)``, so the input projection, the readout and the recurrent
weight gradient of all steps are single batched matmuls over ``(K, time·batch, ·)``
views, and each step of the recurrence is one batched gemm for all members (its
slices are taken with ``unbind``: indexing ``x[:, t]`` under autograd would scatter
into a full zero tensor at every step).

The recurrence ``r_t = decay·r_{t-1} + α f(drive_t + r_{t-1} W_hhᵀ)`` (``r_0 = 0``;
``decay = 1-α`` for a leaky network, 1 otherwise) is a custom autograd function: its
backward pass walks the steps once with one small batched matmul per step and forms
``∂L/∂W_hh`` as one large matmul over all steps, instead of the per-step weight
gradients that autograd would build. :func:`reference_rates` is the slow,
obviously-correct autograd version it is tested against.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from neurodis.training._readout import readout

__all__ = ["ACTIVATIONS", "ctrnn_logits", "recurrent_rates", "reference_rates"]

#: activation name -> (f applied in place, ``grad · f'`` written into ``out`` from a = f(pre))
ACTIVATIONS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor],
                             Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]]] = {
    "relu": (torch.Tensor.relu_,
             lambda grad, a, out: torch.ops.aten.threshold_backward.grad_input(grad, a, 0.0, grad_input=out)),
    "tanh": (torch.Tensor.tanh_, lambda grad, a, out: torch.mul(grad, 1.0 - a * a, out=out)),
    # softplus' = sigmoid(pre) = 1 - exp(-softplus(pre))
    "softplus": (lambda x: x.copy_(torch.nn.functional.softplus(x)),
                 lambda grad, a, out: torch.mul(grad, -torch.expm1(-a), out=out)),
    "linear": (lambda x: x, lambda grad, a, out: out.copy_(grad)),
}


class _Recurrence(torch.autograd.Function):
    """Rates of K stacked CTRNNs from their input drive; hand-written backward.

    Storage is member-major, ``(K, time, batch, n)``, like the projections that feed
    and read it, so no large transposing copy is ever made. A step's slice of such
    storage is a batch of matrices with an unusual batch stride, into which torch's
    batched gemm cannot write directly (it would fall back to one matmul per member):
    each step therefore computes into a fresh contiguous tensor and copies it into
    its slot, unless the slot is contiguous already (K = 1), when it writes in place.
    Rates are stored after a zero step, ``r_0``, so ``r_{t-1}`` of every step is one
    view for the weight gradient.
    """

    @staticmethod
    def forward(ctx, drive_kxtxbxn, weight_hh_kxnxn, alpha, leaky, activation):  # type: ignore[override]
        f = ACTIVATIONS[activation][0]
        n_members, n_steps, n_batch, n_units = drive_kxtxbxn.shape
        store_kxtxbxn = drive_kxtxbxn.new_empty((n_members, n_steps + 1, n_batch, n_units))
        store_kxtxbxn[:, 0].zero_()
        # with α = 1 and a leak the rate is the activation itself: store it once
        direct = leaky and alpha == 1.0
        acts_kxtxbxn = store_kxtxbxn[:, 1:] if direct else torch.empty_like(drive_kxtxbxn)
        w_t_kxnxn = weight_hh_kxnxn.transpose(1, 2)
        r_kxbxn = None
        for drive_kxbxn, act_slot, rate_slot in zip(drive_kxtxbxn.unbind(1), acts_kxtxbxn.unbind(1),
                                                    store_kxtxbxn[:, 1:].unbind(1)):
            in_place = act_slot.is_contiguous()
            if r_kxbxn is None:  # r_0 = 0: the first pre-activation is the drive
                act = act_slot.copy_(drive_kxbxn) if in_place else drive_kxbxn.clone()
            else:
                act = (torch.baddbmm(drive_kxbxn, r_kxbxn, w_t_kxnxn, out=act_slot) if in_place
                       else torch.baddbmm(drive_kxbxn, r_kxbxn, w_t_kxnxn))
            f(act)
            if not in_place:
                act_slot.copy_(act)
            if direct:
                r_kxbxn = act
            else:
                if r_kxbxn is None:
                    r_kxbxn = act * alpha
                elif leaky:
                    r_kxbxn = torch.lerp(r_kxbxn, act, alpha)
                else:
                    r_kxbxn = torch.add(r_kxbxn, act, alpha=alpha)
                rate_slot.copy_(r_kxbxn)
        ctx.save_for_backward(weight_hh_kxnxn, store_kxtxbxn, acts_kxtxbxn)
        ctx.alpha, ctx.leaky, ctx.activation = alpha, leaky, activation
        return store_kxtxbxn[:, 1:]

    @staticmethod
    def backward(ctx, grad_rates_kxtxbxn):  # type: ignore[override]
        weight_hh_kxnxn, store_kxtxbxn, acts_kxtxbxn = ctx.saved_tensors
        alpha, leaky = ctx.alpha, ctx.leaky
        fprime = ACTIVATIONS[ctx.activation][1]
        decay = 1.0 - alpha if leaky else 1.0
        n_members, n_steps, n_batch, n_units = acts_kxtxbxn.shape
        grads, acts = grad_rates_kxtxbxn.unbind(1), acts_kxtxbxn.unbind(1)
        grad_drive_kxtxbxn = grad_rates_kxtxbxn.new_empty((n_members, n_steps, n_batch, n_units))
        slots = grad_drive_kxtxbxn.unbind(1)
        total_kxbxn = grads[-1]  # ∂L/∂r_t, through the readout and all later steps
        for t in range(n_steps - 1, -1, -1):
            in_place = slots[t].is_contiguous()
            d_kxbxn = fprime(total_kxbxn, acts[t], slots[t] if in_place else torch.empty_like(acts[t]))
            if alpha != 1.0:
                d_kxbxn.mul_(alpha)
            if not in_place:
                slots[t].copy_(d_kxbxn)
            if t > 0:
                base = grads[t - 1] if decay == 0.0 else torch.add(grads[t - 1], total_kxbxn, alpha=decay)
                total_kxbxn = torch.baddbmm(base, d_kxbxn, weight_hh_kxnxn)
        grad_w = None
        if ctx.needs_input_grad[1]:
            # ∂L/∂W = Σ_t d_tᵀ r_{t-1}: one matmul per member over all steps (r_0 = 0)
            rows = n_steps * n_batch
            grad_w = torch.bmm(grad_drive_kxtxbxn.view(n_members, rows, n_units).transpose(1, 2),
                               store_kxtxbxn[:, :-1].reshape(n_members, rows, n_units))
        return grad_drive_kxtxbxn, grad_w, None, None, None


def recurrent_rates(
    drive_kxtxbxn: torch.Tensor,
    weight_hh_kxnxn: torch.Tensor,
    *,
    alpha: float,
    leaky: bool,
    activation: str,
) -> torch.Tensor:
    """Rates ``(K, time, batch, n)`` of K CTRNNs driven by ``drive`` from ``r_0 = 0``.

    ``drive`` is everything added to the recurrent input before the nonlinearity
    (input projection, bias, recurrent noise).
    """
    return _Recurrence.apply(drive_kxtxbxn, weight_hh_kxnxn, float(alpha), bool(leaky), activation)


def reference_rates(
    drive_kxtxbxn: torch.Tensor,
    weight_hh_kxnxn: torch.Tensor,
    *,
    alpha: float,
    leaky: bool,
    activation: str,
) -> torch.Tensor:
    """Slow autograd version of :func:`recurrent_rates`, written as the equations read."""
    nonlinearity = {"relu": torch.relu, "tanh": torch.tanh,
                    "softplus": torch.nn.functional.softplus, "linear": lambda x: x}[activation]
    r_kxbxn = torch.zeros_like(drive_kxtxbxn[:, 0])
    rates = []
    for t in range(drive_kxtxbxn.shape[1]):
        pre_kxbxn = drive_kxtxbxn[:, t] + torch.einsum("kbj,kij->kbi", r_kxbxn, weight_hh_kxnxn)
        decay = 1.0 - alpha if leaky else 1.0
        r_kxbxn = decay * r_kxbxn + alpha * nonlinearity(pre_kxbxn)
        rates.append(r_kxbxn)
    return torch.stack(rates, dim=1)


def ctrnn_logits(
    params: dict[str, torch.Tensor],
    inputs_kxtxbxi: torch.Tensor,
    *,
    alpha: float,
    leaky: bool,
    activation: str,
    recurrent_noise_kxtxbxn: torch.Tensor | None = None,
    input_noise_kxtxbxi: torch.Tensor | None = None,
    return_rates: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Readout logits ``(K, time, batch, output)`` of K stacked CTRNNs.

    ``params`` holds ``weight_ih (K, n, i)``, ``weight_hh (K, n, n)``, ``bias (K, n)``,
    ``readout_weight (K, o, n)`` and ``readout_bias (K, o)``. The noise arguments are
    already scaled (``sqrt(2/α)·level·ξ``) and simply added. With ``return_rates`` the
    rates ``(K, time, batch, n)`` come first (for a penalty on them).
    """
    n_members, n_steps, n_batch, n_inputs = inputs_kxtxbxi.shape
    if input_noise_kxtxbxi is not None:
        inputs_kxtxbxi = inputs_kxtxbxi + input_noise_kxtxbxi
    rows = n_steps * n_batch
    drive_kxmxn = torch.baddbmm(params["bias"].unsqueeze(1),
                                inputs_kxtxbxi.reshape(n_members, rows, n_inputs),
                                params["weight_ih"].transpose(1, 2))
    drive_kxtxbxn = drive_kxmxn.view(n_members, n_steps, n_batch, -1)
    if recurrent_noise_kxtxbxn is not None:
        drive_kxtxbxn = drive_kxtxbxn + recurrent_noise_kxtxbxn
    rates_kxtxbxn = recurrent_rates(drive_kxtxbxn, params["weight_hh"],
                                    alpha=alpha, leaky=leaky, activation=activation)
    logits_kxtxbxo = readout(rates_kxtxbxn, params["readout_weight"], params["readout_bias"])
    return (rates_kxtxbxn, logits_kxtxbxo) if return_rates else logits_kxtxbxo
