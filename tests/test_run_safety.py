"""Long runs lose nothing and never mix runs: checkpoints that know their run, divergence and
Ctrl-C that keep what was learned, output directories checked before the first step, stale
temporaries cleaned, the umask honoured (issue 9, items 1–4)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from helpers import RUN_CONFIG

import neurosim as ns
from neurosim import checkpoint as ckpt
from neurosim import cli
from neurosim._io import TMP_PREFIX, OutputDirError, RunLock, atomic_write, prepare_output_dir

CONFIG = RUN_CONFIG.replace("steps = 3", "steps = 4") + "resume = true\ncheckpoint_every = 2\n"


def _config(tmp_path, text=CONFIG, name="run.toml"):
    out = tmp_path / "out"
    p = tmp_path / name
    p.write_text(text + f'[output]\ndir = "{out}"\n')
    return str(p), out


def _small(**over):
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    kw = dict(n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=6) | over
    return ns.models.make("lru", **kw), ns.rules.make("online_lru"), task


# --- item 1: a checkpoint belongs to one run ----------------------------------------------------
def test_resume_with_another_model_is_refused_naming_the_key(tmp_path, capsys):
    path, out = _config(tmp_path)
    assert cli.main(["train", path]) == 0
    before = (out / "metrics.json").read_bytes()
    path2, _ = _config(tmp_path, CONFIG.replace("n_hidden = 8", "n_hidden = 16"), "run2.toml")
    capsys.readouterr()
    assert cli.main(["train", path2]) == 2
    err = capsys.readouterr().err
    assert "model.n_hidden: checkpoint 8, now 16" in err and "checkpoint.npz" in err
    assert len(err.strip().splitlines()) == 1
    assert (out / "metrics.json").read_bytes() == before  # the other run's outputs are untouched


@pytest.mark.parametrize(
    "change,key",
    [
        ('lr = 0.01", "lr = 0.02', "optimizer.lr"),
        ('batch_size = 4", "batch_size = 5', "train.batch_size"),
        ('name = "snap1"", "name = "rtrl"', "rule.name"),
        ('pad = 1", "pad = 2', "task.pad"),
    ],
)
def test_every_setting_that_defines_the_run_is_in_the_fingerprint(tmp_path, capsys, change, key):
    old, new = change.split('", "')
    path, out = _config(tmp_path)
    assert cli.main(["train", path]) == 0
    path2, _ = _config(tmp_path, CONFIG.replace(old, new), "run2.toml")
    assert cli.main(["train", path2]) == 2
    assert f"{key}: checkpoint" in capsys.readouterr().err


def test_a_finished_run_started_again_says_so_and_rewrites_nothing(tmp_path, capsys):
    path, out = _config(tmp_path)
    assert cli.main(["train", path]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert cli.main(["train", path]) == 0
    said = capsys.readouterr().out
    assert "already finished (4 of 4 iterations" in said and "iter " not in said
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_raising_steps_continues_a_finished_run_exactly(tmp_path):
    path, out = _config(tmp_path)
    assert cli.main(["train", path]) == 0
    assert cli.main(["train", path, "--steps", "6"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    (tmp_path / "b").mkdir()
    fresh_path, fresh_out = _config(tmp_path / "b")
    assert cli.main(["train", fresh_path, "--steps", "6"]) == 0
    fresh = json.loads((fresh_out / "metrics.json").read_text())
    assert [m["loss"] for m in resumed["metrics"]] == [m["loss"] for m in fresh["metrics"]]


def test_python_api_refuses_a_checkpoint_of_another_model(tmp_path):
    ck = str(tmp_path / "ck.npz")
    model, rule, task = _small()
    ns.train(model, rule, task, ns.optim.adam(3e-3), steps=2, batch_size=2, progress=False, checkpoint=ck)
    other, _, _ = _small(n_hidden=7)
    with pytest.raises(ns.CheckpointMismatch, match=r"\(1 setting\(s\) differ: model\.n_hidden: checkpoint 6, now 7\)"):
        ns.train(other, rule, task, ns.optim.adam(3e-3), steps=4, batch_size=2, progress=False, checkpoint=ck)
    # negative control: the same run resumes
    res = ns.train(model, rule, task, ns.optim.adam(3e-3), steps=4, batch_size=2, progress=False, checkpoint=ck)
    assert res.start == 2 and len(res.losses) == 4


def test_the_fingerprint_ignores_state_derived_on_first_use(tmp_path):
    """e-prop reads the spiking model's lazily built no-autapse mask: the same run must still
    resume (a cached property is derived, not a setting); a changed setting must not."""
    ck = str(tmp_path / "ck.npz")
    task = ns.tasks.make("pattern", seed=0, n_in=5, T=20)
    model = ns.models.make("lif", n_in=5, n_out=task.n_out, n_hidden=6)
    rule = ns.rules.make("eprop")
    ns.train(model, rule, task, steps=2, batch_size=1, progress=False, checkpoint=ck, activity="off")
    res = ns.train(model, rule, task, steps=4, batch_size=1, progress=False, checkpoint=ck, activity="off")
    assert res.start == 2 and len(res.losses) == 4
    other = ns.models.make("lif", n_in=5, n_out=task.n_out, n_hidden=6, tau_v=30.0)
    with pytest.raises(ns.CheckpointMismatch, match=r"model\.tau_v: checkpoint 20\.0, now 30\.0"):
        ns.train(other, rule, task, steps=6, batch_size=1, progress=False, checkpoint=ck, activity="off")


def test_a_checkpoint_without_fingerprint_or_not_a_checkpoint_is_refused(tmp_path):
    model, rule, task = _small()
    ck = tmp_path / "ck.npz"
    np.savez(ck, a0=np.zeros(3), meta=np.frombuffer(json.dumps({"iteration": 1}).encode(), np.uint8))
    with pytest.raises(ns.CheckpointMismatch, match="has no run fingerprint"):
        ns.train(model, rule, task, steps=2, batch_size=2, progress=False, checkpoint=str(ck))
    ck.write_text("not a checkpoint")
    with pytest.raises(ns.CheckpointError, match="not a readable neurosim checkpoint"):
        ns.train(model, rule, task, steps=2, batch_size=2, progress=False, checkpoint=str(ck))


# --- item 2: the output directory is checked before the first step ------------------------------
@pytest.mark.parametrize("where", ["a_file", "under_a_file", "proc"])
def test_bad_output_directory_fails_before_training(tmp_path, capsys, where):
    path, _ = _config(tmp_path)
    (tmp_path / "taken").write_text("x")
    out = {"a_file": tmp_path / "taken", "under_a_file": tmp_path / "taken" / "sub", "proc": "/proc/neurosim-out"}
    assert cli.main(["train", path, "--out", str(out[where])]) == 2
    said = capsys.readouterr()
    assert "output directory" in said.err and "allowed" in said.err and "iter " not in said.out


def test_prepare_output_dir_creates_and_probes(tmp_path):
    d = prepare_output_dir(tmp_path / "a" / "b")
    assert d.is_dir() and list(d.iterdir()) == []  # the probe file is gone
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputDirError, match="is an existing file"):
        prepare_output_dir(tmp_path / "f")


# --- item 3: divergence keeps what was learned ---------------------------------------------------
DIVERGING = """
[model]
name = "lru"
n_hidden = 4
width = 4
[rule]
name = "online_lru"
[task]
name = "copy"
pattern_len = 3
pad = 1
[optimizer]
name = "sgd"
lr = 100.0
[train]
steps = 20
batch_size = 2
"""


def test_cli_divergence_is_one_line_exit_1_and_writes_the_finite_part(tmp_path, capsys):
    path, out = _config(tmp_path, DIVERGING)
    assert cli.main(["train", path]) == 1
    err = capsys.readouterr().err
    at = re.search(
        r"training diverged in iteration (\d+), timestep \d+: .*; last finite loss \S+ in iteration (\d+)", err
    )
    assert at and int(at[1]) >= 2 and int(at[2]) == int(at[1]) - 1, err  # something was learned first
    assert "Traceback" not in err and "Warning" not in err  # numpy's overflow warnings are not the message
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["status"] == "diverged" and summary["iterations"] == int(at[2]) and at[0] in summary["message"]
    assert all(np.isfinite(m["loss"]) for m in summary["metrics"])
    report = json.loads((out / "report.json").read_text())  # the report says so too
    assert report["kind"] == "training" and report["sections"][0]["title"] == "The run diverged"
    assert at[0] in report["sections"][0]["text"] and ["status", "diverged", ""] in map(list, (
        (x["label"], x["value"], x["unit"]) for x in report["summary"]))  # fmt: skip
    with np.load(out / "params.npz") as z:
        assert all(np.all(np.isfinite(z[k])) for k in z.files)
    assert (out / "learning_curve.png").exists()


class _PoisonedCopy(ns.tasks.make("copy").__class__):
    """The copy task with a NaN target from batch ``bad`` on: the loss diverges there."""

    def __init__(self, bad: int, **kw):
        super().__init__(**kw)
        self.bad = bad

    def batch(self, index, batch_size):
        b = super().batch(index, batch_size)
        if index >= self.bad:
            b.ys[-1] = np.nan
        return b


def test_divergence_after_resume_names_the_last_finite_loss_from_the_checkpoint(tmp_path):
    ck = str(tmp_path / "ck.npz")
    model, rule, _ = _small()
    task = _PoisonedCopy(3, seed=0, pattern_len=3, pad=1)
    first = ns.train(model, rule, task, steps=3, batch_size=2, progress=False, checkpoint=ck)
    with pytest.raises(ns.TrainingDiverged) as e:
        ns.train(model, rule, task, steps=6, batch_size=2, progress=False, checkpoint=ck)
    assert f"last finite loss {first.losses[-1]:.6g} in iteration 3" in str(e.value)
    assert e.value.result.status == "diverged" and len(e.value.result.losses) == 3


# --- item 4: Ctrl-C, stale temporaries, umask -----------------------------------------------------
class _Interrupting(type(ns.rules.make("online_lru"))):
    """online_lru that raises KeyboardInterrupt at its ``at``-th step (mid-iteration; private
    attributes, so the run's fingerprint is online_lru's)."""

    def __init__(self, at: int = -1):
        self._at, self._calls = at, 0

    def step(self, *a, **kw):
        self._calls += 1
        if self._calls == self._at:
            raise KeyboardInterrupt
        return super().step(*a, **kw)


@pytest.mark.parametrize("task_name", ["copy", "anbn"])
def test_interrupt_mid_iteration_saves_the_last_complete_one_and_resume_is_exact(tmp_path, task_name):
    """Oracle: interrupted + resumed = one uninterrupted run, bit for bit (anbn is a continuing
    stream: the rule's state must roll back to the iteration boundary too)."""
    kw = dict(seed=0, pattern_len=3, pad=1) if task_name == "copy" else dict(seed=0, T=8)
    task = ns.tasks.make(task_name, **kw)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=5, width=5)
    T = task.batch(0, 2).xs.shape[0]
    full = ns.train(model, ns.rules.make("online_lru"), task, steps=6, batch_size=2, progress=False)
    ck = str(tmp_path / "ck.npz")
    task = ns.tasks.make(task_name, **kw)
    with pytest.raises(ns.TrainingInterrupted) as e:
        ns.train(model, _Interrupting(3 * T + 2), task, steps=6, batch_size=2, progress=False, checkpoint=ck)
    assert isinstance(e.value, KeyboardInterrupt) and e.value.checkpoint == ck
    assert ckpt.read_meta(ck)["iteration"] == 3 and len(e.value.result.losses) == 3
    task = ns.tasks.make(task_name, **kw)
    resumed = ns.train(model, _Interrupting(), task, steps=6, batch_size=2, progress=False, checkpoint=ck)
    assert resumed.start == 3
    np.testing.assert_array_equal(resumed.losses, full.losses)
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k])


