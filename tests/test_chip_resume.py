"""Long chip runs (issue 11 part 5): per-step arrays streamed to disk in chunks, and a run
interrupted mid-iteration and resumed equal to the uninterrupted run, bit for bit — stochastic
rounding, saturation and lost-update counters, link totals and every per-step array included.
The negative control: a resume that restores the training state but not the chip's own (the
rounding write count, the counters) does not reproduce the run, so the identity can fail."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import neurosim as ns
from neurosim.checkpoint import CheckpointMismatch
from neurosim.chip.simulate import CHECKPOINT, STEPS_DIR, _Chip
from neurosim.train import TrainingInterrupted

STEP_ARRAYS = ("cycles", "energy", "step_ns", "critical_core", "critical_link")


def _setup():
    """online_lru on the copy task in Loihi 2's formats (8-bit weights, stochastic rounding)."""
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, n_layers=2, dtype="float64")
    return model, ns.rules.make("online_lru"), task


def _interrupting(rule, after: int):
    """``rule`` whose ``after``-th step raises KeyboardInterrupt (Ctrl-C in mid-iteration)."""
    step, count = rule.step, [0]

    def interrupted_step(*a, **k):
        count[0] += 1
        if count[0] == after:
            raise KeyboardInterrupt
        return step(*a, **k)

    rule.step = interrupted_step
    return rule


KW = dict(steps=6, optimizer=ns.optim.adam(3e-2), seed=3, formats="profile", chunk_steps=4, activity="off")


def _run(rule=None, **kw):
    model, fresh, task = _setup()
    return ns.chip.simulate(model, rule or fresh, task, "loihi2", **{**KW, **kw})


def _same(a, b) -> None:
    assert np.array_equal(a.losses, b.losses)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    for name in STEP_ARRAYS:
        assert np.array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name))), name
    for kind in a.events:
        assert np.array_equal(a.events[kind], b.events[kind]), kind
    for region in a.sram_words:
        assert np.array_equal(a.sram_words[region], b.sram_words[region]), region
    assert a.overflows == b.overflows
    assert a.link_load["packets_per_link"] == b.link_load["packets_per_link"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return _run(out_dir=str(tmp_path_factory.mktemp("whole")))


@pytest.mark.parametrize("every, stop_at", [(1, 2 * 8 + 3), (2, 3 * 8 + 5)])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, whole, every, stop_at):
    """Ctrl-C inside iteration 3 (checkpoint at every boundary) and inside iteration 4 with a
    checkpoint every 2 iterations (the interrupt itself saves the last complete one)."""
    T = _setup()[2].batch(0, 1).xs.shape[0]
    assert T == 8  # the copy task's sequence: stop_at counts rule steps of 8 per iteration
    model, rule, task = _setup()
    with pytest.raises(TrainingInterrupted):
        ns.chip.simulate(model, _interrupting(rule, stop_at), task, "loihi2", out_dir=str(tmp_path),
                         checkpoint_every=every, **KW)  # fmt: skip
    # what the interrupted run left: a checkpoint at the last complete iteration and chunks
    meta = ns.checkpoint.read_meta(str(tmp_path / CHECKPOINT))
    assert meta["iteration"] == stop_at // T
    chunks = sorted(os.listdir(tmp_path / STEPS_DIR))
    assert chunks and all(c.startswith("chunk-") for c in chunks)
    resumed = _run(out_dir=str(tmp_path), resume=True, checkpoint_every=every)
    _same(resumed, whole)
    assert resumed.overflows["lost_updates"], "the run must exercise the rounding counters"
    assert sorted(os.listdir(tmp_path / STEPS_DIR)) == sorted(f"{k}.npy" for k in _step_keys(whole))


def test_resumed_with_the_moments_held_equals_uninterrupted(tmp_path):
    """``optimizer_formats=True``: the moments' stochastic roundings are writes like any other, so
    an interrupted and resumed run equals the uninterrupted one, Adam's state included."""
    whole = _run(out_dir=str(tmp_path / "whole"), optimizer_formats=True)
    model, rule, task = _setup()
    with pytest.raises(TrainingInterrupted):
        ns.chip.simulate(model, _interrupting(rule, 2 * 8 + 3), task, "loihi2", out_dir=str(tmp_path / "cut"),
                         optimizer_formats=True, **KW)  # fmt: skip
    resumed = _run(out_dir=str(tmp_path / "cut"), resume=True, optimizer_formats=True)
    _same(resumed, whole)
    for part in ("m", "v"):
        for k, v in getattr(whole.opt_state, part).items():
            assert np.array_equal(getattr(resumed.opt_state, part)[k], v), (part, k)
    plain = _run(out_dir=str(tmp_path / "plain"))  # the negative control: float moments, another run
    assert not np.array_equal(plain.losses, whole.losses)


