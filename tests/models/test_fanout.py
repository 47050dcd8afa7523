import threading

import pytest
import torch
from torch import nn

from facecloak.models.fanout import Fanout


def _members() -> list[nn.Module]:
    torch.manual_seed(0)
    return [
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(4), nn.Flatten(), nn.Linear(784, 5)),
        nn.Sequential(nn.Conv2d(3, 2, 5), nn.Tanh(), nn.Flatten(), nn.Linear(288, 3)),
        nn.Sequential(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(192, 7)),
    ]


def _loss(outputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    # A loss that mixes the members, as the ensemble objective does.
    return outputs[0].square().sum() * outputs[1].sum() - outputs[2].abs().sum()


def test_outputs_and_gradient_equal_running_members_one_after_another() -> None:
    members = _members()
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    expected = tuple(member(x) for member in members)
    (expected_grad,) = torch.autograd.grad(_loss(expected), x)

    outputs = Fanout(members, threads=2)(x)
    (grad,) = torch.autograd.grad(_loss(outputs), x)

    for got, want in zip(outputs, expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(grad, expected_grad, atol=1e-6)
    assert grad.abs().sum() > 0


def test_a_member_left_out_of_the_loss_adds_nothing() -> None:
    members = _members()
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    outputs = Fanout(members, threads=2)(x)
    (grad,) = torch.autograd.grad(outputs[2].sum(), x)
    (expected,) = torch.autograd.grad(members[2](x).sum(), x)
    assert torch.allclose(grad, expected, atol=1e-6)


def test_a_capped_member_is_not_run_backward() -> None:
    backward_calls = []
    members = _members()
    members[1].register_full_backward_pre_hook(lambda _, grad_out: backward_calls.append(grad_out))
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    outputs = Fanout(members, threads=2)(x)
    capped = outputs[1].clamp(max=-1e6).sum()  # every value above the cap: a zero gradient
    (grad,) = torch.autograd.grad(outputs[0].sum() + capped, x)
    (expected,) = torch.autograd.grad(members[0](x).sum(), x)
    assert backward_calls == [] and torch.allclose(grad, expected, atol=1e-6)


def test_without_gradients_it_keeps_no_graph() -> None:
    members = _members()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        outputs = Fanout(members, threads=2)(x)
    assert all(not output.requires_grad for output in outputs)
    assert torch.allclose(outputs[1], members[1](x), atol=1e-6)


def test_one_thread_runs_in_the_calling_thread() -> None:
    seen = []

    class Recorder(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(threading.current_thread())
            return x * 2

    Fanout([Recorder(), Recorder()], threads=1)(torch.ones(1, requires_grad=True))
    assert seen == [threading.current_thread()] * 2


def test_members_run_on_workers_with_one_torch_thread_each() -> None:
    counts = []

    class Counter(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            counts.append((threading.current_thread().name, torch.get_num_threads()))
            return x * 2

    caller = torch.get_num_threads()
    Fanout([Counter(), Counter()], threads=2)(torch.ones(1, requires_grad=True))
    assert all(name.startswith("fanout") and threads == 1 for name, threads in counts)
    assert torch.get_num_threads() == caller


def test_a_member_that_fails_raises_in_the_caller() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("member failed")

    with pytest.raises(RuntimeError, match="member failed"):
        Fanout([nn.Identity(), Broken()], threads=2)(torch.ones(1, requires_grad=True))


def _counting(members: list[nn.Module]) -> list[int]:
    calls = [0] * len(members)
    for index, member in enumerate(members):
        member.register_forward_hook(lambda *_, i=index: calls.__setitem__(i, calls[i] + 1))
    return calls


def test_per_step_runs_that_many_members_after_a_first_full_call() -> None:
    members = _members()
    calls = _counting(members)
    fanout = Fanout(members, threads=2, per_step=1)
    for _ in range(5):
        fanout(torch.rand(1, 3, 16, 16, requires_grad=True))
    assert sum(calls) == 3 + 4  # all three on the first call, then one a call


def test_members_not_drawn_give_their_last_output_without_a_gradient() -> None:
    members = _members()
    fanout = Fanout(members, threads=2, per_step=1)
    first_input = torch.rand(1, 3, 16, 16, requires_grad=True)
    first = fanout(first_input)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    outputs = fanout(x)
    drawn = [i for i in range(3) if not torch.equal(outputs[i], first[i].detach())]
    assert len(drawn) == 1
    (index,) = drawn
    assert torch.allclose(outputs[index], members[index](x), atol=1e-6)
    (grad,) = torch.autograd.grad(sum(output.sum() for output in outputs), x)
    (expected,) = torch.autograd.grad(members[index](x).sum(), x)
    assert torch.allclose(grad, expected, atol=1e-6)


def test_the_same_seed_draws_the_same_members() -> None:
    def drawn(seed: int) -> list[list[int]]:
        fanout = Fanout(_members(), threads=1, per_step=2, seed=seed)
        x = torch.rand(1, 3, 16, 16, requires_grad=True)
        fanout(x)
        return [fanout._chosen(x) for _ in range(6)]

    assert drawn(3) == drawn(3)
    assert drawn(3) != drawn(4)
    assert all(len(chosen) == 2 for chosen in drawn(3))


def test_a_new_batch_size_runs_every_member() -> None:
    fanout = Fanout(_members(), threads=1, per_step=1)
    fanout(torch.rand(1, 3, 16, 16, requires_grad=True))
    assert fanout._chosen(torch.rand(2, 3, 16, 16)) == [0, 1, 2]


def test_per_step_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="per_step"):
        Fanout(_members(), per_step=0)
