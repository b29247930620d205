"""Raw torch kernels of the trainer: the recurrence of K stacked LSTM or GRU layers.

The layout is :mod:`neurodis.training._kernels`'s: member axis first, time-major inside
a member, ``(K, time, batch, ·)``. The input projection ``x W_ihᵀ + b`` of all steps
is one batched matmul outside (autograd differentiates it); these functions take its
result, the *drive*, and run the recurrence from a zero state with the
``torch.nn.LSTM``/``torch.nn.GRU`` equations (gate order i, f, g, o and r, z, n).

Each recurrence is a custom autograd function. The forward keeps what the backward
needs (activated gates, cell states, the GRU's hidden candidate part); the backward
walks the steps once backward, forming at each step, in small buffers that stay in
cache, the elementwise factors that turn ``∂L/∂h_t`` (and the LSTM's ``∂L/∂c_t``) into
the gates' gradients, with one small batched matmul per step, and finally forms
``∂L/∂W_hh`` as one batched matmul over all steps. Autograd would instead record about
ten nodes per step and build the weight gradient step by step. The per-step views of
the sequence tensors are made once before each loop: at these sizes slicing inside
the loop costs as much as the small ops it feeds.

A step's slice of member-major storage is not contiguous (for K > 1), and torch's
batched gemm cannot write into it directly (see ``_kernels._Recurrence``): each
step's matmul writes into one preallocated contiguous buffer, and the elementwise
ops that follow write their results into the storage slots.

:func:`reference_lstm_rates` and :func:`reference_gru_rates` are the slow,
obviously-correct autograd versions the kernels are tested against.
"""

from __future__ import annotations

import torch

from neurodis.models.gated import gru_update, lstm_update

__all__ = ["gru_rates", "lstm_rates", "reference_gru_rates", "reference_lstm_rates"]


def _one_minus_square(x: torch.Tensor, out: torch.Tensor, one: torch.Tensor) -> torch.Tensor:
    """``1 - x²`` (tanh' from tanh) into ``out``; ``one`` is a 0-d tensor of 1, made once per loop."""
    return torch.addcmul(one, x, x, value=-1.0, out=out)


def _gate_steps(gates_kxtxbxg: torch.Tensor, blocks: int) -> list[tuple[torch.Tensor, ...]]:
    """Each gate block's per-step views ``(K, batch, n)`` of ``gates``: ``[block][t]``."""
    return [block.unbind(1) for block in gates_kxtxbxg.unflatten(-1, (blocks, -1)).unbind(-2)]


