"""What a chip can run as it is: its messages (binary spikes or graded values) and its neurons (a
fixed LIF/ALIF circuit or programmable), from the profile's ``[core] messages`` and ``neurons``.

A rate-based model (RNN, GRU, LRU: graded activations, tanh or gates, complex states, LayerNorm,
GLU or MLP mixing) needs graded messages and programmable neurons; a spiking model (LIF, ALIF)
runs on either kind of neuron. ``cannot_run`` lists what the chip lacks (empty: it runs);
``check_runs`` refuses, naming it and the bundled chips where the model would run. The chip
simulation refuses before its first step; the budget reports it beside the numbers (a budget
prices a deployment, so it still answers).
"""

from __future__ import annotations

from .profile import Profile, list_profiles, load_profile


def cannot_run(model, profile: Profile) -> list[str]:
    """What ``profile``'s chip lacks to run ``model`` as it is (empty: nothing)."""
    if getattr(model, "spiking", False):
        return []
    out = []
    kind = getattr(model, "kind", type(model).__name__)
    if profile.core.messages == "spike":
        out.append(f"its messages are binary spikes, and {_a(kind)} model sends graded activations")
    if profile.core.neurons == "lif":
        out.append(f"its neurons are fixed LIF circuits, and {_a(kind)} model needs programmable units")
    return out


def runs_on(model) -> list[str]:
    """The bundled profiles that run ``model`` as it is."""
    return [name for name in list_profiles() if not cannot_run(model, load_profile(name))]


def check_runs(model, profile: Profile) -> None:
    """Refuse (``ValueError``) a model the chip cannot run as it is, saying what would run."""
    lacks = cannot_run(model, profile)
    if lacks:
        kind = getattr(model, "kind", type(model).__name__)
        elsewhere = ", ".join(runs_on(model)) or "no bundled chip"
        raise ValueError(
            f"{profile.name} cannot run {_a(kind)} model as it is: {'; '.join(lacks)}. What would run: a spiking "
            f"model (lif, alif) on {profile.name}, or the {kind} model on {elsewhere}"
        )


def _a(kind: str) -> str:
    """The article of a model's name read as letters: "an rnn", "an lru", "an lif", "a gru"."""
    return f"an {kind}" if kind[:1] in "aeiouflmnrsx" else f"a {kind}"
