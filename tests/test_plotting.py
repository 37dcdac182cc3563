import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from helpers.plotting import PALETTE, STYLE, is_opaque, use_style  # noqa: E402


def test_use_style_sets_opaque_background():
    with matplotlib.rc_context():
        use_style()
        figure, axes = plt.subplots()
        axes.plot([0, 1], [0, 1])
        assert is_opaque(figure)
        plt.close(figure)


def test_rendered_figure_has_opaque_pixels():
    with matplotlib.rc_context():
        use_style()
        figure, axes = plt.subplots()
        axes.semilogy([1, 2, 3], [1e-3, 1e-6, 1e-9])
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
    buffer.seek(0)
    pixels = plt.imread(buffer)
    assert pixels.shape[2] == 4
    assert np.all(pixels[:, :, 3] == 1.0)


def test_transparent_figure_is_detected():
    figure = plt.figure()
    figure.patch.set_alpha(0.0)
    assert not is_opaque(figure)
    plt.close(figure)


def test_palette_colours_are_distinct():
    colours = [to_rgb(value) for value in PALETTE.values()]
    assert len(set(colours)) == len(colours)


def test_style_cycle_uses_palette():
    cycle_colours = STYLE["axes.prop_cycle"].by_key()["color"]
    assert set(cycle_colours) <= set(PALETTE.values())


def test_import_changes_no_rcparams():
    import importlib

    import helpers.plotting

    before = dict(matplotlib.rcParams)
    importlib.reload(helpers.plotting)
    assert dict(matplotlib.rcParams) == before