class _LSTMRecurrence(torch.autograd.Function):
    """Hidden states of K stacked LSTM layers from their gate drive; hand-written backward."""

    @staticmethod
    def forward(ctx, drive_kxtxbxg, weight_hh_kxgxn):  # type: ignore[override]
        n_members, n_steps, n_batch, width = drive_kxtxbxg.shape
        n = width // 4
        gates_kxtxbxg = torch.empty_like(drive_kxtxbxg)  # σ(i), σ(f), tanh(g), σ(o)
        cells_kxtxbxn = drive_kxtxbxg.new_empty((n_members, n_steps, n_batch, n))
        tanh_cells_kxtxbxn = torch.empty_like(cells_kxtxbxn)
        # h_0 = 0 first, so that h_{t-1} of every step is one view for the weight gradient
        store_kxtxbxn = drive_kxtxbxg.new_empty((n_members, n_steps + 1, n_batch, n))
        store_kxtxbxn[:, 0].zero_()
        pre_kxbxg = drive_kxtxbxg.new_empty((n_members, n_batch, width))
        h_kxbxn = drive_kxtxbxg.new_empty((n_members, n_batch, n))
        # a contiguous Wᵀ and h make the per-step gemm markedly faster than strided operands
        w_t_kxnxg = weight_hh_kxgxn.transpose(1, 2).contiguous()
        # per-step views made once (slicing in the loop costs as much as the small ops it feeds)
        sig_if, tanh_g, sig_o = (gates_kxtxbxg[..., :2 * n].unbind(1), gates_kxtxbxg[..., 2 * n:3 * n].unbind(1),
                                 gates_kxtxbxg[..., 3 * n:].unbind(1))
        i_s, f_s, g_s, o_s = _gate_steps(gates_kxtxbxg, 4)
        pre_if, pre_g, pre_o = pre_kxbxg[..., :2 * n], pre_kxbxg[..., 2 * n:3 * n], pre_kxbxg[..., 3 * n:]
        c_kxbxn = None
        for t, (drive, c_slot, tanh_c, h_slot) in enumerate(zip(
                drive_kxtxbxg.unbind(1), cells_kxtxbxn.unbind(1), tanh_cells_kxtxbxn.unbind(1),
                store_kxtxbxn[:, 1:].unbind(1))):
            if t == 0:
                pre = drive[..., :2 * n], drive[..., 2 * n:3 * n], drive[..., 3 * n:]
            else:
                torch.bmm(h_kxbxn, w_t_kxnxg, out=pre_kxbxg).add_(drive)
                pre = pre_if, pre_g, pre_o
            torch.sigmoid(pre[0], out=sig_if[t])
            torch.tanh(pre[1], out=tanh_g[t])
            torch.sigmoid(pre[2], out=sig_o[t])
            if c_kxbxn is None:  # c_0 = 0
                torch.mul(i_s[t], g_s[t], out=c_slot)
            else:
                torch.mul(f_s[t], c_kxbxn, out=c_slot).addcmul_(i_s[t], g_s[t])
            c_kxbxn = c_slot
            h_slot.copy_(torch.mul(o_s[t], torch.tanh(c_slot, out=tanh_c), out=h_kxbxn))
        ctx.save_for_backward(weight_hh_kxgxn, gates_kxtxbxg, cells_kxtxbxn, tanh_cells_kxtxbxn, store_kxtxbxn)
        return store_kxtxbxn[:, 1:]

    @staticmethod
    def backward(ctx, grad_h_kxtxbxn):  # type: ignore[override]
        weight_hh_kxgxn, gates_kxtxbxg, cells_kxtxbxn, tanh_cells_kxtxbxn, store_kxtxbxn = ctx.saved_tensors
        n_members, n_steps, n_batch, width = gates_kxtxbxg.shape
        n = width // 4
        grad_gates_kxtxbxg = torch.empty_like(gates_kxtxbxg)
        grad_h_out = grad_h_kxtxbxn.unbind(1)
        dh_kxbxn = grad_h_kxtxbxn.new_empty((n_members, n_batch, n))
        dc_kxbxn = torch.zeros_like(dh_kxbxn)
        # step t's factors and ∂gates in small buffers that stay in cache (the whole-sequence
        # tensors of the same factors cost a pass through memory each); ∂gates_t is also the
        # contiguous gemm operand of step t-1
        factor_kxbxg = gates_kxtxbxg.new_empty((n_members, n_batch, width))
        h_to_c_kxbxn = torch.empty_like(dh_kxbxn)
        dgates_kxbxg = gates_kxtxbxg.new_empty((n_members, n_batch, width))
        d_i, d_f, d_g, d_o = factor_kxbxg.split(n, dim=-1)
        dc_1xbxn, factor_c_kxbx3xn = dc_kxbxn.unsqueeze(2), factor_kxbxg[..., :3 * n].unflatten(-1, (3, n))
        dgates_c_kxbx3xn, dgates_o_kxbxn = dgates_kxbxg[..., :3 * n].unflatten(-1, (3, n)), dgates_kxbxg[..., 3 * n:]
        gate_steps, (i_s, f_s, g_s, o_s) = gates_kxtxbxg.unbind(1), _gate_steps(gates_kxtxbxg, 4)
        cells, tanh_cells = cells_kxtxbxn.unbind(1), tanh_cells_kxtxbxn.unbind(1)
        grad_gate_slots, one = grad_gates_kxtxbxg.unbind(1), gates_kxtxbxg.new_ones(())
        for t in range(n_steps - 1, -1, -1):
            gates, i, f, g, o = gate_steps[t], i_s[t], f_s[t], g_s[t], o_s[t]
            # ∂L/∂gates_t = [∂c·g·σ'(i), ∂c·c_{t-1}·σ'(f), ∂c·i·tanh'(g), ∂h·tanh(c)·σ'(o)] = [∂c, ∂c, ∂c, ∂h] ⊙ factor_t
            torch.addcmul(gates, gates, gates, value=-1.0, out=factor_kxbxg)  # σ' = σ(1-σ)
            _one_minus_square(g, out=d_g, one=one)
            d_i.mul_(g)
            if t == 0:  # c_0 = 0
                d_f.zero_()
            else:
                d_f.mul_(cells[t - 1])
            d_g.mul_(i)
            d_o.mul_(tanh_cells[t])
            # ∂c_t gains ∂h_t · σ(o)·tanh'(c_t) from h_t
            _one_minus_square(tanh_cells[t], out=h_to_c_kxbxn, one=one).mul_(o)
            if t == n_steps - 1:
                dh = grad_h_out[t]
            else:  # ∂L/∂h_t from the readout and from the gates of step t+1
                dh = torch.baddbmm(grad_h_out[t], dgates_kxbxg, weight_hh_kxgxn, out=dh_kxbxn)
            dc_kxbxn.addcmul_(dh, h_to_c_kxbxn)
            torch.mul(dc_1xbxn, factor_c_kxbx3xn, out=dgates_c_kxbx3xn)
            torch.mul(dh, d_o, out=dgates_o_kxbxn)
            grad_gate_slots[t].copy_(dgates_kxbxg)
            if t > 0:  # c_t = f_t c_{t-1} + …
                dc_kxbxn.mul_(f)
        grad_w = None
        if ctx.needs_input_grad[1]:
            # ∂L/∂W_hh = Σ_t ∂gates_tᵀ h_{t-1}: one matmul per member over all steps (h_0 = 0),
            # formed as its transpose, whose operands are the faster layout for the gemm
            rows = n_steps * n_batch
            grad_w = torch.bmm(store_kxtxbxn[:, :-1].reshape(n_members, rows, n).transpose(1, 2),
                               grad_gates_kxtxbxg.view(n_members, rows, width)).transpose(1, 2)
        return grad_gates_kxtxbxg, grad_w


