"""One figure style and one `savefig` for every notebook."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..config.paths import output_dir

DPI = 100


def use_style():
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "savefig.bbox": "tight"})


def savefig(fig, name, profile="default"):
    """Save `fig` as results[/profiles/<profile>]/figures/<name>.png, without timestamps."""
    path = output_dir(profile, "figures") / f"{name}.png"
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def image_grid(images, image_shape, ncols, ax=None, title=None):
    """Show flattened images (N, D) as one tiled grayscale picture."""
    images = np.asarray(images).reshape(-1, *image_shape)
    nrows = int(np.ceil(len(images) / ncols))
    h, w = image_shape
    canvas = np.ones((nrows * (h + 1) - 1, ncols * (w + 1) - 1))
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img
    ax = ax or plt.gca()
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
