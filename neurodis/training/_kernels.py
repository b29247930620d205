"""Raw torch kernels of the trainer: a stack of K CTRNNs run as one batched model.

Arrays carry the member axis first and are time-major inside a member,
``(K, time, batch, ·)``, so the input projection and the readout of all steps are
single batched matmuls over ``(K, time·batch, ·)`` views. The recurrence itself runs
on ``(time, K, batch, n)`` copies, whose per-step slices (taken with ``unbind``:
indexing ``x[:, t]`` would make autograd scatter into a full zero tensor every step)
are contiguous, so each step is one batched gemm for all members.

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

    Inside, tensors are time-major, ``(time, K, batch, n)``, so every step's slice is
    contiguous and each step is one batched gemm (a member-major slice has a batch
    stride that makes torch fall back to one matmul per member). For K = 1 the two
    layouts coincide and no copy is made.
    """

    @staticmethod
    def forward(ctx, drive_kxtxbxn, weight_hh_kxnxn, alpha, leaky, activation):  # type: ignore[override]
        f = ACTIVATIONS[activation][0]
        drive_txkxbxn = drive_kxtxbxn.transpose(0, 1).contiguous()
        rates_txkxbxn = torch.empty_like(drive_txkxbxn)
        # with α = 1 and a leak the rate is the activation itself: store it once
        direct = leaky and alpha == 1.0
        acts_txkxbxn = rates_txkxbxn if direct else torch.empty_like(drive_txkxbxn)
        w_t_kxnxn = weight_hh_kxnxn.transpose(1, 2)
        r_kxbxn = None
        for drive_kxbxn, act_kxbxn, rate_kxbxn in zip(drive_txkxbxn.unbind(0), acts_txkxbxn.unbind(0),
                                                      rates_txkxbxn.unbind(0)):
            if r_kxbxn is None:  # r_0 = 0: the first pre-activation is the drive
                act_kxbxn.copy_(drive_kxbxn)
            else:
                torch.baddbmm(drive_kxbxn, r_kxbxn, w_t_kxnxn, out=act_kxbxn)
            f(act_kxbxn)
            if not direct:
                if r_kxbxn is None:
                    torch.mul(act_kxbxn, alpha, out=rate_kxbxn)
                elif leaky:
                    torch.lerp(r_kxbxn, act_kxbxn, alpha, out=rate_kxbxn)
                else:
                    torch.add(r_kxbxn, act_kxbxn, alpha=alpha, out=rate_kxbxn)
            r_kxbxn = rate_kxbxn
        ctx.save_for_backward(weight_hh_kxnxn, rates_txkxbxn, acts_txkxbxn)
        ctx.alpha, ctx.leaky, ctx.activation = alpha, leaky, activation
        return rates_txkxbxn.transpose(0, 1)

    @staticmethod
    def backward(ctx, grad_rates_kxtxbxn):  # type: ignore[override]
        weight_hh_kxnxn, rates_txkxbxn, acts_txkxbxn = ctx.saved_tensors
        alpha, leaky = ctx.alpha, ctx.leaky
        fprime = ACTIVATIONS[ctx.activation][1]
        decay = 1.0 - alpha if leaky else 1.0
        n_steps, n_members, n_batch, n_units = rates_txkxbxn.shape
        grads = grad_rates_kxtxbxn.transpose(0, 1).contiguous().unbind(0)
        acts = acts_txkxbxn.unbind(0)
        grad_drive_txkxbxn = torch.empty_like(rates_txkxbxn)
        outs = grad_drive_txkxbxn.unbind(0)
        total_kxbxn = grads[-1]  # ∂L/∂r_t, through the readout and all later steps
        for t in range(n_steps - 1, -1, -1):
            d_kxbxn = fprime(total_kxbxn, acts[t], outs[t])
            if alpha != 1.0:
                d_kxbxn.mul_(alpha)
            if t > 0:
                base = grads[t - 1] if decay == 0.0 else torch.add(grads[t - 1], total_kxbxn, alpha=decay)
                total_kxbxn = torch.baddbmm(base, d_kxbxn, weight_hh_kxnxn)
        grad_w = None
        if ctx.needs_input_grad[1]:
            # ∂L/∂W = Σ_t d_tᵀ r_{t-1} (r_0 = 0): one matmul per member over all later steps
            rows = (n_steps - 1) * n_batch
            d_kxmxn = grad_drive_txkxbxn[1:].transpose(0, 1).reshape(n_members, rows, n_units)
            r_kxmxn = rates_txkxbxn[:-1].transpose(0, 1).reshape(n_members, rows, n_units)
            grad_w = torch.bmm(d_kxmxn.transpose(1, 2), r_kxmxn)
        return grad_drive_txkxbxn.transpose(0, 1), grad_w, None, None, None


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
) -> torch.Tensor:
    """Readout logits ``(K, time, batch, output)`` of K stacked CTRNNs.

    ``params`` holds ``weight_ih (K, n, i)``, ``weight_hh (K, n, n)``, ``bias (K, n)``,
    ``readout_weight (K, o, n)`` and ``readout_bias (K, o)``. The noise arguments are
    already scaled (``sqrt(2/α)·level·ξ``) and simply added.
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
    logits_kxmxo = torch.baddbmm(params["readout_bias"].unsqueeze(1),
                                 rates_kxtxbxn.reshape(n_members, rows, -1),
                                 params["readout_weight"].transpose(1, 2))
    return logits_kxmxo.view(n_members, n_steps, n_batch, -1)
