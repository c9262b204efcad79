"""The papers' sequence tasks: listops (generated, labels against an independent evaluator),
charlm (bundled or given text), and the scifar / imdb loaders on small synthetic files written
in the standard formats (never real data). Each also runs two iterations of ``ns.train``."""

from __future__ import annotations

import math
import pickle
import statistics
from pathlib import Path

import numpy as np
import pytest

import neurosim as ns
from neurosim import config
from neurosim.tasks.listops import VOCAB, decode

# ---------------------------------------------------------------- an independent ListOps evaluator

FUNCTIONS = {
    "MAX": max,
    "MIN": min,
    "MED": lambda a: math.floor(statistics.median(a)),
    "SM": lambda a: sum(a) % 10,
}


def evaluate(text: str) -> tuple[int, int, list[int]]:
    """(value, depth, argument counts) of a ListOps expression, by recursive descent."""
    toks = text.replace("[", " [ ").replace("]", " ] ").split()
    pos = 0
    counts: list[int] = []

    def parse(depth: int) -> tuple[int, int]:
        nonlocal pos
        tok = toks[pos]
        pos += 1
        if tok.isdigit() and len(tok) == 1:
            return int(tok), depth - 1
        assert tok == "[", f"unexpected {tok!r} at {pos - 1} in {text!r}"
        op = toks[pos]
        pos += 1
        args, deepest = [], depth
        while toks[pos] != "]":
            v, d = parse(depth + 1)
            args.append(v)
            deepest = max(deepest, d)
        pos += 1
        counts.append(len(args))
        return FUNCTIONS[op](args), deepest

    value, depth = parse(1)
    assert pos == len(toks), f"trailing tokens in {text!r}"
    return value, depth, counts


def sequences(batch) -> list[str]:
    """Decode each column of a ListOps batch (its real steps) back to text."""
    lengths = (batch.xs.sum(-1) > 0).sum(0)
    return [decode(batch.xs[: lengths[b], b].argmax(-1)) for b in range(batch.xs.shape[1])]


def test_evaluator_on_hand_written_expressions_and_a_negative_control():
    assert evaluate("[MAX 2 9 [MIN 4 7 ] 0 ]")[0] == 9
    assert evaluate("[MED 1 2 3 4 ]")[0] == 2  # median 2.5, rounded down
    assert evaluate("[SM 9 9 [MED 3 8 1 ] ]")[0] == 1
    assert evaluate("[MIN 5 [MAX 1 2 ] [SM 7 7 ] ]")[:2] == (2, 2)
    # corrupting an expression changes its value
    assert evaluate("[MAX 2 1 [MIN 4 7 ] 0 ]")[0] == 4
    assert evaluate("[MIN 2 9 [MIN 4 7 ] 0 ]")[0] == 0


@pytest.fixture(scope="module")
def listops():
    return ns.tasks.make("listops", seed=1, n_train=1500, n_test=300)


def test_listops_labels_match_the_independent_evaluator(listops):
    task = listops
    texts = [decode(t) for t in task.tokens]
    got = [evaluate(s) for s in texts]
    np.testing.assert_array_equal([g[0] for g in got], task.labels)
    assert all(1 <= g[1] <= task.max_depth for g in got)
    assert all(2 <= c <= task.max_args for g in got for c in g[2])
    assert max(g[1] for g in got) == task.max_depth  # nesting happens
    lengths = [len(t) for t in task.tokens]
    assert task.min_length <= min(lengths) and max(lengths) <= task.max_length
    assert len(set(task.tokens)) == len(task.tokens)  # distinct: the test set is held out
    assert len(np.unique(task.labels)) == 10
    # the comparison has power: shuffled labels agree on about a tenth only
    shuffled = np.random.default_rng(0).permutation(task.labels)
    assert np.mean(shuffled == task.labels) < 0.3
    # and a corrupted expression (one digit changed) mostly changes the value
    changed = 0
    for toks, label in zip(task.tokens[:200], task.labels[:200]):
        toks = list(toks)
        i = next(k for k, t in enumerate(toks) if t < 10)
        toks[i] = (toks[i] + 5) % 10
        changed += evaluate(decode(toks))[0] != label
    assert changed > 40


