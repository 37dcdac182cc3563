"""One figure style for the whole series (introduced in 00).

Opaque white backgrounds so that figures read on JupyterLab's light and dark
themes, the Okabe-Ito colour-blind-safe palette, and font sizes that read from
the back of a lecture room. :func:`use_style` applies it; importing this module
changes nothing.
"""

from __future__ import annotations

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import FigureBase

# Okabe and Ito (2008), "Color Universal Design", a palette that stays
# distinguishable under the common forms of colour blindness.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

# Colours for the comparisons that recur in every notebook.
PLAIN = PALETTE["vermillion"]
RESIDUAL = PALETTE["blue"]
POST_LN = PALETTE["blue"]
PRE_LN = PALETTE["green"]
NO_RESIDUAL = PALETTE["vermillion"]

STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 100,
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "legend.fontsize": 10,
    "lines.linewidth": 2.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": cycler(
        color=[PALETTE[name] for name in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
    ),
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def use_style() -> None:
    """Apply the series' matplotlib style to every figure drawn afterwards."""
    mpl.rcParams.update(STYLE)


def is_opaque(figure: FigureBase) -> bool:
    """Return True when ``figure`` has a fully opaque background."""
    if not isinstance(figure, FigureBase):
        raise TypeError(f"figure must be a matplotlib Figure, got {figure!r}; for an Axes ax, pass ax.figure")
    return mpl.colors.to_rgba(figure.get_facecolor())[3] == 1.0 and figure.patch.get_alpha() in (None, 1.0)
