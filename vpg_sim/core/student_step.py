"""A trainer's update with a student's functions in it, and how far they are from ours.

``VPGTrainer.student`` holds a :class:`StudentStep`; the trainer hands it the batch's
Phi_t and GAE before its policy step (:meth:`StudentStep.weights`) and lets it make the
policy-gradient loss (:meth:`StudentStep.policy_loss`). On the same batch it computes
vpg-sim's own answer too, and keeps what the "Yours vs reference" panel shows
(:class:`YoursVsReference`): where the student's numbers differ most from ours, and the
cosine between the policy gradients the two give.

With ``call=None`` it runs vpg-sim's own code in the same places: the reference run that
trains beside a student's (``training/student_session.py``) takes exactly the path of the
student's run, with our functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from vpg_sim.core.policy_gradient import policy_gradient_loss
from vpg_sim.core.stabilisers import normalized_advantages
from vpg_sim.core.student import PHI_SLOTS, Caller, Stream, batch_streams, from_streams, reference_on_batch

if TYPE_CHECKING:
    from vpg_sim.core.config import VPGConfig
    from vpg_sim.core.rollout import RolloutBatch


@dataclass(frozen=True)
class SlotDifference:
    """Where one slot's student answer is furthest from ours on a batch.

    For a Phi slot, over the batch's steps: ``env`` and ``step`` index the arrays the
    student's function saw (``step`` of env ``env``'s stream). For ``loss``: the loss
    values (``env`` and ``step`` None).
    """

    slot: str
    largest: float
    """max |yours - reference|; 0 where they agree."""
    env: int | None
    step: int | None
    yours: float
    reference: float

    def where(self) -> str:
        """``env 3, step 17``, or ``the loss``: for the panel's label."""
        return "the loss" if self.env is None else f"env {self.env}, step {self.step}"


@dataclass(frozen=True)
class YoursVsReference:
    """One update of a student's run beside vpg-sim's own code on the same batch."""

    differences: tuple[SlotDifference, ...]
    """One per student slot in the update, in the update's order (Phi first, then the loss)."""
    gradient_cosine: float
    """cos(angle) between the policy gradient the student's code gives and the one ours
    gives on this batch (after normalisation, as the step uses them): 1 the same direction,
    0 at right angles, -1 uphill turned downhill. NaN if either gradient is zero."""
    steps: int
    """B, the batch's steps."""


def largest_difference(
    slot: str, yours: np.ndarray, reference: np.ndarray, streams: Sequence[Stream]
) -> SlotDifference:
    """The step where ``yours`` and ``reference`` (both ``(T, N)``) differ most, among the
    steps of ``streams``, located in the student's coordinates."""
    best = SlotDifference(slot, 0.0, None, None, math.nan, math.nan)
    for stream in streams:
        gaps = np.abs(yours[stream.rows, stream.env] - reference[stream.rows, stream.env])
        step = int(np.argmax(gaps))
        if best.env is None or gaps[step] > best.largest:
            row = stream.rows[step]
            best = SlotDifference(
                slot,
                float(gaps[step]),
                stream.env,
                step,
                float(yours[row, stream.env]),
                float(reference[row, stream.env]),
            )
    return best


def gradient_cosine(loss_a: torch.Tensor, loss_b: torch.Tensor, parameters: Sequence[torch.Tensor]) -> float:
    """cos(angle) between the gradients of two losses with respect to ``parameters``; NaN
    if either is zero. The graph is kept: the trainer's own backward follows."""
    flat = []
    for loss in (loss_a, loss_b):
        grads = torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)
        flat.append(
            torch.cat(
                [
                    g.reshape(-1) if g is not None else torch.zeros(p.numel())
                    for g, p in zip(grads, parameters, strict=True)
                ]
            )
        )
    norms = float(flat[0].norm()) * float(flat[1].norm())
    if norms == 0.0:
        return math.nan
    return float(np.clip(float(flat[0] @ flat[1]) / norms, -1.0, 1.0))


class StudentStep:
    """The student's slots in a trainer's update (see the module docstring).

    :param slots: the slots the student filled (``StudentCode.slots``).
    :param call: runs a slot's function on calls (``vpg_sim.core.student.Caller``); None:
        vpg-sim's own code in the same places (the reference run).
    """

    def __init__(self, slots: Sequence[str], call: Caller | None) -> None:
        self.slots = tuple(slots)
        self.call = call
        self.phi_slot = next((slot for slot in self.slots if slot in PHI_SLOTS), None)
        self.comparison: YoursVsReference | None = None
        """The newest update's numbers (None before the first, and for the reference run)."""
        self._differences: list[SlotDifference] = []
        self._reference_weights: np.ndarray | None = None
        self._config: VPGConfig | None = None

    def weights(
        self, batch: RolloutBatch, config: VPGConfig, advantages: np.ndarray, gae: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Phi_t and the GAE the critic's targets come from, ``(T, N)`` each, with the
        student's function in its slot; ``advantages`` and ``gae``: the trainer's own."""
        self._config = config
        self._differences = []
        self._reference_weights = None
        if self.phi_slot is None:
            return advantages, gae
        reference = gae if self.phi_slot == "gae" else reference_on_batch("advantages", batch, config.gamma, 1.0)
        yours = reference
        if self.call is not None:
            streams = batch_streams(batch)
            calls = [(f"env {s.env}", s.arguments(self.phi_slot, config.gamma, config.gae_lambda)) for s in streams]
            yours = from_streams(self.call(self.phi_slot, calls), streams, batch.rewards.shape)
            self._differences.append(largest_difference(self.phi_slot, yours, reference, streams))
            self._reference_weights = reference[batch.valid]
        return yours, (yours if self.phi_slot == "gae" else gae)

    def policy_loss(
        self, log_probs: torch.Tensor, weights: torch.Tensor, parameters: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """The policy-gradient loss of ``log_probs`` ``(B,)`` (differentiable) and the step's
        ``weights`` ``(B,)``: the student's if they wrote one, ours otherwise. Keeps the
        update's :class:`YoursVsReference` (``parameters``: the policy's, for the cosine)."""
        ours = policy_gradient_loss(log_probs, weights)
        if self.call is None:
            return ours
        loss = ours
        if "loss" in self.slots:
            [(value, gradient)] = self.call("loss", [("the batch", (log_probs.detach().numpy(), weights.numpy()))])
            # The student's loss has exactly this gradient with respect to log pi, and so,
            # by the chain rule, the same gradient as their loss with respect to the weights.
            surrogate = (log_probs * torch.from_numpy(gradient).float()).sum()
            loss = surrogate - surrogate.detach() + value
            our_value = float(ours.detach())
            self._differences.append(SlotDifference("loss", abs(value - our_value), None, None, value, our_value))
        reference_loss = ours
        if self._reference_weights is not None:
            reference_loss = policy_gradient_loss(log_probs, torch.from_numpy(self._step_weights()).float())
        if self._differences:
            cosine = gradient_cosine(loss, reference_loss, parameters)
            self.comparison = YoursVsReference(tuple(self._differences), cosine, len(log_probs))
        return loss

    def _step_weights(self) -> np.ndarray:
        """Our Phi_t as the policy step would use it (normalised, if the config does)."""
        assert self._reference_weights is not None and self._config is not None
        if self._config.normalize_advantages:
            return normalized_advantages(self._reference_weights, self._config.advantage_std_floor)
        return self._reference_weights
