"""Reports: JSON first, figures rendered from it (functions take ``ax=None``, return the axes)."""

from .plots import plot_learning_curve

__all__ = ["plot_learning_curve"]
