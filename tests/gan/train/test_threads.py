"""gan/train/threads.py: the tuner keeps the faster thread count and follows a change of load; the CLI's --threads."""
import pytest
import torch

from gan.cli.main import main as cli_main
from gan.cli.main import threads_arg
from gan.train.threads import ThreadTuner, default_threads, thread_choices


class FakeMachine:
    """A clock that advances by the step time of the current thread count (seconds per step by count)."""

    def __init__(self, cost: dict[int, float]) -> None:
        self.cost, self.now, self.threads, self.sets = dict(cost), 0.0, None, []

    def set_threads(self, n: int) -> None:
        self.threads = n
        self.sets.append(n)

    def clock(self) -> float:
        return self.now

    def run(self, tuner: ThreadTuner, steps: int) -> None:
        for _ in range(steps):
            self.now += self.cost[self.threads]  # one training step at the current count
            tuner(None, {})


def test_tuner_keeps_the_faster_count_and_follows_a_change_of_load():
    m = FakeMachine({1: 0.03, 2: 0.02})  # an idle machine: all cores are faster
    tuner = ThreadTuner((1, 2), trial_steps=5, warm_steps=1, first_steps=1, every=10.0, clock=m.clock,
                        set_threads=m.set_threads)
    m.run(tuner, 20)
    assert tuner.best == 2 and m.threads == 2
    assert tuner.picks[0][1] == 2 and tuner.picks[0][2] == pytest.approx({1: 0.03, 2: 0.02})
    m.cost[2] = 0.08  # another job takes a core: spinning threads make all-core steps slow
    m.run(tuner, int(10.0 / 0.02) + 40)  # past the re-check
    assert tuner.best == 1 and m.threads == 1
    assert [p[1] for p in tuner.picks][:2] == [2, 1] and {p[1] for p in tuner.picks[1:]} == {1}
    picks, sets = len(tuner.picks), len(m.sets)
    m.run(tuner, 50)  # 1.5 s, well before the next check: nothing changes
    assert len(tuner.picks) == picks and len(m.sets) == sets


def test_tuner_trial_ends_on_the_current_best_and_ignores_warm_steps():
    m = FakeMachine({1: 0.01, 4: 0.05})
    tuner = ThreadTuner((1, 4), trial_steps=3, warm_steps=2, first_steps=2, every=1.0, clock=m.clock,
                        set_threads=m.set_threads)
    assert m.sets == [4]  # the first best is choices[0], so the other count is timed first
    m.run(tuner, 2 * (1 + 2 + 3))  # per count: the first call after a switch, 2 warm steps, 3 timed
    assert tuner.best == 1 and m.sets == [4, 1, 1]
    m.run(tuner, 20)  # 0.2 s: before the first re-check, a quarter of `every` after the first pick
    assert m.sets == [4, 1, 1]
    m.run(tuner, 6)  # past it
    assert m.sets == [4, 1, 1, 4]  # the re-check starts on the other count


def test_thread_choices_and_defaults(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert thread_choices("points") == (1,) and default_threads("points") == 1
    assert thread_choices("image") == (1, 2) and default_threads("image") == 1
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert thread_choices("image") == (8, 16) and default_threads("image") == 8
    with pytest.raises(ValueError):
        ThreadTuner(())


@pytest.mark.slow
def test_cli_threads_flag(tmp_path, capsys):
    assert threads_arg("auto") == "auto" and threads_arg("3") == 3
    rc = cli_main(["train", "--dataset", "digits", "--steps", "1", "--threads", "0", "--out", str(tmp_path / "a.pt")])
    assert rc == 2 and "threads must be >= 1" in capsys.readouterr().err
    before = torch.get_num_threads()
    try:
        rc = cli_main(["train", "--dataset", "digits", "--steps", "2", "--threads", "1", "--quiet",
                       "--out", str(tmp_path / "b.pt")])
        assert rc == 0 and torch.get_num_threads() == 1
        rc = cli_main(["train", "--dataset", "digits", "--steps", "30", "--threads", "auto", "--quiet",
                       "--out", str(tmp_path / "c.pt")])
        assert rc == 0 and torch.get_num_threads() in thread_choices("image")
    finally:
        torch.set_num_threads(before)
