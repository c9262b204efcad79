"""The optimizer's moments in a chip's number formats (``ns.chip.simulate(optimizer_formats=True)``):
a small LRU learning the copy task with online_lru on the loihi2 profile (16-bit fixed-point
optimizer state), Adam and momentum SGD, each with its moments computed in float and held in
the format. Prints how many entries of Adam's v underflow to zero after the first update, and
the mean loss over the first 3 and the last 5 of 40 iterations.

    python examples/chip_optimizer_formats.py   # about 20 s here
"""

from __future__ import annotations

import numpy as np

import neurosim as ns


def main(steps: int = 40) -> None:
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
            run = ns.chip.simulate(model, rule, task, prof, optimizer=opt, steps=steps, batch_size=4, activity="off",
                                   optimizer_formats=on)  # fmt: skip
            losses = np.asarray(run.losses)
            print(
                f"{opt.kind:4s} moments {'held' if on else 'float'}: loss {losses[:3].mean():.3f} → "
                f"{losses[-5:].mean():.3f}"
            )


if __name__ == "__main__":
    main()
