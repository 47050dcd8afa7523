"""The ensemble objective: away from every member's clean embedding in threshold units, and
optionally toward a decoy."""

import pytest
import torch

from facecloak.attacks.ensemble import EnsembleMember, EnsembleUntargeted

MEMBERS = [EnsembleMember(0.6), EnsembleMember(0.5, "cosine")]
ANCHORS = (torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))


def test_success_needs_every_member_past_its_goal() -> None:
    objective = EnsembleUntargeted(MEMBERS, ANCHORS, goal_ratio=1.5)
    one_short = (torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 0.1]]))
    both = (torch.tensor([[2.0, 0.0]]), torch.tensor([[-1.0, 0.0]]))
    assert not bool(objective(one_short).success[0])
    assert bool(objective(both).success[0])
    assert float(objective(both).loss[0]) == pytest.approx(-3.0)  # each ratio capped at 1.5


def test_the_pull_rewards_coming_nearer_the_decoy_and_leaves_success_alone() -> None:
    decoys = (torch.tensor([[0.0, 3.0]]), torch.tensor([[0.0, 1.0]]))
    objective = EnsembleUntargeted(MEMBERS, ANCHORS, 1.5, decoys=decoys, pull=1.0)
    plain = EnsembleUntargeted(MEMBERS, ANCHORS, 1.5)
    far_from_decoy = (torch.tensor([[2.0, 0.0]]), torch.tensor([[-1.0, 0.0]]))
    at_decoy = (torch.tensor([[0.0, 3.0]]), torch.tensor([[-0.2, 1.0]]))
    assert float(objective(at_decoy).loss[0]) < float(objective(far_from_decoy).loss[0])
    assert float(plain(at_decoy).loss[0]) == pytest.approx(float(objective(at_decoy).loss[0]))
    assert bool(objective(far_from_decoy).success[0]) == bool(plain(far_from_decoy).success[0])


def test_one_decoy_per_member() -> None:
    with pytest.raises(ValueError, match="decoy"):
        EnsembleUntargeted(MEMBERS, ANCHORS, 1.5, decoys=(torch.zeros(1, 2),), pull=1.0)


def test_the_soft_minimum_puts_the_gradient_on_the_member_farthest_from_its_goal() -> None:
    objective = EnsembleUntargeted(MEMBERS, ANCHORS, 1.5, temperature=0.05)
    near = torch.tensor([[0.8, 0.0]], requires_grad=True)  # ratio 1.33: close to the goal
    short = torch.tensor([[1.0, 0.3]], requires_grad=True)  # cosine ratio about 0.09
    objective((near, short)).loss.sum().backward()
    assert float(short.grad.norm()) > 100 * float(near.grad.norm())
    summed = EnsembleUntargeted(MEMBERS, ANCHORS, 1.5)
    near.grad = short.grad = None
    summed((near, short)).loss.sum().backward()
    assert float(near.grad.norm()) > float(short.grad.norm())  # the sum favours the easy one


def test_the_soft_minimum_meets_its_goal_exactly_when_every_member_does() -> None:
    objective = EnsembleUntargeted(MEMBERS, ANCHORS, 1.5, temperature=0.2)
    both = (torch.tensor([[2.0, 0.0]]), torch.tensor([[-1.0, 0.0]]))
    one_short = (torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 0.1]]))
    assert -float(objective(both).loss[0]) >= -objective.goal
    assert -float(objective(one_short).loss[0]) < -objective.goal
    with pytest.raises(ValueError, match="temperature"):
        EnsembleUntargeted(MEMBERS, ANCHORS, 1.5, temperature=0.0)
