"""A decision task with discrete signed evidence pulses (after Yates et al. 2017).

In the LIP experiment of Yates, Park, Katz, Pillow & Huk (2017, *Nat. Neurosci.*
20:1285) a trial's motion stimulus is a sequence of 7 pulses of random signed strength
(about 150 ms each, back to back) and the monkey reports the sign of the net motion.
Here each trial shows ``n_pulses`` pulses on one stimulus channel after a fixation
period; the fixation channel drops to 0 at the decision period, where the single output
``"choice"`` must be 1 if the sum of the pulse strengths is positive and 0 if negative.
Sums of exactly 0 (ties; about 6 % of the recorded trials) get a random label, a fair
coin drawn from the sampling ``rng``, so they carry no systematic target.

During pulse ``k`` the stimulus channel carries ``gain · s_k`` plus optional Gaussian
noise of per-step sd ``sigma`` over the whole stimulus period; outside it the channel is
exactly 0. Strengths are drawn i.i.d. uniformly from ``strengths``, or, when
``pulse_sequences`` is given, whole sequences are drawn (with replacement) from that
bank, e.g. the recorded trials, whose pulses are strongly correlated within a trial.
:meth:`PulsesTask.trials_from_pulses` replays given sequences exactly, trial by trial,
so a network can be run on the very stimuli of a recording.

With a ``decision_bound`` the target is the choice of a *bounded* accumulator instead (after
Kiani, Hanks & Shadlen 2008): the stimulus as shown (noise included) is summed step
by step in units of pulse strength, and the first crossing of ``±decision_bound`` commits the
choice, so evidence after it is ignored. Without noise and with the bound never
reached, this is the sign of the summed strengths again. With ``loss_mask="paper"``
the committed choice is also the target from the crossing step on (an early
commitment is rewarded); without one (the default) trials are what they always were.

The defaults (integer strengths -4..4, gain 1/4) are illustrative. The LIP data code
strengths as integers in -19..19; to replay them choose a ``gain`` that keeps the inputs
in the range the network was trained on (e.g. ``gain=1/19``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_array,
    check_in,
    check_int,
    check_memory,
    check_multiple,
    check_real,
    check_rng,
    check_type,
    rng_provenance,
)
from neurodis.tasks.base import EncoderLike, Task, TrialBatch, register_task
from neurodis.trials import make_trials

__all__ = ["PulsesTask"]


@register_task
@dataclass(frozen=True, kw_only=True)
class PulsesTask(Task):
    """Report the sign of the summed strength of a sequence of discrete pulses.

    Parameters
    ----------
    n_pulses : int
        Number of pulses per trial (>= 1).
    strengths : sequence of float
        Signed strengths each pulse is drawn from, uniformly and independently
        (ignored when ``pulse_sequences`` is given).
    gain : float
        Stimulus input per unit of strength (> 0).
    sigma : float
        Per-step sd of Gaussian noise added to the stimulus channel during the stimulus
        period (>= 0); labels always come from the noise-free strengths.
    fixation, pulse_duration, pulse_interval, delay, decision : float
        Durations in ms, multiples of ``dt``: fixation before the first pulse, each
        pulse (> 0), the gap between consecutive pulses, the gap after the last pulse,
        and the decision period (> 0).
    dt : float
        Euler step in ms (> 0).
    loss_mask : {"decision", "paper"}
        "decision": only the decision steps are in the loss; "paper": every step, with
        target 0.5 before the decision period.
    pulse_sequences : array-like of shape (n_sequences, n_pulses), optional
        A bank of strength sequences to draw whole trials from.
    decision_bound : float, optional
        Absorbing bound (> 0) on the accumulated evidence, in units of pulse strength:
        after step ``t`` the evidence is ``A(t) = Σ_{s≤t} stimulus(s) / (gain ·
        pulse steps)``, the stimulus channel as shown, noise included. The label is
        the sign of ``A`` at the first step with ``|A| >= bound``, or of the final
        ``A`` if there is none (exact ties: the fair coin); the trial coord
        ``commit_step`` holds that step (-1: never reached). With
        ``loss_mask="paper"`` the target is the committed label from that step on.
        ``None`` (default): no bound, labels from the noise-free strengths; the option
        is then absent from :meth:`config`.

    Examples
    --------
    >>> import neurodis
    >>> task = neurodis.make_task("pulses")
    >>> task.n_steps, task.decision_index
    (25, 23)
    >>> trials = task.trials_from_pulses([[1, 2, -1, 0, 3, -4, 1]], rng=0)
    >>> float(trials["evidence"][0]), int(trials["label"][0])
    (2.0, 1)
    >>> bounded = PulsesTask(decision_bound=3.0).trials_from_pulses(
    ...     [[1, 2, -1, 0, 3, -4, 1], [-1, 2, -4, 1, 1, 1, 1]], rng=0)
    >>> bounded["label"].values.tolist(), bounded["commit_step"].values.tolist()
    ([1, 0], [7, 10])
    """

    name: ClassVar[str] = "pulses"
    MASKS: ClassVar[tuple[str, ...]] = ("decision", "paper")

    n_pulses: int = 7
    strengths: tuple[float, ...] = (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0)
    gain: float = 0.25
    sigma: float = 0.0
    fixation: float = 100.0
    pulse_duration: float = 150.0
    pulse_interval: float = 0.0
    delay: float = 0.0
    decision: float = 100.0
    dt: float = 50.0  # type: ignore[assignment]  # a plain field here, no Timing
    loss_mask: str = "decision"
    pulse_sequences: tuple[tuple[float, ...], ...] | None = None
    decision_bound: float | None = None

    def __post_init__(self) -> None:
        check_int("n_pulses", self.n_pulses, minimum=1)
        check_type("strengths", self.strengths, (tuple, list, np.ndarray), "a sequence of real numbers")
        strengths = check_array("strengths", self.strengths, ndim=1, dtype=np.float64)
        if strengths.size == 0:
            raise ValueError("strengths must hold at least one value; got an empty sequence")
        object.__setattr__(self, "strengths", tuple(strengths.tolist()))
        check_real("gain", self.gain, minimum=0.0, strict_minimum=True)
        check_real("sigma", self.sigma, minimum=0.0)
        check_real("dt", self.dt, minimum=0.0, strict_minimum=True)
        for period in ("fixation", "pulse_duration", "pulse_interval", "delay", "decision"):
            check_multiple(period, getattr(self, period), self.dt)
        for period in ("pulse_duration", "decision"):
            if check_multiple(period, getattr(self, period), self.dt) < 1:
                raise ValueError(
                    f"{period} must be at least one step of dt={self.dt} ms; got {getattr(self, period)}"
                )
        check_in("loss_mask", self.loss_mask, self.MASKS)
        stride = max(1, self._steps("pulse_duration") + self._steps("pulse_interval"))
        # one trial holds n_pulses strides of 4 float64 channels (2 inputs, target, mask)
        check_memory("n_pulses", self.n_pulses, 32.0 * self.n_pulses * stride,
                     f"one trial's inputs, targets and loss mask float64 ({stride} steps per pulse)")
        if self.pulse_sequences is not None:
            bank = self._check_pulses("pulse_sequences", self.pulse_sequences)
            object.__setattr__(self, "pulse_sequences", tuple(map(tuple, bank.tolist())))
        if self.decision_bound is not None:
            object.__setattr__(self, "decision_bound",
                               check_real("decision_bound", self.decision_bound, minimum=0.0, strict_minimum=True))

    def config(self) -> dict[str, Any]:
        """The task's parameters as a JSON-serialisable dict; ``decision_bound`` only when set.

        Leaving the unset option out keeps the configs (and the run ids hashed from
        them) of every task that existed before it.
        """
        config = super().config()
        if self.decision_bound is None:
            del config["decision_bound"]
        return config

    # -- trial structure ----------------------------------------------------------------

    def _steps(self, period: str) -> int:
        return check_multiple(period, getattr(self, period), self.dt)

    @property
    def pulse_onsets(self) -> np.ndarray:
        """Step index at which each pulse starts, shape (n_pulses,)."""
        stride = self._steps("pulse_duration") + self._steps("pulse_interval")
        return self._steps("fixation") + stride * np.arange(self.n_pulses)

    @property
    def decision_index(self) -> int:
        """Index of the first decision step."""
        stimulus_end = int(self.pulse_onsets[-1]) + self._steps("pulse_duration")
        return stimulus_end + self._steps("delay")

    @property
    def n_steps(self) -> int:
        """Number of Euler steps in one trial."""
        return self.decision_index + self._steps("decision")

    def pulse_index(self) -> np.ndarray:
        """Which pulse each step shows, shape (time,): 0..n_pulses-1, or -1 for none.

        Examples
        --------
        >>> PulsesTask(n_pulses=2, fixation=50.0, pulse_interval=50.0, decision=50.0).pulse_index()
        array([-1,  0,  0,  0, -1,  1,  1,  1, -1])
        """
        index_t = np.full(self.n_steps, -1)
        for k, onset in enumerate(self.pulse_onsets):
            index_t[onset : onset + self._steps("pulse_duration")] = k
        return index_t

    @property
    def input_names(self) -> list[str]:
        return ["fixation", "stimulus_0"]

    @property
    def output_names(self) -> list[str]:
        return ["choice"]

    @property
    def latent_names(self) -> list[str]:
        return ["evidence"]

    # -- sampling -----------------------------------------------------------------------

    def sample_arrays(self, n_trials: int, rng: np.random.Generator) -> TrialBatch:
        """Draw ``n_trials`` trials as raw float64 arrays, vectorised over trials."""
        n_trials = check_int("n_trials", n_trials, minimum=1)
        check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
        if self.pulse_sequences is None:
            strengths = np.asarray(self.strengths)
            pulses_nxk = strengths[rng.integers(len(strengths), size=(n_trials, self.n_pulses))]
        else:
            bank = np.asarray(self.pulse_sequences, dtype=np.float64)
            pulses_nxk = bank[rng.integers(len(bank), size=n_trials)]
        return self.arrays_from_pulses(pulses_nxk, rng)

    def arrays_from_pulses(self, pulses: Any, rng: np.random.Generator) -> TrialBatch:
        """Raw arrays of trials showing exactly the given strength sequences, in order.

        Parameters
        ----------
        pulses : array-like, shape (trial, n_pulses)
            Signed strength of every pulse of every trial.
        rng : numpy.random.Generator
            Source of the tie-breaking coins and of the stimulus noise.

        Returns
        -------
        TrialBatch
            With trial coords ``pulse_0`` … ``pulse_{n-1}``, ``evidence`` (the sum of
            strengths) and ``label`` (the target choice, 0 or 1).
        """
        pulses_nxk = self._check_pulses("pulses", pulses)
        n_trials, n_steps = pulses_nxk.shape[0], self.n_steps
        evidence_n = pulses_nxk.sum(axis=1)
        # float sums of strengths that cancel may miss 0 by round-off
        tie_n = np.abs(evidence_n) <= 1e-9 * np.maximum(1.0, np.abs(pulses_nxk).sum(axis=1))
        coin_n = rng.random(n_trials) < 0.5
        label_n = np.where(tie_n, coin_n, evidence_n > 0).astype(np.int64)

        index_t = self.pulse_index()
        decision = self.decision_index
        inputs = np.zeros((n_trials, n_steps, 2))
        inputs[:, :decision, 0] = 1.0
        shown_t = index_t >= 0
        inputs[:, shown_t, 1] = self.gain * pulses_nxk[:, index_t[shown_t]]
        if self.sigma > 0:
            stimulus = slice(int(self.pulse_onsets[0]), int(np.flatnonzero(shown_t)[-1]) + 1)
            width = stimulus.stop - stimulus.start
            inputs[:, stimulus, 1] += self.sigma * rng.standard_normal((n_trials, width))

        targets = np.full((n_trials, n_steps, 1), 0.5)
        if self.decision_bound is not None:
            label_n, commit_n = self._bounded_choice(self.decision_bound, inputs[:, :, 1], coin_n)
            # the committed choice is the target from the crossing on (in the loss with "paper")
            committed_nxt = (np.arange(n_steps) >= commit_n[:, None]) & (commit_n[:, None] >= 0)
            targets[:, :, 0] = np.where(committed_nxt, label_n[:, None], 0.5)
        targets[:, decision:, 0] = label_n[:, None]
        loss_mask = np.ones_like(targets)
        if self.loss_mask == "decision":
            loss_mask[:, :decision] = 0.0
        coords: dict[str, np.ndarray] = {f"pulse_{k}": pulses_nxk[:, k].copy() for k in range(self.n_pulses)}
        coords.update(evidence=evidence_n, label=label_n)
        if self.decision_bound is not None:
            coords["commit_step"] = commit_n
        return TrialBatch(inputs=inputs, targets=targets, loss_mask=loss_mask,
                          latents=evidence_n[:, None].copy(), trial_coords=coords)

    def _bounded_choice(self, bound: float, stimulus_nxt: np.ndarray,
                        coin_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels and commitment steps (-1: none) of a bounded accumulator of the shown stimulus."""
        accumulated_nxt = np.cumsum(stimulus_nxt, axis=1) / (self.gain * self._steps("pulse_duration"))
        # a sum of strengths landing exactly on the bound may miss it by round-off
        slack = 1e-9 * max(1.0, bound)
        crossed_nxt = np.abs(accumulated_nxt) >= bound - slack
        reached_n = crossed_nxt.any(axis=1)
        commit_n = np.where(reached_n, np.argmax(crossed_nxt, axis=1), -1)
        rows = np.arange(len(coin_n))
        value_n = np.where(reached_n, accumulated_nxt[rows, np.maximum(commit_n, 0)], accumulated_nxt[:, -1])
        tie_n = np.abs(value_n) <= slack
        return np.where(tie_n, coin_n, value_n > 0).astype(np.int64), commit_n

    def trials_from_pulses(
        self,
        pulses: Any,
        rng: int | np.random.Generator | np.random.SeedSequence | None = None,
        *,
        encoder: EncoderLike | None = None,
    ) -> xr.Dataset:
        """Labelled trials replaying exactly the given pulse sequences, one per trial.

        Parameters
        ----------
        pulses : array-like, shape (trial, n_pulses)
            Signed strength of every pulse of every trial (e.g. a recording's stimuli).
        rng : int, Generator, SeedSequence or None
            Source of the tie-breaking coins and of the stimulus noise.
        encoder : Encoder, optional
            Frozen encoder applied to the stimulus channel.

        Returns
        -------
        xarray.Dataset
            A trials Dataset as from :meth:`sample`, trial ``i`` showing ``pulses[i]``.

        Raises
        ------
        ValueError
            If ``pulses`` is not a finite (trial, n_pulses) array with at least one trial.
        """
        from neurodis._version import __version__

        generator = check_rng(rng)
        attrs: dict[str, Any] = {
            "task": self.name,
            "config": json.dumps(self.config(), sort_keys=True),
            **rng_provenance(rng, generator),
            "neurodis_version": __version__,
            "replayed_pulses": 1,
        }
        batch = self.arrays_from_pulses(pulses, generator)
        inputs, input_names = batch.inputs, self.input_names
        if encoder is not None:
            inputs, input_names = encoder.encode_inputs(inputs, input_names)
            attrs["encoder"] = json.dumps(encoder.config(), sort_keys=True)
        return make_trials(
            inputs=inputs, targets=batch.targets, loss_mask=batch.loss_mask,
            latents=batch.latents, dt=self.dt, input_names=input_names,
            output_names=self.output_names, latent_names=self.latent_names,
            trial_coords=batch.trial_coords, attrs=attrs,
        )

    def _check_pulses(self, name: str, pulses: Any) -> np.ndarray:
        array = check_array(name, pulses, ndim=2, shape=(None, self.n_pulses), dtype=np.float64)
        if array.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one sequence; got shape {array.shape}")
        return array
