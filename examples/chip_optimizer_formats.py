"""The optimizer's moments in a chip's number formats (``ns.chip.simulate(optimizer_formats=True)``):
a small LRU learning the copy task with online_lru on the loihi2 profile (16-bit fixed-point
optimizer state), Adam and momentum SGD, each with its moments computed in float and held in
the format. Prints how many entries of Adam's v underflow to zero after the first update, and,
over 6 seeds (40 iterations each: a small, noisy run, so one seed says little), the median and
the worst of the mean loss over the last 5 iterations, and on how many seeds the loss ended
above where it started (the mean over the first 3).

    python examples/chip_optimizer_formats.py   # about 10 s here
"""

from __future__ import annotations

import numpy as np

import neurosim as ns


def main(steps: int = 40, seeds: int = 6) -> None:
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, dtype="float64")
    rule = ns.rules.make("online_lru")
    prof = ns.hardware.load_profile("loihi2")
    one = dict(steps=1, batch_size=2, activity="off", optimizer=ns.optim.adam(3e-3))
    held = ns.chip.simulate(model, rule, task, prof, optimizer_formats=True, **one)
    free = ns.chip.simulate(model, rule, task, prof, **one)
    positive = sum(int((free.opt_state.v[k] > 0).sum()) for k in free.params)
    zeroed = sum(int(((free.opt_state.v[k] > 0) & (held.opt_state.v[k] == 0)).sum()) for k in free.params)
    print(f"Adam's v after the first update: {zeroed} of {positive} positive entries underflow to zero "
          f"in {held.number_formats['v:enc.W']['bits']}-bit fixed point")  # fmt: skip
    for opt in (ns.optim.adam(3e-3), ns.optim.sgd(0.3, momentum=0.9)):
        for on in (False, True):
            first, last = [], []
            for seed in range(seeds):
                run = ns.chip.simulate(model, rule, task, prof, optimizer=opt, steps=steps, batch_size=4,
                                       activity="off", optimizer_formats=on, seed=seed)  # fmt: skip
                losses = np.asarray(run.losses)
                first.append(losses[:3].mean())
                last.append(losses[-5:].mean())
            rose = int(np.sum(np.asarray(last) > np.asarray(first)))
            print(
                f"{opt.kind:4s} moments {'held' if on else 'float'}: final loss median {np.median(last):.3f}, "
                f"worst {max(last):.3f}; rose on {rose} of {seeds} seeds"
            )


if __name__ == "__main__":
    main()