def test_real_ctrl_c_on_the_cli_exits_130_with_one_line_and_resumes(tmp_path):
    """A real SIGINT to a real `neurosim train` process."""
    text = CONFIG.replace("steps = 4", "steps = 400").replace("checkpoint_every = 2", "checkpoint_every = 1000")
    path, out = _config(tmp_path, text)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "neurosim.cli", "train", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in proc.stdout:
        if line.startswith("iter"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "interrupted after" in err and "run the same command again" in err
    done = ckpt.read_meta(str(out / "checkpoint.npz"))["iteration"]
    assert 1 <= done < 400
    assert json.loads((out / "metrics.json").read_text())["status"] == "interrupted"


def test_stale_temporaries_are_cleaned_on_start(tmp_path):
    path, out = _config(tmp_path)
    out.mkdir()
    stale = [out / f"{TMP_PREFIX}checkpoint.npz-abc123.npz", out / "tmpab12cd34.tmp.npz"]
    for p in stale:
        p.write_bytes(b"half a file")
    keep = out / "notes.txt"
    keep.write_text("mine")
    assert cli.main(["train", path]) == 0
    assert not any(p.exists() for p in stale) and keep.exists()


def test_outputs_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "x.json", lambda p: open(p, "w").write("{}"))
        assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        atomic_write(tmp_path / "y.json", lambda p: open(p, "w").write("{}"))
        assert (tmp_path / "y.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_one_run_per_output_directory(tmp_path):
    """A second run (a real other process holding the lock) is refused by pid; a run that was
    killed holds nothing; the same process cannot take the lock twice either."""
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time; from neurosim._io import RunLock\n"
         f"with RunLock({str(tmp_path)!r}):\n    print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputDirError, match=f"another neurosim run \\(pid {holder.pid}\\)"):
            RunLock(tmp_path).__enter__()
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path):  # the killed holder left no lock
        assert (tmp_path / ".neurosim.lock").read_text() == str(os.getpid())
        with pytest.raises(OutputDirError, match="another neurosim run"):
            RunLock(tmp_path).__enter__()


