"""The ZeroGPU unit of work: a chunk runs in a forked child with pickled state, as a Space runs it."""
import multiprocessing as mp
import pickle

import pytest
import torch

from tests.helpers import tiny_config
from gan.train.chunk import train_chunk
from gan.checkpoint import load_generator
from gan.train.trainer import Trainer


def _child(conn, state, steps, fail):
    try:
        if fail:
            raise RuntimeError("GPU task aborted")
        conn.send_bytes(pickle.dumps(("ok", train_chunk(pickle.loads(state), steps=steps, device="cpu"))))
    except Exception as e:  # the worker reports, as the spaces package does
        conn.send_bytes(pickle.dumps(("error", repr(e))))
    finally:
        conn.close()


def in_fork(state, steps, fail=False):
    """Run one chunk in a forked process; arguments and results cross by pickle."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child, pickle.dumps(state), steps, fail))
    p.start()
    kind, payload = pickle.loads(parent.recv_bytes())
    p.join(30)
    if kind == "error":
        raise RuntimeError(payload)
    return payload


def _flat(sd):
    return torch.cat([v.flatten().float() for v in sd.values()])


def test_three_forked_chunks_equal_one_piece():
    cfg = tiny_config(dataset="ring8")
    whole = Trainer(cfg)
    whole.train(steps=9)
    state = Trainer(cfg).state_dict()
    history = []
    for _ in range(3):
        state, stats = in_fork(state, 3)
        history += stats
    assert state["step"] == 9 and [s["step"] for s in history] == list(range(1, 10))
    for key in ("G", "D", "G_ema"):
        assert torch.equal(_flat(state[key]), _flat(whole.state_dict()[key])), key
    assert all(not v.is_cuda for v in state["G"].values())


def test_a_chunk_that_raises_leaves_the_run_resumable():
    cfg = tiny_config(dataset="ring8")
    state, _ = in_fork(Trainer(cfg).state_dict(), 2)
    with pytest.raises(RuntimeError, match="GPU task aborted"):
        in_fork(state, 2, fail=True)
    assert state["step"] == 2  # the parent's copy is untouched
    again, _ = in_fork(state, 2)
    assert again["step"] == 4
    assert load_generator(again)(torch.zeros(1, 8)).shape == (1, 2)
