"""Data-parallel training (gan/train/distributed.py): 2 CPU ranks on gloo, spawned here, against 1 process."""
from __future__ import annotations

import os
import socket
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp

from gan.config import TrainConfig
from gan.train.distributed import World, check_launch, shutdown, world_from_env
from gan.errors import ConfigError
from gan.train.trainer import Trainer, TrainingDiverged


# Two ranks at half batch add the same float32 terms in another order than one process does (each rank averages
# its 16 samples, then the all-reduce averages the two means), and a process's own kernels change their order
# with its thread count. A float32 sum of n terms is exact only to about n * 2**-24 of the sum of their
# magnitudes, so a gradient component that nearly cancels can change by a good part of itself, and Adam, which
# divides each gradient by its running RMS, turns that into a change of a fraction of lr in the step. Measured:
# up to 5.6e-6 after 6 steps with the reference on one thread like the ranks, 2.4e-5 with it on two (lr 2e-3,
# lr_d 4e-3). ATOL is 1e-4, 2.5% of one D step; what the check is for (a gradient left out of the all-reduce, a rank
# that trains on other data) moves weights by whole steps (~lr) and still fails.
ATOL, RTOL = 1e-4, 1e-4


@pytest.fixture
def one_thread():
    """torch on one thread in this process, like each rank (_worker): the same kernels, the same sum orders."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, size: int, port: int, scenario: str, out: str, args: dict[str, Any]) -> None:
    """One rank: join the gloo group, run `scenario`, save what it returns to out/rank<rank>.pt."""
    from gan.train.distributed import init
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    world = init(World(rank=rank, size=size), backend="gloo", timeout_s=60)
    try:
        torch.save(SCENARIOS[scenario](world, **args), os.path.join(out, f"rank{rank}.pt"))
    finally:
        shutdown()


def _spawn(tmp_path: Any, scenario: str, size: int = 2, **args: Any) -> list[Any]:
    mp.start_processes(_worker, args=(size, _port(), scenario, str(tmp_path), args), nprocs=size,
                       start_method="spawn")
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(size)]


def _cfg(**kw: Any) -> TrainConfig:
    base = dict(dataset="ring8", model="mlp", batch_size=32, width=16, device="cpu", seed=3, ema=0.99)
    return TrainConfig(**{**base, **kw})


def _weights(t: Trainer) -> dict[str, torch.Tensor]:
    return {f"{k}.{n}": v.detach().clone() for k, net in t.nets.items() for n, v in net.state_dict().items()}


# ---- scenarios (run on every rank) ------------------------------------------------------------------------

class RecordingWorld(World):
    """A World that records which tensors each all-reduce averaged."""

    calls: list[list[int]] = []

    def average(self, tensors: list[torch.Tensor]) -> None:
        RecordingWorld.calls.append([id(t) for t in tensors])
        super().average(tensors)


def _which_grads(world: World, **cfg: Any) -> dict[str, Any]:
    w = RecordingWorld(rank=world.rank, size=world.size, backend=world.backend)
    t = Trainer(_cfg(**cfg), world=w)
    seen: list[dict[str, int]] = []
    orig = t.update

    def update(opt: str, loss: torch.Tensor, nets: Any, *, who: str) -> Any:
        RecordingWorld.calls.clear()
        out = orig(opt, loss, nets, who=who)
        grads = {role: {id(p.grad) for p in net.parameters() if p.grad is not None} for role, net in t.nets.items()}
        averaged = set(RecordingWorld.calls[0])
        seen.append({"who": who, **{role: len(g & averaged) for role, g in grads.items()},
                     **{f"n_{role}": len(g) for role, g in grads.items()}})
        return out
    t.update = update  # type: ignore[method-assign]
    t.train(steps=2)
    return {"seen": seen, "grads": {k: [p.grad.clone() for p in net.parameters() if p.grad is not None]
                                    for k, net in t.nets.items()}}


def _train(world: World, steps: int, **cfg: Any) -> dict[str, Any]:
    t = Trainer(_cfg(**cfg), world=world)
    t.train(steps=steps)
    return {"w": _weights(t), "ema": {k: v.state_dict() for k, v in t.ema.items()}, "state": t.state_dict(),
            "history": t.history.columns()}


def _resume(world: World, steps: int, split: int, **cfg: Any) -> dict[str, Any]:
    straight = Trainer(_cfg(**cfg), world=world)
    straight.train(steps=steps)
    first = Trainer(_cfg(**cfg), world=world)
    first.train(steps=split)
    second = Trainer.from_state(first.state_dict(), world=world)
    second.train(steps=steps - split)
    return {"straight": _weights(straight), "resumed": _weights(second)}


def _one_to_two(world: World, steps: int) -> dict[str, Any]:
    one = Trainer(_cfg())  # a 1-process run inside each rank (no collectives), identical on both
    one.train(steps=steps)
    t = Trainer.from_state(one.state_dict(), world=world)  # 1 process -> 2 ranks
    t.train(steps=steps)
    return {"w": _weights(t), "step": t.step_count}


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _all(world: World) -> dict[str, Any]:
    """Every scenario, in one spawn (starting two processes costs seconds on a small machine); then leave."""
    out = {"which_grads": _which_grads(world), "mlp": _train(world, 6),
           "dcgan": _train(world, 3, dataset="digits", model="dcgan", batch_size=16, width=8),
           "resume": _resume(world, 5, 2), "one_to_two": _one_to_two(world, 3)}
    if os.path.isdir("/proc/self/task"):  # Linux: count this process's threads around leaving the group
        before = _threads()
        shutdown()
        out["threads"] = (before, _threads())
    return out


SCENARIOS = {"all": _all}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: Any) -> list[dict[str, Any]]:
    """What both ranks of one 2-process gloo job returned, by scenario."""
    return _spawn(tmp_path_factory.mktemp("ranks"), "all")


# ---- tests ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_each_update_averages_only_its_own_nets_grads(ranks: list[dict[str, Any]]) -> None:
    r0, r1 = (r["which_grads"] for r in ranks)
    for row in r0["seen"]:
        mine, other = ("D", "G") if row["who"] == "D" else ("G", "D")
        assert row[mine] == row[f"n_{mine}"] > 0  # every grad of the updated net went into the all-reduce
        assert row[other] == 0  # and none of the other net's
    for a, b in zip(r0["grads"]["G"], r1["grads"]["G"]):
        assert torch.equal(a, b)  # averaged: the same on both ranks, though each saw its own half batch


@pytest.mark.slow
def test_two_ranks_at_half_batch_match_one_process_and_keep_ema_identical(ranks: list[dict[str, Any]],
                                                                           one_thread: None) -> None:
    r0, r1 = (r["mlp"] for r in ranks)
    one = Trainer(_cfg())
    one.train(steps=6)
    for k, v in _weights(one).items():
        assert torch.equal(r0["w"][k], r1["w"][k]), k
        torch.testing.assert_close(r0["w"][k], v, rtol=RTOL, atol=ATOL)  # float32 sum orders: see ATOL
    for a, b in zip(r0["ema"]["G"].values(), r1["ema"]["G"].values()):
        assert torch.equal(a, b)
    # the logged loss is the global batch's (averaged), as in one process
    torch.testing.assert_close(torch.tensor(r0["history"]["d_loss"]), torch.tensor(one.history.columns()["d_loss"]),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_batch_norm_statistics_and_ema_identical_on_every_rank(ranks: list[dict[str, Any]]) -> None:
    r0, r1 = (r["dcgan"] for r in ranks)
    for k in r0["w"]:
        assert torch.equal(r0["w"][k], r1["w"][k]), k  # running_mean / running_var included
    for k, v in r0["ema"]["G"].items():
        assert torch.equal(v, r1["ema"]["G"][k]), k


@pytest.mark.slow
def test_resume_is_exact_within_a_world_size(ranks: list[dict[str, Any]]) -> None:
    r0 = ranks[0]["resume"]
    for k, v in r0["straight"].items():
        assert torch.equal(v, r0["resumed"][k]), k


@pytest.mark.slow
def test_checkpoints_cross_world_sizes(ranks: list[dict[str, Any]], one_thread: None) -> None:
    state = ranks[0]["mlp"]["state"]  # what rank 0 saves after 6 steps of 2 ranks
    assert not any(k.startswith("module.") for k in state["G"])
    one = Trainer.from_state(state)  # 2 ranks -> 1 process
    one.train(steps=2)
    ref = Trainer(_cfg())
    ref.train(steps=8)
    for k, v in _weights(ref).items():
        torch.testing.assert_close(_weights(one)[k], v, rtol=RTOL, atol=ATOL)
    two = ranks[0]["one_to_two"]  # 1 process (3 steps) -> 2 ranks (3 steps)
    assert two["step"] == 6
    ref6 = Trainer(_cfg())
    ref6.train(steps=6)
    for k, v in _weights(ref6).items():
        torch.testing.assert_close(two["w"][k], v, rtol=RTOL, atol=ATOL)
        assert torch.equal(two["w"][k], ranks[1]["one_to_two"]["w"][k])


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux /proc")
def test_leaving_the_group_stops_its_threads_after_training(ranks: list[dict[str, Any]]) -> None:
    # gloo's worker threads must be joined before the interpreter exits, or one that frees a tensor there
    # aborts the rank; the optimizers' lazy import of torch._dynamo once kept them alive (gan/train/distributed.py)
    for r in ranks:
        before, after = r["threads"]
        assert after < before, r["threads"]  # (threads in the group, after leaving it)


def test_refusals_are_one_line() -> None:
    w2 = World(rank=0, size=2)
    with pytest.raises(ConfigError, match=r"global batch size \(7\) must be divisible by the number of processes"):
        check_launch(w2, batch_size=7)
    with pytest.raises(ConfigError, match="nccl needs CUDA GPUs"):
        check_launch(w2, backend="nccl", cuda_devices=0)
    with pytest.raises(ConfigError, match=r"multiple of pac \(4\)"):
        check_launch(w2, batch_size=12, pac=4)
    with pytest.raises(ConfigError, match="local rank 1 has no GPU"):
        check_launch(World(rank=1, size=2, local_rank=1), device="cuda", cuda_devices=1)
    assert check_launch(w2, batch_size=8, cuda_devices=0) == ("gloo", "cpu")
    assert check_launch(w2, batch_size=8, cuda_devices=2) == ("nccl", "cuda")
    assert world_from_env({}) == World()
    assert world_from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == World(1, 2, 1)


@pytest.mark.slow
@pytest.mark.parametrize("dataset,model", [("ring8", None), ("digits", "dcgan"), ("digits2colordigits", None)])
def test_lazy_stats_match_the_synchronous_ones(dataset: str, model: str | None) -> None:
    torch.set_num_threads(1)
    runs = []
    for every in (1, 4):
        t = Trainer(TrainConfig(dataset=dataset, model=model, batch_size=8, width=8, device="cpu", seed=2),
                    stats_every=every)
        last = t.train(steps=6)
        runs.append((t.history.columns(), last, _weights(t)))
    (h1, last1, w1), (h4, last4, w4) = runs
    assert h1.keys() == h4.keys()
    for k in h1:
        if k != "images_per_s":
            assert h1[k] == h4[k], k
    assert {k: v for k, v in last1.items() if k != "images_per_s"} == \
        {k: v for k, v in last4.items() if k != "images_per_s"}
    assert all(torch.equal(w1[k], w4[k]) for k in w1)


def test_lazy_stats_catch_divergence_and_keep_the_last_good_weights() -> None:
    t = Trainer(_cfg(), stats_every=4)
    t.train(steps=2)
    good = _weights(t)
    orig_update = t.update

    def update(opt: str, loss: torch.Tensor, nets: Any, *, who: str) -> Any:
        return orig_update(opt, loss * float("nan") if who == "G" else loss, nets, who=who)
    t.update = update  # type: ignore[method-assign]
    with pytest.raises(TrainingDiverged, match="G loss became nan at step 3"):
        t.train(steps=6)
    after = _weights(t)
    for k, v in good.items():
        if k.startswith("G."):
            assert torch.equal(after[k], v), k  # no update of G with a NaN gradient reached the weights


# ---- the CLI under torchrun (2 CPU ranks, gloo) ---------------------------------------------------------

def _torchrun(args: list[str], cwd: Any, **kw: Any) -> Any:
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "gan", "train",
           *args]
    if kw.pop("background", False):
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("dataset,extra", [("ring8", ["--batch-size", "64"]), ("digits", ["--width", "8"])])
def test_torchrun_trains_and_its_checkpoint_resumes_in_one_process(tmp_path: Any, dataset: str,
                                                                   extra: list[str]) -> None:
    import json

    from gan.cli.main import main
    r = _torchrun(["--dataset", dataset, "--steps", "6", "--out", "c.pt", "--no-score", "--quiet", *extra], tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    reports = [line for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1 and json.loads(reports[0])["step"] == 6  # rank 0 alone reports and saves
    assert main(["train", "--resume", str(tmp_path / "c.pt"), "--steps", "2", "--no-score", "--quiet",
                 "--device", "cpu"]) == 0
    assert torch.load(tmp_path / "c.pt", weights_only=False)["step"] == 8


@pytest.mark.slow
def test_torchrun_refuses_a_batch_that_does_not_split_with_one_line(tmp_path: Any) -> None:
    r = _torchrun(["--dataset", "ring8", "--batch-size", "7", "--steps", "2"], tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert out.count("gan: error: the global batch size (7) must be divisible by the number of processes (2)") == 1


@pytest.mark.slow
def test_a_dead_rank_ends_the_job_with_a_message_and_the_checkpoint_resumes(tmp_path: Any) -> None:
    import signal
    import time

    p = _torchrun(["--dataset", "ring8", "--steps", "1000000", "--save-every", "20", "--out", "k.pt", "--no-score",
                   "--quiet", "--batch-size", "64"], tmp_path, background=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "k.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (tmp_path / "k.pt").exists()
        time.sleep(0.5)
        victim = [pid for pid in _children(p.pid) if "RANK=1" in _environ(pid)]
        assert len(victim) == 1
        os.kill(victim[0], signal.SIGKILL)
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode != 0
    assert "training stopped: another rank of the job ended" in out
    assert "resume with --resume k.pt" in out
    saved = torch.load(tmp_path / "k.pt", weights_only=False)
    t = Trainer.from_state(saved)  # the last checkpoint resumes, in one process
    t.train(steps=2)
    assert t.step_count == saved["step"] + 2 and saved["step"] % 20 == 0


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                continue
    return out + [c for child in out for c in _children(child)]


def _environ(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:
        return []