class _GRURecurrence(torch.autograd.Function):
    """Hidden states of K stacked GRU layers from their input drive; hand-written backward."""

    @staticmethod
    def forward(ctx, drive_kxtxbxg, weight_hh_kxgxn, bias_hh_kxg):  # type: ignore[override]
        n_members, n_steps, n_batch, width = drive_kxtxbxg.shape
        n = width // 3
        gates_kxtxbxg = torch.empty_like(drive_kxtxbxg)  # r, z, candidate
        # h W_hnᵀ + b_hn, which the reset gate scales
        hidden_n_kxtxbxn = drive_kxtxbxg.new_empty((n_members, n_steps, n_batch, n))
        store_kxtxbxn = drive_kxtxbxg.new_empty((n_members, n_steps + 1, n_batch, n))
        store_kxtxbxn[:, 0].zero_()
        bias_kx1xg = bias_hh_kxg.unsqueeze(1)
        gh_kxbxg = drive_kxtxbxg.new_empty((n_members, n_batch, width))
        h_kxbxn = drive_kxtxbxg.new_zeros((n_members, n_batch, n))
        w_t_kxnxg = weight_hh_kxgxn.transpose(1, 2).contiguous()  # see _LSTMRecurrence.forward
        # per-step views made once (see _LSTMRecurrence.forward)
        gh_rz, gh_n = gh_kxbxg[..., :2 * n], gh_kxbxg[..., 2 * n:]
        drive_rz, drive_n = drive_kxtxbxg[..., :2 * n].unbind(1), drive_kxtxbxg[..., 2 * n:].unbind(1)
        gates_rz = gates_kxtxbxg[..., :2 * n].unbind(1)
        reset_s, update_s, candidate_s = _gate_steps(gates_kxtxbxg, 3)
        for t, (hidden_n, h_slot) in enumerate(zip(hidden_n_kxtxbxn.unbind(1), store_kxtxbxn[:, 1:].unbind(1))):
            if t == 0:  # h_0 = 0
                gh_kxbxg.copy_(bias_kx1xg.expand_as(gh_kxbxg))
            else:
                torch.baddbmm(bias_kx1xg, h_kxbxn, w_t_kxnxg, out=gh_kxbxg)
            hidden_n.copy_(gh_n)
            torch.sigmoid(gh_rz.add_(drive_rz[t]), out=gates_rz[t])
            candidate, update = candidate_s[t], update_s[t]
            torch.mul(reset_s[t], hidden_n, out=candidate).add_(drive_n[t]).tanh_()
            # h_t = (1 - z) n + z h_{t-1}, in place in the contiguous gemm operand
            h_slot.copy_(h_kxbxn.sub_(candidate).mul_(update).add_(candidate))
        ctx.save_for_backward(weight_hh_kxgxn, gates_kxtxbxg, hidden_n_kxtxbxn, store_kxtxbxn)
        return store_kxtxbxn[:, 1:]

    @staticmethod
    def backward(ctx, grad_h_kxtxbxn):  # type: ignore[override]
        weight_hh_kxgxn, gates_kxtxbxg, hidden_n_kxtxbxn, store_kxtxbxn = ctx.saved_tensors
        n_members, n_steps, n_batch, width = gates_kxtxbxg.shape
        n = width // 3
        grad_hidden_kxtxbxg = torch.empty_like(gates_kxtxbxg)
        grad_drive_kxtxbxg = torch.empty_like(gates_kxtxbxg)
        grad_h_out = grad_h_kxtxbxn.unbind(1)
        dh_kxbxn = grad_h_kxtxbxn.new_empty((n_members, n_batch, n))
        base_kxbxn = torch.empty_like(dh_kxbxn)
        # step t's factors in small buffers that stay in cache (see _LSTMRecurrence.backward):
        # ∂L/∂(candidate pre-activation) = ∂h_t · (1-z)·tanh'(n), and
        # ∂L/∂(h W_hhᵀ + b_hh)_t = ∂h_t ⊙ factor_t, factor = [n-part · b_n · σ'(r), (h_{t-1} - n) σ'(z), n-part · r]
        h_to_n_kxbxn = torch.empty_like(dh_kxbxn)
        factor_kxbxg = gates_kxtxbxg.new_empty((n_members, n_batch, width))
        d_r, d_z, d_n = factor_kxbxg.split(n, dim=-1)
        factor_kxbx3xn, one = factor_kxbxg.unflatten(-1, (3, n)), gates_kxtxbxg.new_ones(())
        # per-step views made once (see _LSTMRecurrence.forward)
        gate_steps, (reset_s, update_s, candidate_s) = gates_kxtxbxg.unbind(1), _gate_steps(gates_kxtxbxg, 3)
        hidden_n, h_prev = hidden_n_kxtxbxn.unbind(1), store_kxtxbxn.unbind(1)
        hidden_slots = grad_hidden_kxtxbxg.unbind(1)
        hidden_blocks = grad_hidden_kxtxbxg.unflatten(-1, (3, n)).unbind(1)
        drive_n_slots = grad_drive_kxtxbxg[..., 2 * n:].unbind(1)
        dh = None
        for t in range(n_steps - 1, -1, -1):
            gates, candidate = gate_steps[t], candidate_s[t]
            _one_minus_square(candidate, out=h_to_n_kxbxn, one=one).mul_(1.0 - update_s[t])
            torch.addcmul(gates, gates, gates, value=-1.0, out=factor_kxbxg)
            d_r.mul_(hidden_n[t]).mul_(h_to_n_kxbxn)
            d_z.mul_(h_prev[t] - candidate)
            torch.mul(h_to_n_kxbxn, reset_s[t], out=d_n)
            if dh is None:
                dh = grad_h_out[t]
            else:  # ∂L/∂h_t from the readout, from h_{t+1} directly and through step t+1's gates
                torch.addcmul(grad_h_out[t], dh, update_s[t + 1], out=base_kxbxn)
                dh = torch.baddbmm(base_kxbxn, hidden_slots[t + 1], weight_hh_kxgxn, out=dh_kxbxn)
            torch.mul(dh.unsqueeze(2), factor_kxbx3xn, out=hidden_blocks[t])
            torch.mul(dh, h_to_n_kxbxn, out=drive_n_slots[t])
        # the r and z pre-activations take h W_hhᵀ + b_hh and the drive alike
        grad_drive_kxtxbxg[..., :2 * n] = grad_hidden_kxtxbxg[..., :2 * n]
        rows = n_steps * n_batch
        grad_w = grad_b = None
        if ctx.needs_input_grad[1]:
            grad_w = torch.bmm(grad_hidden_kxtxbxg.view(n_members, rows, width).transpose(1, 2),
                               store_kxtxbxn[:, :-1].reshape(n_members, rows, n))
        if ctx.needs_input_grad[2]:
            grad_b = grad_hidden_kxtxbxg.view(n_members, rows, width).sum(1)
        return grad_drive_kxtxbxg, grad_w, grad_b