def _step_keys(run) -> list[str]:
    return [
        "cycles", "energy", "step_ns", "critical_core", "critical_link", "critical_link_packets",
        *(f"events.{k}" for k in run.events), *(f"sram_words.{r}" for r in run.sram_words),
    ]  # fmt: skip


def test_resume_without_the_chip_state_does_not_reproduce_the_run(tmp_path, whole, monkeypatch):
    """Negative control: restore only the per-step records, not the rounding write count and the
    counters; the resumed run then differs from the uninterrupted one."""
    model, rule, task = _setup()
    with pytest.raises(KeyboardInterrupt):
        ns.chip.simulate(model, _interrupting(rule, 2 * 8 + 3), task, "loihi2", out_dir=str(tmp_path),
                         checkpoint_every=1, **KW)  # fmt: skip

    def partial_restore(self, meta, arrays, it):
        self.steps.truncate(int(meta["steps"]))

    monkeypatch.setattr(_Chip, "restore", partial_restore)
    resumed = _run(out_dir=str(tmp_path), resume=True, checkpoint_every=1)
    assert np.array_equal(resumed.losses[:2], whole.losses[:2])  # the iterations before the checkpoint
    with pytest.raises(AssertionError):
        _same(resumed, whole)


def test_a_resumed_finished_run_continues_to_more_steps(tmp_path):
    """Resuming a finished run with more steps reopens its gathered per-step files."""
    full = _run(steps=5)
    _run(steps=3, out_dir=str(tmp_path))
    longer = _run(steps=5, out_dir=str(tmp_path), resume=True)
    _same(longer, full)


def test_streamed_json_names_its_files_and_in_memory_json_inlines_them(tmp_path):
    streamed = _run(steps=2, out_dir=str(tmp_path))
    d = json.loads((tmp_path / "chip_run.json").read_text())
    assert d["steps_dir"] == STEPS_DIR and "cycles" not in d
    for f in d["step_files"]:
        np.load(tmp_path / d["steps_dir"] / f)  # each named file is there and loads
    in_memory = _run(steps=2)
    assert in_memory.steps_dir is None and not isinstance(in_memory.cycles, np.memmap)
    assert np.array_equal(streamed.cycles, in_memory.cycles)
    assert json.loads(in_memory.to_json())["cycles"] == in_memory.cycles.tolist()


def test_checkpoints_are_not_overwritten_or_mixed(tmp_path):
    _run(steps=2, out_dir=str(tmp_path))
    with pytest.raises(FileExistsError, match="resume=True"):
        _run(steps=2, out_dir=str(tmp_path))
    with pytest.raises(CheckpointMismatch, match="chip.formats"):
        _run(steps=2, out_dir=str(tmp_path), resume=True, formats="float")
    with pytest.raises(CheckpointMismatch, match="train.seed"):
        _run(steps=2, out_dir=str(tmp_path), resume=True, seed=4)
    with pytest.raises(ValueError, match="needs an out_dir"):
        _run(steps=2, resume=True)
    with pytest.raises(ValueError, match="chunk_steps"):
        _run(steps=2, chunk_steps=0)


def test_a_run_diverging_under_its_formats_names_iteration_step_array_and_core(tmp_path):
    """16-bit floats and a learning rate far too large: the weights overflow to inf in the
    format, the loss turns non-finite, and the error names where (iteration, timestep) and which
    arrays saturated on which core in that iteration; the checkpoint of the last complete
    iteration is kept. Negative control: the same run with a sane rate finishes."""
    import dataclasses

    from neurosim.train import TrainingDiverged

    p = ns.hardware.load_profile("loihi2")
    f = dataclasses.replace(p.formats, number="float", weight_bits=16, state_bits=16, trace_bits=16, gradient_bits=16)
    prof = dataclasses.replace(p, formats=f, array_bits={})
    model, rule, task = _setup()
    kw = dict(steps=4, seed=0, activity="off", out_dir=str(tmp_path), checkpoint_every=1)
    with pytest.raises(
        TrainingDiverged, match=r"iteration \d+, timestep \d+.*saturated (in that|last in) iteration.* on core 0"
    ):
        ns.chip.simulate(model, rule, task, prof, optimizer=ns.optim.sgd(1e9), **kw)
    assert os.path.exists(tmp_path / CHECKPOINT)
    model, rule, task = _setup()
    ok = ns.chip.simulate(
        model, rule, task, prof, optimizer=ns.optim.sgd(1e-2), **{**kw, "out_dir": str(tmp_path / "ok")}
    )
    assert ok.status == "finished"