def test_listops_batches_layout_and_labels(listops):
    task = listops
    b = task.batch(3, 16)
    T = b.xs.shape[0]
    assert b.xs.shape == (T, 16, len(VOCAB)) == (T, 16, 16) and b.ys.shape == (T, 16, 10) and b.mask.shape == (T, 16)
    assert T <= task.T == task.max_length
    lengths = (b.xs.sum(-1) > 0).sum(0)
    assert lengths.max() == T  # padded to the longest in the batch
    for col in range(16):
        n = lengths[col]
        np.testing.assert_array_equal(b.xs[:n, col].sum(-1), 1.0)  # one-hot on real steps
        assert not b.xs[n:, col].any()  # right-padded with zeros
        assert b.mask[:, col].sum() == 1 and b.mask[n - 1, col] == 1  # target on the closing "]"
        assert b.xs[n - 1, col].argmax() == VOCAB.index("]") and b.xs[0, col].argmax() == VOCAB.index("[")
        assert not b.ys[: n - 1, col].any() and b.ys[n - 1, col].sum() == 1
    labels = b.ys[lengths - 1, np.arange(16)].argmax(-1)
    np.testing.assert_array_equal(labels, [evaluate(s)[0] for s in sequences(b)])
    # the metric: perfect outputs score 1, uniform ones fail the argmax only by ties
    assert task.metrics(b.ys * 5.0, b) == {"accuracy": 1.0}
    every = ns.tasks.make("listops", seed=1, n_train=1500, n_test=300, target="every")
    e = every.batch(3, 16)
    np.testing.assert_array_equal(e.xs, b.xs)
    np.testing.assert_array_equal(e.mask.sum(0), lengths)
    m = every.metrics(e.ys * 5.0, e)
    assert m == {"accuracy": 1.0, "step_accuracy": 1.0}


def test_listops_is_deterministic_and_holds_a_test_set_out(listops):
    task = listops
    b = task.batch(0, 8)
    for got, want in zip(task.batch(0, 8), b):
        np.testing.assert_array_equal(got, want)
    assert sequences(task.batch(1, 8)) != sequences(b)
    other = ns.tasks.make("listops", seed=2, n_train=1500, n_test=300)
    assert other.tokens == task.tokens  # the data set is fixed; the seed orders the batches
    assert sequences(other.batch(0, 8)) != sequences(b)
    test = task.test_batch()
    assert test.xs.shape[1] == 300 and task.options["n_test"] == 300
    held = set(sequences(test))
    assert not held & {decode(t) for t in task.tokens[: task.n_train]}
    np.testing.assert_array_equal(test.ys.sum(0).argmax(-1), task.labels[1500:])
    part = task.test_batch(10, 5)
    assert sequences(part) == sequences(test)[10:15]


@pytest.mark.parametrize(
    "options, match",
    [
        ({"max_args": 1}, r"max_args=1 is invalid: allowed an integer >= 2"),
        ({"min_length": 200}, r"min_length=200 is invalid: allowed an integer in \[1, 100\]"),
        ({"max_depth": 1, "max_args": 3, "min_length": 10}, r"min_length=10 .*at most 6 tokens.*max_depth=1"),
        ({"max_length": 4}, r"max_length=4 is invalid: allowed an integer >= 5"),
        ({"p_list": 1.5}, r"p_list=1.5 is invalid"),
        ({"target": "first"}, r"target='first' is invalid: allowed one of 'every', 'last'"),
        ({"max_depth": 1, "max_args": 2, "min_length": 5, "n_train": 1000}, r"only 400 distinct expressions"),
        ({"depth": 3}, r"no option 'depth' for task 'listops'"),
    ],
)
def test_listops_errors_name_the_option(options, match):
    with pytest.raises(ValueError, match=match):
        ns.tasks.make("listops", **options)