def _check_width(name: str, drive: torch.Tensor, weight_hh: torch.Tensor, blocks: int) -> None:
    """Refuse a drive and recurrent weight whose shapes do not fit ``blocks`` gates."""
    if drive.ndim != 4 or weight_hh.ndim != 3 or weight_hh.shape[:2] != (drive.shape[0], drive.shape[-1]) \
            or drive.shape[-1] != blocks * weight_hh.shape[-1]:
        raise ValueError(f"{name} needs drive (K, time, batch, {blocks}·n) and weight_hh (K, {blocks}·n, n); "
                         f"got {tuple(drive.shape)} and {tuple(weight_hh.shape)}")


def lstm_rates(drive_kxtxbxg: torch.Tensor, weight_hh_kxgxn: torch.Tensor) -> torch.Tensor:
    """Hidden states ``(K, time, batch, n)`` of K LSTM layers from ``h_0 = c_0 = 0``.

    Parameters
    ----------
    drive_kxtxbxg : torch.Tensor
        ``(K, time, batch, 4n)``: ``x W_ihᵀ + b_ih + b_hh``, gates in the order i, f, g, o.
    weight_hh_kxgxn : torch.Tensor
        ``(K, 4n, n)``.

    Returns
    -------
    torch.Tensor
        ``h_1 … h_T``, ``(K, time, batch, n)`` (a view of the kernel's storage).

    Raises
    ------
    ValueError
        If the shapes do not fit together.

    Examples
    --------
    >>> drive, weight = torch.randn(2, 5, 3, 16), torch.randn(2, 16, 4)
    >>> torch.allclose(lstm_rates(drive, weight), reference_lstm_rates(drive, weight), atol=1e-6)
    True
    """
    _check_width("lstm_rates", drive_kxtxbxg, weight_hh_kxgxn, 4)
    return _LSTMRecurrence.apply(drive_kxtxbxg, weight_hh_kxgxn)


