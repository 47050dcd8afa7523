"""The shared loop every iterative attack runs; each attack only says how one step moves.

An attack perturbs the tensor ``x`` a callable ``model`` receives (a photo, or a batch of face
chips), lowering an :class:`~facecloak.attacks.objectives.Objective`'s per-sample loss. One step:

1. forward ``model(diversity(transform(x_i)))``, ``eot_samples`` times with fresh random draws
   when a transform or input diversity is on, and average the input gradients
   (``torch.autograd.grad`` with respect to ``x_i`` only: model parameters never get ``.grad``);
2. per sample, stop if early stopping is on and the objective reports success (with transforms
   on: success on every transformed copy);
3. fold the gradient into a momentum buffer when ``momentum > 0`` (MI-FGSM: the new gradient is
   divided by its per-sample mean absolute value, then added to ``momentum`` times the buffer);
4. the attack's :meth:`Attack.descent_step` gives the update, which is scaled by the mask,
   subtracted, projected into the ``eps`` ball (scaled by the mask) and clipped to [0, 1].

After the loop the attack evaluates the objective once more on the untransformed adversarial
input and reports per-sample steps, loss and success in an :class:`AttackResult`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor

from facecloak.attacks.common import (
    TINY,
    AttackResult,
    Model,
    StepInfo,
    broadcasts_to,
    finite_or_zero,
    per_sample,
)
from facecloak.attacks.objectives import (
    Objective,
    ObjectiveResult,
    detach_output,
    index_output,
)
from facecloak.attacks.transforms import InputDiversity, Transform

logger = logging.getLogger(__name__)


class Attack(ABC):
    """Base of every attack: option handling, the step loop, bookkeeping.

    Args:
        model: differentiable callable ``model(x)``; its train/eval mode and parameters'
            ``requires_grad`` are left as they are.
        objective: what to minimise; may instead be given per call.
        eps: L-inf budget around the input, or ``None`` for no budget.
        steps: maximum number of update steps.
        step_size: the size of one step (its meaning depends on the attack).
        random_start: start at a uniform random point of the eps ball (needs ``eps``).
        early_stop: stop updating a sample once the objective reports success.
        momentum: MI-FGSM decay ``mu``; 0 disables momentum.
        diversity_prob: probability of input diversity (random shrink-and-pad) per sample and
            step; 0 disables it.
        diversity_min_scale: smallest shrink factor of input diversity.
        mask: broadcastable to the input, values in [0, 1]: where 0 nothing changes, in between
            the step and the budget are scaled. May be given per call.
        transform: ``transform(x) -> x`` applied before the model (and before input diversity)
            at every gradient evaluation, e.g. :func:`~facecloak.attacks.transforms.eot_transform`.
        eot_samples: random draws of transform/diversity whose gradients are averaged per step.
        callback: called with a :class:`StepInfo` after every step (progress bars).
        generator: random source for the start point and input diversity (``transform``
            draws from its own).
        forward_active_only: forward only the samples still being updated. Faster with early
            stopping, but only valid when row ``i`` of the model's output depends on row ``i``
            of its input alone (not for a model bound to per-image data such as landmarks).

    Subclasses implement :meth:`descent_step`. Example::

        class SignDescent(Attack):
            name = "sign-descent"

            def descent_step(self, grad, x_adv, x):
                return self.step_size * grad.sign()

        x_adv = SignDescent(model, objective, eps=4 / 255, steps=5, step_size=1 / 255)(x)
    """

    name: ClassVar[str] = "attack"
    needs_eps: ClassVar[bool] = False
    start_jitter: ClassVar[float] = 1e-3
    """Half-width of the uniform start noise used when the objective is stationary at the input
    (no gradient there) and there is no random start; below one 8-bit grey level."""
    batched: ClassVar[bool] = True
    """Whether the attack treats the rows of a batch independently (the perceptual attack
    takes one photo crop at a time)."""
    hyperparameters: ClassVar[tuple[str, ...]] = ()
    """Names of an attack's own knobs (class attributes a keyword may override, e.g. ``lam``)."""

    # Defaults every attack may override as class attributes (no per-attack ``__init__``).
    eps: float | None = None
    steps: int = 10
    step_size: float = 1 / 255
    random_start: bool = False

    def __init__(
        self,
        model: Model,
        objective: Objective | None = None,
        *,
        early_stop: bool = False,
        momentum: float = 0.0,
        diversity_prob: float = 0.0,
        diversity_min_scale: float = 0.9,
        mask: Tensor | None = None,
        transform: Transform | None = None,
        eot_samples: int = 1,
        callback: Callable[[StepInfo], None] | None = None,
        generator: torch.Generator | None = None,
        forward_active_only: bool = False,
        **settings: Any,
    ) -> None:
        self._apply_settings(settings)
        self._check_options(momentum, eot_samples)
        self.model = model
        self.objective = objective
        self.early_stop = early_stop
        self.momentum = float(momentum)
        self.diversity = (
            InputDiversity(diversity_prob, diversity_min_scale, generator=generator)
            if diversity_prob > 0
            else None
        )
        self.mask = mask
        self.transform = transform
        self.eot_samples = int(eot_samples)
        self.callback = callback
        self.generator = generator
        self.forward_active_only = forward_active_only
        self.last_result: AttackResult | None = None

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        """``eps``, ``steps``, ``step_size``, ``random_start`` and the attack's
        :attr:`hyperparameters` override the class defaults; anything else is refused."""
        known = ("eps", "steps", "step_size", "random_start", *self.hyperparameters)
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise TypeError(f"{self.name} got unknown option(s) {unknown}; it takes {known}")
        for key, value in settings.items():
            setattr(self, key, value)
        self.eps = None if self.eps is None else float(self.eps)
        self.steps, self.step_size = int(self.steps), float(self.step_size)

    def _check_options(self, momentum: float, eot_samples: int) -> None:
        if self.eps is None and (self.needs_eps or self.random_start):
            what = "a random start" if self.random_start else self.name
            raise ValueError(f"{what} needs an eps budget, got eps=None")
        if self.eps is not None and not self.eps > 0:
            raise ValueError(f"eps must be positive or None, got {self.eps}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if not self.step_size > 0:
            raise ValueError(f"step_size must be positive, got {self.step_size}")
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if eot_samples < 1:
            raise ValueError(f"eot_samples must be >= 1, got {eot_samples}")

    # ------------------------------------------------------------------ what subclasses define

    @abstractmethod
    def descent_step(self, grad: Tensor, x_adv: Tensor, x: Tensor) -> Tensor:
        """The update to subtract from ``x_adv``, before masking, projection and clipping.

        Args:
            grad: ``(N, ...)`` loss gradient at ``x_adv`` (after momentum when enabled).
            x_adv: the current iterate.
            x: the clean input.
        """

    # ------------------------------------------------------------------ public entry points

    def __call__(
        self, x: Tensor, *, objective: Objective | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """The adversarial version of ``x``; details go to :attr:`last_result`."""
        return self.run(x, objective=objective, mask=mask).adversarial

    def run(
        self, x: Tensor, *, objective: Objective | None = None, mask: Tensor | None = None
    ) -> AttackResult:
        """Attack ``x`` (float, ``(N, ...)``, in [0, 1]; never modified).

        ``objective`` and ``mask`` override the ones given at construction.
        """
        objective = self._resolve_objective(objective)
        x_clean = self._validated_input(x)
        mask_t = self._prepared_mask(self.mask if mask is None else mask, x_clean)
        clean_output = self._clean_output(x_clean, objective)
        x_adv = self._starting_point(x_clean, mask_t, objective)

        n = x_clean.shape[0]
        active = torch.ones(n, dtype=torch.bool, device=x_clean.device)
        steps_taken = torch.zeros(n, dtype=torch.long, device=x_clean.device)
        loss = torch.zeros(n, dtype=x_clean.dtype, device=x_clean.device)
        success = torch.zeros(n, dtype=torch.bool, device=x_clean.device)
        velocity = torch.zeros_like(x_clean) if self.momentum > 0 else None

        for step in range(1, self.steps + 1):
            rows = active.nonzero().squeeze(1) if self.forward_active_only else None
            grad, evaluation = self._gradient(x_adv, clean_output, objective, rows)
            loss, success = self._scatter(loss, success, evaluation, rows)
            if self.early_stop:
                active &= ~success
            if bool(active.any()):
                grad, velocity = self._with_momentum(grad, velocity)
                x_next = self._advance(x_adv, grad, x_clean, mask_t)
                x_adv = torch.where(per_sample(active, x_adv), x_next, x_adv)
                steps_taken += active.long()
            self._report(step, loss, success, active)
            if not bool(active.any()):
                break

        result = self._final_result(x_adv, clean_output, objective, steps_taken)
        self.last_result = result
        logger.debug(
            "%s: %d/%d samples succeeded, mean %.1f steps",
            self.name,
            int(result.success.sum()),
            n,
            float(steps_taken.double().mean()) if n else 0.0,
        )
        return result

    # ------------------------------------------------------------------ set-up

    def _resolve_objective(self, objective: Objective | None) -> Objective:
        chosen = objective if objective is not None else self.objective
        if chosen is None:
            raise ValueError(f"{self.name} needs an objective, at construction or per call")
        return chosen

    @staticmethod
    def _validated_input(x: Tensor) -> Tensor:
        if not x.is_floating_point():
            raise TypeError(f"the input must be a float tensor in [0, 1], got {x.dtype}")
        if x.ndim < 2:
            raise ValueError(f"the input must be batched, (N, ...), got shape {tuple(x.shape)}")
        if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
            raise ValueError("the input must lie in [0, 1]")
        return x.detach().clone()

    @staticmethod
    def _prepared_mask(mask: Tensor | None, x: Tensor) -> Tensor:
        if mask is None:
            return torch.ones((1,) * x.ndim, dtype=x.dtype, device=x.device)
        mask_t = mask.detach().to(device=x.device, dtype=x.dtype)
        if not broadcasts_to(mask_t.shape, x.shape):
            raise ValueError(
                f"mask of shape {tuple(mask_t.shape)} does not broadcast to the input's "
                f"{tuple(x.shape)}"
            )
        if mask_t.numel() and (float(mask_t.min()) < 0.0 or float(mask_t.max()) > 1.0):
            raise ValueError("mask values must lie in [0, 1]")
        return mask_t.reshape((1,) * (x.ndim - mask_t.ndim) + tuple(mask_t.shape))

    def _clean_output(self, x: Tensor, objective: Objective) -> Any:
        if not objective.uses_clean_output:
            return None
        with torch.no_grad():
            return detach_output(self.model(x))

    def _starting_point(self, x: Tensor, mask: Tensor, objective: Objective) -> Tensor:
        if self.random_start:
            assert self.eps is not None  # checked at construction
            radius = self.eps
        elif objective.stationary_at_clean:
            radius = self.start_jitter if self.eps is None else min(self.start_jitter, self.eps)
        else:
            return x.clone()
        noise = torch.rand(x.shape, generator=self.generator, dtype=x.dtype, device="cpu")
        noise = (2.0 * noise - 1.0).to(x.device) * radius
        return (x + mask * noise).clamp(0.0, 1.0)

    # ------------------------------------------------------------------ one step

    def _gradient(
        self, x_adv: Tensor, clean_output: Any, objective: Objective, rows: Tensor | None
    ) -> tuple[Tensor, ObjectiveResult]:
        """Input gradient of the summed loss (averaged over EOT draws), full batch size.

        The loss is summed, not averaged, over samples so each sample's gradient does not depend
        on the batch size.
        """
        x_rows = x_adv if rows is None else x_adv[rows]
        clean_rows = index_output(clean_output, rows)
        draws = self.eot_samples if self._is_random() else 1
        grad_sum = torch.zeros_like(x_rows)
        loss_sum = torch.zeros(x_rows.shape[0], dtype=x_rows.dtype, device=x_rows.device)
        all_success = torch.ones(x_rows.shape[0], dtype=torch.bool, device=x_rows.device)
        for _ in range(draws):
            grad, evaluation = self._one_gradient(x_rows, clean_rows, objective, rows)
            grad_sum += grad
            loss_sum += evaluation.loss
            all_success &= evaluation.success
        evaluation = ObjectiveResult(loss=loss_sum / draws, success=all_success)
        grad = finite_or_zero(grad_sum / draws)
        if rows is not None:
            grad = torch.zeros_like(x_adv).index_copy_(0, rows, grad)
        return grad, evaluation

    def _one_gradient(
        self, x_rows: Tensor, clean_rows: Any, objective: Objective, rows: Tensor | None
    ) -> tuple[Tensor, ObjectiveResult]:
        # The caller may run us under no_grad/inference_mode; the gradient needs a graph.
        with torch.enable_grad():
            x_var = x_rows.detach().requires_grad_(True)
            output = self.model(self._model_input(x_var))
            evaluation = objective(output, clean_rows, rows)
            self._check_evaluation(evaluation, x_rows.shape[0])
            if not evaluation.loss.requires_grad:
                raise RuntimeError(
                    "the objective's loss does not depend on the input: is the model "
                    "differentiable and run outside torch.no_grad()?"
                )
            (grad,) = torch.autograd.grad(evaluation.loss.sum(), x_var, allow_unused=True)
        if grad is None:
            raise RuntimeError("the objective's loss does not depend on the attacked input")
        loss = evaluation.loss.detach().to(x_rows.dtype)
        return grad, ObjectiveResult(loss=loss, success=evaluation.success.detach().bool())

    def _model_input(self, x: Tensor) -> Tensor:
        if self.transform is not None:
            x = self.transform(x)
        if self.diversity is not None:
            x = self.diversity(x)
        return x

    def _is_random(self) -> bool:
        return self.transform is not None or self.diversity is not None

    @staticmethod
    def _check_evaluation(evaluation: ObjectiveResult, n: int) -> None:
        for name in ("loss", "success"):
            value = getattr(evaluation, name)
            if tuple(value.shape) != (n,):
                raise ValueError(
                    f"the objective's {name} has shape {tuple(value.shape)}, expected ({n},): "
                    "the model's output must have one row per input sample (for a photo with "
                    "several faces, return (N, F, D) embeddings)"
                )

    @staticmethod
    def _scatter(
        loss: Tensor, success: Tensor, evaluation: ObjectiveResult, rows: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        if rows is None:
            return evaluation.loss, evaluation.success
        return (
            loss.index_copy(0, rows, evaluation.loss),
            success.index_copy(0, rows, evaluation.success),
        )

    def _with_momentum(self, grad: Tensor, velocity: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if velocity is None:
            return grad, None
        scale = grad.abs().flatten(1).mean(1).clamp_min(TINY)
        velocity = self.momentum * velocity + grad / per_sample(scale, grad)
        return velocity, velocity

    def _advance(self, x_adv: Tensor, grad: Tensor, x: Tensor, mask: Tensor) -> Tensor:
        moved = x_adv - mask * self.descent_step(grad, x_adv, x)
        return self._project(moved, x, mask)

    def _project(self, x_adv: Tensor, x: Tensor, mask: Tensor) -> Tensor:
        """Into the (mask-scaled) eps ball around ``x``, then into [0, 1]."""
        if self.eps is not None:
            bound = self.eps * mask
            x_adv = x + torch.clamp(x_adv - x, min=-bound, max=bound)
        return x_adv.clamp(0.0, 1.0)

    def _report(self, step: int, loss: Tensor, success: Tensor, active: Tensor) -> None:
        if self.callback is not None:
            info = StepInfo(step, self.steps, loss.clone(), success.clone(), active.clone())
            self.callback(info)

    # ------------------------------------------------------------------ wrap-up

    def _final_result(
        self,
        x_adv: Tensor,
        clean_output: Any,
        objective: Objective,
        steps_taken: Tensor,
    ) -> AttackResult:
        with torch.no_grad():
            evaluation = objective(self.model(x_adv), clean_output, None)
        self._check_evaluation(evaluation, x_adv.shape[0])
        return AttackResult(
            adversarial=x_adv.detach(),
            steps=steps_taken,
            loss=evaluation.loss.detach(),
            success=evaluation.success.detach().bool(),
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(eps={self.eps}, steps={self.steps}, "
            f"step_size={self.step_size}, random_start={self.random_start}, "
            f"early_stop={self.early_stop}, momentum={self.momentum})"
        )