# ---------------------------------------------------------------- charlm


def test_charlm_bundled_text_windows_and_test_tail():
    task = ns.tasks.make("charlm", seed=0, seq_len=32)
    text = Path(task.path).read_text("utf-8")
    assert 3000 < len(text) < 10000 and task.vocab == "".join(sorted(set(text))) and task.n_in == len(task.vocab)
    train, tail = text[: task.split], text[task.split :]
    assert abs(len(tail) - 0.1 * len(text)) <= 1
    b = task.batch(0, 6)
    assert b.xs.shape == (32, 6, task.n_in) and b.ys.shape == b.xs.shape and b.mask.shape == (32, 6) and b.mask.all()
    np.testing.assert_array_equal(b.ys[:-1], b.xs[1:])  # next-character targets
    for col in range(6):
        window = task.decode(b.xs[:, col]) + task.decode(b.ys[-1:, col])
        assert window in train
    for got, want in zip(task.batch(0, 6), b):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(task.batch(1, 6).xs, b.xs)
    test = task.test_batch()
    assert test.xs.shape[1] == task.n_test == (len(tail) - 1) // 32
    joined = "".join(task.decode(test.xs[:, k]) for k in range(task.n_test))
    assert joined == tail[: 32 * task.n_test]  # consecutive windows: every held-out transition once
    assert task.decode(test.ys[:, -1])[-1] == tail[32 * task.n_test]


def test_charlm_bits_per_char():
    task = ns.tasks.make("charlm", seq_len=16)
    b = task.batch(0, 4)
    m = task.metrics(np.zeros_like(b.ys), b)  # a uniform predictor
    assert m["bits_per_char"] == pytest.approx(np.log2(task.n_in))
    perfect = task.metrics(b.ys * 40.0, b)
    assert perfect["bits_per_char"] < 1e-10 and perfect["accuracy"] == 1.0
    # probability 0.9 on the right character: −log2 0.9 bits; masked-out steps do not count
    logits = np.log(np.where(b.ys > 0, 0.9, 0.1 / (task.n_in - 1)))
    assert task.metrics(logits, b)["bits_per_char"] == pytest.approx(-np.log2(0.9))
    logits[::2] = 0.0
    half = b._replace(mask=np.tile([[0.0], [1.0]], (8, 4)))
    assert task.metrics(logits, half)["bits_per_char"] == pytest.approx(-np.log2(0.9))


def test_charlm_stream_continues_across_batches():
    task = ns.tasks.make("charlm", seed=3, seq_len=20, stream=True)
    assert task.continuing and not ns.tasks.make("charlm").continuing
    b0, b1 = task.batch(0, 3), task.batch(1, 3)
    np.testing.assert_array_equal(b0.ys[-1], b1.xs[0])
    np.testing.assert_array_equal(b0.xs[1:], b0.ys[:-1])
    far = task.batch(1000, 3)  # wraps round inside the training part
    assert far.xs.shape == (20, 3, task.n_in)


def test_charlm_reads_a_given_file_and_names_bad_ones(tmp_path):
    f = tmp_path / "text.txt"
    f.write_text("abcabcabd" * 30 + "ééé", encoding="utf-8")
    task = ns.tasks.make("charlm", path=str(f), seq_len=8)
    assert task.vocab == "abcdé" and task.n_in == task.n_out == 5 and task.options["path"] == str(f)
    missing = tmp_path / "nope" / "missing.txt"
    with pytest.raises(ValueError, match=f"path='{missing}': no such file"):
        ns.tasks.make("charlm", path=str(missing))
    with pytest.raises(ValueError, match="is a directory"):
        ns.tasks.make("charlm", path=str(tmp_path))
    short = tmp_path / "short.txt"
    short.write_text("hello")
    with pytest.raises(
        ValueError, match=r"seq_len=64 is invalid for path=.*short.txt.*5 characters.*seq_len \+ 1 = 65"
    ):
        ns.tasks.make("charlm", path=str(short))
    with pytest.raises(ValueError, match=r"held-out tail has 27 of its 273 characters.*seq_len \+ 1 = 65"):
        ns.tasks.make("charlm", path=str(f))
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"abc\xff\xfe" * 100)
    with pytest.raises(ValueError, match=r"bin.txt' is not UTF-8 text \(byte 3\)"):
        ns.tasks.make("charlm", path=str(binary))
    with pytest.raises(ValueError, match=r"seq_len=5000 is invalid for the bundled text: it has 4611 characters"):
        ns.tasks.make("charlm", seq_len=5000)
    with pytest.raises(ValueError, match=r"test_frac=1.0 is invalid"):
        ns.tasks.make("charlm", test_frac=1.0)