def test_unusable_output_paths_are_one_line_errors(tmp_path, capsys):
    path, _ = _config(tmp_path)
    (tmp_path / "locked" / ".neurosim.lock").mkdir(parents=True)  # a directory where the lock goes
    for out, said in ((tmp_path / "locked", "the lock file .neurosim.lock cannot be opened"),
                      (tmp_path / ("a" * 300), "File name too long")):  # fmt: skip
        assert cli.main(["train", path, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert said in err and len(err.strip().splitlines()) == 1


def test_a_run_too_large_for_this_machine_is_refused_before_it_starts():
    """rtrl's influence matrix at n = 100 000 is n·P ≈ 10^15 floats per sample: named, not a
    MemoryError from numpy (skipped where the available memory cannot be read)."""
    from neurosim.train import _available_bytes

    if _available_bytes() is None:
        pytest.skip("no /proc/meminfo here")
    task = ns.tasks.make("copy", pattern_len=2, pad=1)
    model = ns.models.make("rnn", n_in=task.n_in, n_out=task.n_out, n_hidden=100_000)
    with pytest.raises(ValueError, match=r"needs at least [\d,.]+ GiB .*rtrl's learning state .* available"):
        ns.train(model, ns.rules.make("rtrl"), task, steps=1, progress=False)
