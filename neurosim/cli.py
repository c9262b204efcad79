"""``neurosim`` command line: ``train [CONFIG.toml]`` (more subcommands arrive with the road map)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import config as cfgmod
from ._io import atomic_write


def cmd_train(args) -> int:
    from .report import plot_learning_curve
    from .train import train

    if args.config:
        cfg = cfgmod.load(args.config)
        source = args.config
    else:
        cfg = cfgmod.validate(cfgmod.QUICKSTART, "<built-in quickstart>")
        source = "<built-in quickstart>"
        print("neurosim quickstart: an LRU stack learns the copy task online with online_lru")
    if args.steps is not None:
        cfg["train"]["steps"] = args.steps
    if args.out is not None:
        cfg["output"]["dir"] = args.out
    model, rule, task, opt, kw = cfgmod.build(cfg, source)
    out = Path(cfg["output"].get("dir", "runs/" + Path(source).stem.strip("<>").replace(" ", "_")))
    steps = int(kw.pop("steps", 1000))
    every = max(1, steps // 20)
    t0 = time.perf_counter()
    print(
        f"model {model.kind} ({sum(v.size for v in model.init(0).values())} parameters), "
        f"rule {rule.name}, task {task.name}, {steps} iterations"
    )

    def report(i, params, m):
        if (i + 1) % every == 0 or i == 0:
            extra = "  ".join(f"{k} {v:.3f}" for k, v in m.items() if k not in ("loss", "grad_norm"))
            print(
                f"iter {i + 1:5d}/{steps}  loss {m['loss']:.4f}  {extra}  ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )

    ckpt = str(out / "checkpoint.npz") if cfg["train"].get("resume", False) else None
    res = train(model, rule, task, opt, steps, progress=False, callback=report, checkpoint=ckpt, **kw)
    summary = {
        "schema": "neurosim.train/1",
        "config": cfg,
        "seconds": res.seconds,
        "final": res.metrics[-1] if res.metrics else {},
        "metrics": res.metrics,
    }
    atomic_write(out / "metrics.json", lambda p: Path(p).write_text(json.dumps(summary, indent=1)))
    atomic_write(out / "params.npz", lambda p: np.savez(p, **res.params))
    import matplotlib.pyplot as plt

    keys = ("loss",) + tuple(k for k in ("bit_accuracy", "accuracy") if res.metrics and k in res.metrics[0])[:1]
    chance = {"bit_accuracy": 0.5, "accuracy": 1.0 / task.n_out}
    ax = plot_learning_curve(res.metrics, keys, chance, title=f"{rule.name} · {model.kind} · {task.name}")
    atomic_write(out / "learning_curve.png", lambda p: ax.figure.savefig(p, dpi=120, format="png"))
    plt.close(ax.figure)
    print(f"done in {res.seconds:.0f} s; wrote {out}/metrics.json, params.npz, learning_curve.png")
    return 0


def cmd_study(args) -> int:
    from .experiments import STUDIES

    study = STUDIES[args.name]
    settings = study.default_settings(quick=args.quick)
    out = Path(args.out or f"runs/{args.name}{'-quick' if args.quick else ''}")
    print(f"neurosim study {args.name}: settings {json.dumps(settings)}")
    result = study.run(settings, out, progress=lambda line: print(line, flush=True))
    print("orderings (algorithms.md §7.1):")
    for k, v in result["orderings"].items():
        print(f"  {'agrees ' if v else 'DIFFERS' if v is False else 'n/a    '}  {k}")
    print(f"done in {result['seconds']:.0f} s; wrote {out}/gradient_quality.json and gradient_quality.png")
    return 0


def cmd_warmup(args) -> int:
    from . import kernels

    dtypes = tuple(args.dtype or ("float32", "float64"))
    t0 = time.perf_counter()
    times = kernels.warmup(dtypes=dtypes, verbose=True)
    print(
        f"compiled or loaded {len(times)} kernels in {time.perf_counter() - t0:.1f} s (cached on disk for later runs)"
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="neurosim", description="Online learning rules for recurrent networks, priced on chips."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train from a TOML config (no argument: the built-in quickstart)")
    p.add_argument("config", nargs="?", help="path to a TOML run configuration")
    p.add_argument("--steps", type=int, help="override [train] steps")
    p.add_argument("--out", help="override [output] dir")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("study", help="run a study (JSON result + figure): gradient-quality")
    p.add_argument("name", choices=["gradient-quality"])
    p.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run in seconds")
    p.add_argument("--out", help="output directory (default runs/NAME)")
    p.set_defaults(func=cmd_study)
    p = sub.add_parser("warmup", help="compile every numba kernel ahead of time (float32, float64)")
    p.add_argument("--dtype", action="append", choices=["float32", "float64"], help="only this dtype (repeatable)")
    p.set_defaults(func=cmd_warmup)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (cfgmod.ConfigError, ValueError) as e:
        print(f"neurosim: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