# ---------------------------------------------------------------- sequential CIFAR-10 on fake batches


def _fake_cifar(root: Path, n: int = 4, n_test: int = 6) -> dict:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        m = n_test if name == "test_batch" else n
        data = rng.integers(0, 256, (m, 3072), dtype=np.uint8)
        data[:, 0] = np.arange(m) + 10 * k  # the first red value identifies the image
        labels = [int(x) for x in rng.integers(0, 10, m)]
        d = {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * m}
        (root / name).write_bytes(pickle.dumps(d, protocol=2))
        out[name] = (data, labels)
    return out


def test_scifar_reads_the_python_batches(tmp_path):
    files = _fake_cifar(tmp_path / "cifar-10-batches-py")
    data = np.concatenate([files[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels = np.concatenate([files[f"data_batch_{i}"][1] for i in range(1, 6)])
    task = ns.tasks.make("scifar", seed=0, root=str(tmp_path), normalize=False)  # the parent works too
    assert task.n_in == 3 and task.n_out == 10 and task.T == 1024
    b = task.batch(0, 5)
    assert b.xs.shape == (1024, 5, 3) and b.ys.shape == (1024, 5, 10)
    assert b.mask[-1].all() and not b.mask[:-1].any()
    for col in range(5):
        i = int(np.where(data[:, 0] == round(b.xs[0, col, 0] * 255))[0][0])
        img = data[i].reshape(3, 32, 32)  # channel, row, column
        np.testing.assert_allclose(b.xs[33, col], img[:, 1, 1] / 255)  # pixel 33 = row 1, column 1
        np.testing.assert_allclose(b.xs[:, col, 2], data[i, 2048:] / 255)
        assert b.ys[-1, col].argmax() == labels[i]
    for got, want in zip(task.batch(0, 5), b):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(task.batch(1, 5).xs, b.xs)
    test = task.test_batch()
    assert test.xs.shape == (1024, 6, 3)
    np.testing.assert_array_equal(test.ys[-1].argmax(-1), files["test_batch"][1])
    gray = ns.tasks.make("scifar", root=str(tmp_path / "cifar-10-batches-py"), grayscale=True, normalize=False)
    g = gray.test_batch(1, 2)
    assert g.xs.shape == (1024, 2, 1) and gray.n_in == 1
    rgb = files["test_batch"][0][1:3].reshape(2, 3, 1024).transpose(2, 0, 1) / 255
    np.testing.assert_allclose(g.xs[:, :, 0], rgb @ [0.299, 0.587, 0.114])
    # standardised by the training set's per-channel mean and deviation
    norm = ns.tasks.make("scifar", root=str(tmp_path), target="every").test_batch()
    x = data.reshape(-1, 3, 1024) / 255
    mean, std = x.mean((0, 2)), x.std((0, 2))
    np.testing.assert_allclose(norm.xs, (test.xs - mean) / std, atol=1e-6)
    assert norm.mask.all()


def test_scifar_errors_name_the_path_and_files(tmp_path):
    with pytest.raises(ValueError, match=r"root=None is invalid: allowed the path of CIFAR-10's python-version"):
        ns.tasks.make("scifar")
    with pytest.raises(ValueError, match=f"root='{tmp_path / 'none'}': no such directory"):
        ns.tasks.make("scifar", root=str(tmp_path / "none"))
    _fake_cifar(tmp_path, n=2, n_test=2)
    with pytest.raises(ValueError, match=f"root='{tmp_path / 'test_batch'}': is not a directory"):
        ns.tasks.make("scifar", root=str(tmp_path / "test_batch"))
    (tmp_path / "test_batch").unlink()
    with pytest.raises(ValueError, match=f"root='{tmp_path}' has no test_batch: allowed .*data_batch_1"):
        ns.tasks.make("scifar", root=str(tmp_path))
    # contents are read lazily, at the first batch, and checked
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    task = ns.tasks.make("scifar", root=str(tmp_path))
    with pytest.raises(ValueError, match=r"test_batch: data has shape \(2, 100\)"):
        task.test_batch()
    (tmp_path / "data_batch_3").write_bytes(pickle.dumps(print))  # a global other than numpy's: refused
    with pytest.raises(ValueError, match=r"data_batch_3: not readable as a pickle \(it refers to builtins.print"):
        task.batch(0, 2)
    (tmp_path / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=r"data_batch_3: not readable as a pickle"):
        ns.tasks.make("scifar", root=str(tmp_path)).batch(0, 2)


# ---------------------------------------------------------------- byte-level IMDB on a fake aclImdb tree

REVIEWS = {
    "train/pos": ["A wonderful film.", "Loved it <br /><br />so much", "Très bien, vraiment."],
    "train/neg": ["Dull.", "I want those two hours back.", ""],
    "test/pos": ["Great acting", "A delight from start to finish"],
    "test/neg": ["Terrible plot", "Not good"],
}


def _fake_imdb(root: Path) -> Path:
    for folder, texts in REVIEWS.items():
        (root / folder).mkdir(parents=True)
        for i, t in enumerate(texts):
            (root / folder / f"{i}_{7 if 'pos' in folder else 2}.txt").write_text(t, encoding="utf-8")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabelled")
    return root


def _texts(batch) -> list[bytes]:
    lengths = (batch.xs.sum(-1) > 0).sum(0)
    return [bytes(batch.xs[: lengths[b], b].argmax(-1).astype(np.uint8)) for b in range(batch.xs.shape[1])]


def test_imdb_reads_reviews_as_bytes(tmp_path):
    root = _fake_imdb(tmp_path / "aclImdb")
    task = ns.tasks.make("imdb", seed=0, root=str(root), n_test=None)
    assert task.n_in == 256 and task.n_out == 2
    b = task.batch(0, 12)
    T = b.xs.shape[0]
    assert b.xs.shape == (T, 12, 256) and b.mask.shape == (T, 12) and (b.mask.sum(0) == 1).all()
    label_of = {t.encode() or b"\x00": int("pos" in f) for f, ts in REVIEWS.items() if "train" in f for t in ts}
    texts = _texts(b)
    assert set(texts) <= set(label_of) and T == max(len(t) for t in texts)
    last = b.mask.argmax(0)
    np.testing.assert_array_equal(last, [len(t) - 1 for t in texts])
    np.testing.assert_array_equal(b.ys[last, np.arange(12)].argmax(-1), [label_of[t] for t in texts])
    assert "Très bien, vraiment.".encode() in label_of and len("Très".encode()) == 5  # UTF-8 bytes
    for got, want in zip(task.batch(0, 12), b):
        np.testing.assert_array_equal(got, want)
    assert _texts(task.batch(1, 12)) != texts
    test = task.test_batch()
    assert sorted(_texts(test)) == sorted(t.encode() for f in ("test/pos", "test/neg") for t in REVIEWS[f])
    assert task.metrics(test.ys * 3.0, test) == {"accuracy": 1.0}
    # truncation, a held-out subset, parts of it, the parent directory as root
    short = ns.tasks.make("imdb", root=str(tmp_path), max_len=6, n_test=3, target="every")
    s = short.test_batch()
    assert s.xs.shape[:2] == (6, 3) and short.n_test == 3
    assert all(t in {x.encode()[:6] for f in ("test/pos", "test/neg") for x in REVIEWS[f]} for t in _texts(s))
    np.testing.assert_array_equal(s.mask.sum(0), 6)
    assert _texts(short.test_batch(1, 2)) == _texts(s)[1:]
    with pytest.raises(ValueError, match=r"start=3 is invalid: allowed an integer in \[0, 2\]"):
        short.test_batch(3)


def test_imdb_errors_name_the_path(tmp_path):
    with pytest.raises(ValueError, match=r"root=None is invalid: allowed the path of an aclImdb directory"):
        ns.tasks.make("imdb")
    with pytest.raises(ValueError, match=f"root='{tmp_path / 'x'}': no such directory: allowed .*train/pos"):
        ns.tasks.make("imdb", root=str(tmp_path / "x"))
    root = _fake_imdb(tmp_path / "aclImdb")
    for f in (root / "test" / "neg").iterdir():
        f.unlink()
    with pytest.raises(ValueError, match=f"root='{root}': test/neg has no .txt file"):
        ns.tasks.make("imdb", root=str(root))
    (root / "test" / "neg").rmdir()
    with pytest.raises(ValueError, match=f"root='{root}' has no test/neg: allowed the path of an aclImdb directory"):
        ns.tasks.make("imdb", root=str(tmp_path))
    with pytest.raises(ValueError, match="max_len=0 is invalid"):
        ns.tasks.make("imdb", root=str(_fake_imdb(tmp_path / "b" / "aclImdb")), max_len=0)


# ---------------------------------------------------------------- they plug into training and configs


@pytest.fixture
def made(tmp_path):
    _fake_cifar(tmp_path / "cifar", n=2, n_test=2)
    _fake_imdb(tmp_path / "aclImdb")
    return {
        "listops": {"n_train": 40, "n_test": 5, "max_length": 40},
        "charlm": {"seq_len": 16},
        "scifar": {"root": str(tmp_path / "cifar"), "grayscale": True},
        "imdb": {"root": str(tmp_path / "aclImdb"), "max_len": 24},
    }


@pytest.mark.parametrize("name", ["listops", "charlm", "scifar", "imdb"])
def test_each_task_trains_two_iterations(name, made):
    task = ns.tasks.make(name, **made[name])
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=8)
    res = ns.train(model, ns.rules.make("online_lru"), task, steps=2, batch_size=2, progress=False)
    assert len(res.losses) == 2 and np.all(np.isfinite(res.losses))
    assert res.status == "finished" and "accuracy" in res.metrics[-1]
    out = model.run(res.params, task.test_batch(0, 2).xs)
    assert set(task.metrics(out, task.test_batch(0, 2))) >= {"accuracy"}


def test_the_tasks_work_from_a_toml_config(tmp_path, made):
    for name in ("listops", "charlm", "scifar", "imdb"):
        options = "\n".join(f"{k} = {v!r}".replace("True", "true").replace("'", '"') for k, v in made[name].items())
        path = tmp_path / f"{name}.toml"
        path.write_text(f'[model]\nname = "lru"\nn_hidden = 4\n[rule]\nname = "online_lru"\n[task]\nname = "{name}"\n'
                        f"{options}\n[train]\nsteps = 1\n")  # fmt: skip
        model, rule, task, opt, kwargs = config.build(config.load(path), str(path))
        assert task.name == name and (model.n_in, model.n_out) == (task.n_in, task.n_out)
        assert kwargs["fingerprint"]["task.name"] == name
    path.write_text('[model]\nname = "lru"\n[rule]\nname = "online_lru"\n[task]\nname = "listops"\nmax_depth = 2.5\n')
    with pytest.raises(config.ConfigError, match=r"\[task\] max_depth = 2.5 is invalid: allowed an integer"):
        config.load(path)
    path.write_text('[model]\nname = "lru"\n[rule]\nname = "online_lru"\n[task]\nname = "imdb"\n')
    with pytest.raises(config.ConfigError, match=r"\[task\] root=None is invalid"):
        config.build(config.load(path), str(path))