def gru_rates(drive_kxtxbxg: torch.Tensor, weight_hh_kxgxn: torch.Tensor, bias_hh_kxg: torch.Tensor) -> torch.Tensor:
    """Hidden states ``(K, time, batch, n)`` of K GRU layers from ``h_0 = 0``.

    Parameters
    ----------
    drive_kxtxbxg : torch.Tensor
        ``(K, time, batch, 3n)``: ``x W_ihᵀ + b_ih``, gates in the order r, z, n.
    weight_hh_kxgxn : torch.Tensor
        ``(K, 3n, n)``.
    bias_hh_kxg : torch.Tensor
        ``(K, 3n)``; its n-part is scaled by the reset gate, as in ``torch.nn.GRU``.

    Returns
    -------
    torch.Tensor
        ``h_1 … h_T``, ``(K, time, batch, n)`` (a view of the kernel's storage).

    Raises
    ------
    ValueError
        If the shapes do not fit together.

    Examples
    --------
    >>> drive, weight, bias = torch.randn(2, 5, 3, 12), torch.randn(2, 12, 4), torch.randn(2, 12)
    >>> torch.allclose(gru_rates(drive, weight, bias), reference_gru_rates(drive, weight, bias), atol=1e-6)
    True
    """
    _check_width("gru_rates", drive_kxtxbxg, weight_hh_kxgxn, 3)
    if bias_hh_kxg.shape != drive_kxtxbxg.shape[:1] + drive_kxtxbxg.shape[-1:]:
        raise ValueError(f"gru_rates needs bias_hh (K, 3·n) = {tuple(drive_kxtxbxg.shape[:1] + drive_kxtxbxg.shape[-1:])}; "
                         f"got {tuple(bias_hh_kxg.shape)}")
    return _GRURecurrence.apply(drive_kxtxbxg, weight_hh_kxgxn, bias_hh_kxg)


def reference_lstm_rates(drive_kxtxbxg: torch.Tensor, weight_hh_kxgxn: torch.Tensor) -> torch.Tensor:
    """Slow autograd version of :func:`lstm_rates`: the model's own step, one step at a time."""
    h = drive_kxtxbxg.new_zeros((*drive_kxtxbxg.shape[:1], *drive_kxtxbxg.shape[2:3], weight_hh_kxgxn.shape[-1]))
    c, rates = torch.zeros_like(h), []
    for t in range(drive_kxtxbxg.shape[1]):
        h, c = lstm_update(drive_kxtxbxg[:, t] + torch.einsum("kbj,kij->kbi", h, weight_hh_kxgxn), c)
        rates.append(h)
    return torch.stack(rates, dim=1)


def reference_gru_rates(drive_kxtxbxg: torch.Tensor, weight_hh_kxgxn: torch.Tensor,
                        bias_hh_kxg: torch.Tensor) -> torch.Tensor:
    """Slow autograd version of :func:`gru_rates`: the model's own step, one step at a time."""
    h = drive_kxtxbxg.new_zeros((*drive_kxtxbxg.shape[:1], *drive_kxtxbxg.shape[2:3], weight_hh_kxgxn.shape[-1]))
    rates = []
    for t in range(drive_kxtxbxg.shape[1]):
        h = gru_update(drive_kxtxbxg[:, t], torch.einsum("kbj,kij->kbi", h, weight_hh_kxgxn) + bias_hh_kxg[:, None], h)
        rates.append(h)
    return torch.stack(rates, dim=1)
