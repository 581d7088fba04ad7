"""ChirpLoc100K figures: write them as the public generator does, and read them back.

The public ChirpLoc100K images are whole matplotlib figures at matplotlib's
defaults (640 x 480 px at 100 dpi): the 128 x 128 spectrogram drawn with
``imshow(values, aspect='auto', origin='lower', cmap='viridis',
extent=[0, 60, 0, 100])``, colour limits at the image's own minimum and
maximum, axis labels "Time (s)" and "Frequency (Hz)", a colour bar labelled
"Intensity" and the title "Synthetic Spectrogram {i} ({type} chirp)".

`render_figure_png` draws that layout pixel for pixel, but builds the figure
once per thread and then only swaps the image, its colour limits and the title:
everything that never changes (margins, axis ticks and labels) is restored from
a saved background, so a figure costs a fraction of a fresh pyplot figure.

`read_figure` goes the other way for any such figure (ours or the public
generator's): it finds the data area, inverts viridis to an intensity in
[0, 1] (the colour limits are per image, so absolute levels are lost) and
averages the pixels of each cell of the 128 x 128 grid. `read_image` reads a
bare spectrogram image whose whole area is the plane.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Union

import numpy as np

from chirploc.io.errors import ChirpLocIOError
from chirploc.types import Spectrogram, normalize_sweep

ImageSource = Union[str, Path, bytes, bytearray, np.ndarray]

#: The plane of every ChirpLoc100K figure: 60 s by 100 Hz on a 128 x 128 grid.
TIME_RANGE_S: tuple[float, float] = (0.0, 60.0)
FREQ_RANGE_HZ: tuple[float, float] = (0.0, 100.0)
GRID: tuple[int, int] = (128, 128)  # (freq, time)
FIGURE_SIZE_PX: tuple[int, int] = (640, 480)  # (width, height)
FIGURE_DPI = 100
#: Where a public figure's data area lies, in PNG pixel edges (x0, y0, x1, y1) from the
#: top left: matplotlib's default axes box with the colour bar's share taken off.
DATA_BOX_PX: tuple[float, float, float, float] = (80.0, 57.6, 476.8, 427.2)
#: zlib level of our PNGs. matplotlib (and so the public data set) uses 6; 4 gives
#: the same pixels about 6 % larger in half the encoding time.
DEFAULT_COMPRESS_LEVEL = 4

_VIRIDIS_NEAR = 40.0  # RGB distance within which a pixel counts as a viridis colour
_VIRIDIS_STRICT = 20.0  # ... for deciding that a bare image is viridis-coloured
_CELL_CORE = 0.5  # central fraction of a figure's cell that is averaged
_Q = 64  # levels per channel of the quantised RGB -> viridis lookup table
_Q_SHIFT = 2  # 256 // _Q == 1 << _Q_SHIFT


# --------------------------------------------------------------------------- writing


class _FigureRenderer:
    """One figure in the public layout, drawn again for each new image.

    Built once per thread under matplotlib's default style; per call only the
    image (with its colour limits), the frame around it, the title and the
    colour bar are redrawn over a saved background. The result is identical,
    pixel for pixel, to a fresh figure drawn in full. (Building holds matplotlib's
    global style at its defaults for a moment, under a lock; drawing touches no
    global state.)
    """

    _style_lock = threading.Lock()

    def __init__(self) -> None:
        import matplotlib.style
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        with self._style_lock, matplotlib.style.context("default"):
            fig = Figure(figsize=(FIGURE_SIZE_PX[0] / FIGURE_DPI, FIGURE_SIZE_PX[1] / FIGURE_DPI), dpi=FIGURE_DPI)
            canvas = FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            ramp = np.linspace(0.0, 1.0, GRID[0] * GRID[1]).reshape(GRID)
            image = ax.imshow(
                ramp, aspect="auto", origin="lower", cmap="viridis",
                extent=[TIME_RANGE_S[0], TIME_RANGE_S[1], FREQ_RANGE_HZ[0], FREQ_RANGE_HZ[1]],
            )
            ax.set_xlabel("Time (s)")
            ax.set_ylabel("Frequency (Hz)")
            title = ax.set_title(_title(1, "linear"))
            colorbar = fig.colorbar(image, ax=ax, label="Intensity")
            canvas.draw()  # lays out the title
            title_position = title.get_position()
            self._moving = [image, *ax.spines.values(), title, colorbar.ax]
            for artist in self._moving:
                artist.set_visible(False)
            canvas.draw()
            self._background = canvas.copy_from_bbox(fig.bbox)
            for artist in self._moving:
                artist.set_visible(True)
            title.set_position(title_position)
        self._fig, self._canvas, self._image, self._title = fig, canvas, image, title
        self._size = canvas.get_width_height()

    def rgba(self, values: np.ndarray, title: str) -> memoryview:
        """The figure's RGBA pixels [480, 640, 4] (valid until the next call on this thread)."""
        self._image.set_data(values)
        self._image.autoscale()  # colour limits at the image's own min and max, as imshow sets them
        self._title.set_text(title)
        canvas = self._canvas
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in self._moving:  # in the order a full draw paints them
            artist.draw(renderer)
        return canvas.buffer_rgba()

    def png(self, values: np.ndarray, title: str, compress_level: int) -> bytes:
        from PIL import Image, PngImagePlugin
        import matplotlib

        pixels = self.rgba(values, title)
        picture = Image.frombuffer("RGBA", self._size, pixels, "raw", "RGBA", 0, 1)
        info = PngImagePlugin.PngInfo()
        # The one text chunk matplotlib's own savefig writes (no time stamp).
        info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
        out = io.BytesIO()
        picture.save(out, format="png", pnginfo=info, dpi=(FIGURE_DPI, FIGURE_DPI), compress_level=compress_level)
        return out.getvalue()


_local = threading.local()


def _renderer() -> _FigureRenderer:
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = _local.renderer = _FigureRenderer()
    return renderer


def _title(index: int, sweep: str) -> str:
    return f"Synthetic Spectrogram {index} ({sweep} chirp)"


def render_figure_png(
    values: np.ndarray, index: int, sweep: str, *, compress_level: int = DEFAULT_COMPRESS_LEVEL
) -> bytes:
    """PNG bytes of `values` [freq, time] drawn as ChirpLoc100K figure number `index`.

    The layout is the public generator's exactly (640 x 480 px, viridis, colour
    limits at the image's min and max, title "Synthetic Spectrogram {index}
    ({sweep} chirp)"). The same inputs give the same bytes: the only PNG
    metadata are matplotlib's Software tag and the 100 dpi resolution. Safe to
    call from several threads (each draws on its own figure).
    """
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ChirpLocIOError(f"values: expected a 2-D [freq, time] array, got shape {arr.shape}; pass one spectrogram")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ChirpLocIOError(f"values: expected real numbers, got dtype {arr.dtype}; pass magnitudes as floats")
    if not np.isfinite(arr).all():
        raise ChirpLocIOError("values: contain NaN or infinity; replace them (e.g. np.nan_to_num) before drawing")
    if isinstance(index, bool) or int(index) != index:
        raise ChirpLocIOError(f"index: expected a whole image number, got {index!r}")
    if not 0 <= int(compress_level) <= 9:
        raise ChirpLocIOError(f"compress_level: expected 0..9 (zlib), got {compress_level!r}")
    try:
        word = normalize_sweep(sweep)
    except ValueError as err:
        raise ChirpLocIOError(f"sweep: {err}") from None
    return _renderer().png(arr, _title(int(index), word), int(compress_level))


# --------------------------------------------------------------------------- loading


def _describe(source: ImageSource) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"image data ({len(source)} bytes)"
    if isinstance(source, np.ndarray):
        return f"image array of shape {source.shape}"
    return str(source)


def _open(source: ImageSource, name: str):
    """A fully loaded PIL image, or ChirpLocIOError saying what is wrong with the file."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, (bytes, bytearray, memoryview)):
        stream, opened = io.BytesIO(bytes(source)), None
    else:
        path = Path(source)
        if not path.exists():
            raise ChirpLocIOError(f"{name}: no such file; check the path")
        if path.is_dir():
            raise ChirpLocIOError(f"{name}: is a folder, not an image; pass a PNG or JPEG file")
        try:
            stream = opened = open(path, "rb")
        except OSError as err:
            raise ChirpLocIOError(f"{name}: cannot be opened ({err.strerror or err}); check its permissions") from None
    try:
        try:
            picture = Image.open(stream)
            picture.load()
        except UnidentifiedImageError:
            raise ChirpLocIOError(f"{name}: not a PNG or JPEG image; pass a PNG or JPEG file") from None
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            detail = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ChirpLocIOError(
                f"{name}: the image data is truncated or corrupt ({detail}); write or download the file again"
            ) from None
        except Image.DecompressionBombError:
            raise ChirpLocIOError(f"{name}: the image is implausibly large for a spectrogram; pass a smaller image") from None
    finally:
        if opened is not None:
            opened.close()
    return picture


def _array_to_rgb(arr: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or min(arr.shape[:2]) < 2:
        raise ChirpLocIOError(f"{name}: expected an image array [height, width, 3 or 4]; pass RGB(A) pixels")
    if arr.dtype != np.uint8:
        scaled = np.asarray(arr, dtype=np.float64)
        if not np.isfinite(scaled).all():
            raise ChirpLocIOError(f"{name}: contains NaN or infinity; pass finite pixel values")
        if scaled.max(initial=0.0) <= 1.0:
            scaled = scaled * 255.0
        arr = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if arr.shape[2] == 4:
        if (arr[..., 3] < 255).any():  # composite over white, as the figure's page is
            alpha = arr[..., 3:4].astype(np.float32) / 255.0
            arr = np.rint(arr[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
        else:
            arr = arr[..., :3]
    return np.ascontiguousarray(arr)


def _load_rgb(source: ImageSource) -> tuple[np.ndarray, str]:
    """uint8 [H, W, 3] pixels of the source and a name for messages."""
    name = _describe(source)
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, name), name
    return _load_rgb_from_picture(_open(source, name), name), name


# --------------------------------------------------------------------------- viridis


class _ViridisTable:
    """Nearest viridis entry (0..255) and its distance for every RGB colour.

    A 64^3 table of quantised colours gives the entry to within about 1 % of
    the colour bar; the colours matplotlib writes for the 256 entries
    themselves (truncated or rounded to bytes) are recognised exactly.
    """

    def __init__(self) -> None:
        from matplotlib import colormaps
        from scipy.spatial import cKDTree

        self.lut = colormaps["viridis"](np.arange(256))[:, :3] * 255.0
        centres = (np.arange(_Q) + 0.5) * (256 / _Q) - 0.5
        grid = np.stack(np.meshgrid(centres, centres, centres, indexing="ij"), axis=-1).reshape(-1, 3)
        distance, nearest = cKDTree(self.lut).query(grid)
        self.index = nearest.astype(np.uint8)
        self.distance = np.minimum(np.rint(distance), 255).astype(np.uint8)
        # The entries' own byte colours, in a small collision-free hash table (packed RGB % size).
        exact: dict[int, int] = {}
        for colours in (np.rint(self.lut), np.floor(self.lut)):  # rounded first: truncated wins a clash
            for k, (r, g, b) in enumerate(colours.astype(np.int64).tolist()):
                exact[(r << 16) | (g << 8) | b] = k
        keys = np.array(list(exact), dtype=np.int64)
        size = 4 * keys.size
        while np.unique(keys % size).size < keys.size:
            size += 1
        self.hash_keys = np.full(size, -1, dtype=np.int32)
        self.hash_index = np.zeros(size, dtype=np.uint8)
        self.hash_keys[keys % size] = keys
        self.hash_index[keys % size] = list(exact.values())

    def lookup(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(intensity in [0, 1] as float32, distance to viridis as uint8) per pixel of uint8 [..., 3]."""
        q = rgb >> _Q_SHIFT
        key = (q[..., 0].astype(np.int32) * _Q + q[..., 1]) * _Q + q[..., 2]
        index, distance = self.index[key], self.distance[key]
        packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
        slot = packed % self.hash_keys.size
        hit = self.hash_keys[slot] == packed
        index = np.where(hit, self.hash_index[slot], index)
        distance = np.where(hit, np.uint8(0), distance)
        return index.astype(np.float32) / 255.0, distance


_table_lock = threading.Lock()
_table: _ViridisTable | None = None


def _viridis() -> _ViridisTable:
    global _table
    if _table is None:
        with _table_lock:
            if _table is None:
                _table = _ViridisTable()
    return _table


# --------------------------------------------------------------------------- geometry


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return list(zip(change[::2].tolist(), change[1::2].tolist()))


def _find_boxes(near: np.ndarray) -> tuple[tuple[float, float, float, float], list[tuple[int, int]]] | None:
    """The data area's pixel edges (x0, y0, x1, y1) and all column runs of viridis, or None.

    The data area is the widest band of columns that are mostly viridis (the
    colour bar is the narrow one to its right), cut to its longest band of
    mostly viridis rows. A dark frame line (the axes spine) just outside the
    band on the left or top marks the true edge, which matplotlib puts on the
    spine's pixel.
    """
    height, width = near.shape
    counts = near.sum(axis=0)
    if counts.max(initial=0) < 0.2 * height:
        return None
    col_runs = [r for r in _runs(counts >= 0.5 * counts.max()) if r[1] - r[0] >= 2]
    if not col_runs:
        return None
    cx0, cx1 = max(col_runs, key=lambda r: r[1] - r[0])
    if cx1 - cx0 < 0.2 * width:
        return None
    row_runs = _runs(near[:, cx0:cx1].mean(axis=1) >= 0.5)
    if not row_runs:
        return None
    ry0, ry1 = max(row_runs, key=lambda r: r[1] - r[0])
    if ry1 - ry0 < 0.2 * height:
        return None
    return (float(cx0), float(ry0), float(cx1), float(ry1)), col_runs


def _data_edges(box: tuple[float, float, float, float], rgb: np.ndarray) -> tuple[float, float, float, float]:
    """Pixel edges of the data area from its band of viridis pixels.

    A dark frame line (the axes spine) just left of or above the band sits on
    the true edge. If the result is within 1.5 px of the public layout's
    (sub-pixel) box at this image size, that exact box is used instead.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    height, width = rgb.shape[:2]
    def dark(pixels: np.ndarray) -> bool:
        return bool((pixels.max(axis=-1) < 100).mean() >= 0.5)

    left = x0 - 1 if x0 >= 1 and dark(rgb[y0:y1, x0 - 1]) else x0
    top = y0 - 1 if y0 >= 1 and dark(rgb[y0 - 1, x0:x1]) else y0
    found = np.array([left, top, x1, y1], dtype=np.float64)
    scale = np.array([width / FIGURE_SIZE_PX[0], height / FIGURE_SIZE_PX[1]] * 2)
    layout = np.array(DATA_BOX_PX) * scale
    if np.abs(found - layout).max() <= 1.5 * max(1.0, scale.max()):
        found = layout
    return tuple(float(v) for v in found)


def _overlap(lo: float, hi: float, cells: int, first_pixel: int, pixels: int, core: float = 1.0):
    """Sparse [cells, pixels]: how much of each pixel (pixel i spans [i, i+1)) lies in the
    central `core` fraction of each of `cells` equal cells tiling [lo, hi)."""
    from scipy.sparse import csr_matrix

    width = (hi - lo) / cells
    centre = lo + width * (np.arange(cells) + 0.5)
    a, b = centre - core * width / 2, centre + core * width / 2
    first = np.clip(np.floor(a).astype(np.int64) - first_pixel, 0, pixels - 1)
    span = int(np.ceil(core * width)) + 2
    cols = np.minimum(first[:, None] + np.arange(span)[None, :], pixels - 1)
    start = (first_pixel + cols).astype(np.float64)
    length = np.clip(np.minimum(b[:, None], start + 1) - np.maximum(a[:, None], start), 0, None)
    length[:, 1:][cols[:, 1:] == cols[:, :-1]] = 0  # pixels repeated by the clamp at the end
    rows = np.broadcast_to(np.arange(cells)[:, None], cols.shape)
    return csr_matrix((length.ravel(), (rows.ravel(), cols.ravel())), shape=(cells, pixels))


def _area_average(
    values: np.ndarray,
    weight: np.ndarray | None,
    box: tuple[float, float, float, float],
    grid: tuple[int, int],
    core: float = 1.0,
) -> np.ndarray:
    """values (pixels, top row first) averaged over the central `core` fraction (per axis) of
    each cell of `grid` [rows, cols] tiling box (x0, y0, x1, y1), pixels weighted by `weight`
    (a cell with no weight at all is averaged unweighted)."""
    x0, y0, x1, y1 = box
    px0, py0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    px1, py1 = min(int(np.ceil(x1)), values.shape[1]), min(int(np.ceil(y1)), values.shape[0])
    v = values[py0:py1, px0:px1].astype(np.float64)
    wy = _overlap(y0, y1, grid[0], py0, py1 - py0, core)
    wx = _overlap(x0, x1, grid[1], px0, px1 - px0, core)

    def pool(a: np.ndarray) -> np.ndarray:
        return np.asarray((wx @ (wy @ a).T).T)

    if weight is None:
        return (pool(v) / pool(np.ones_like(v))).astype(np.float32)
    w = weight[py0:py1, px0:px1].astype(np.float64)
    num, den = pool(v * w), pool(w)
    empty = den <= 1e-9
    out = num / np.where(empty, 1.0, den)
    if empty.any():
        out = np.where(empty, pool(v) / pool(np.ones_like(v)), out)
    return out.astype(np.float32)


# --------------------------------------------------------------------------- reading


def _check_grid(grid, what: str = "grid") -> tuple[int, int]:
    try:
        rows, cols = (int(g) for g in grid)
        ok = rows >= 2 and cols >= 2 and (rows, cols) == tuple(grid)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ChirpLocIOError(f"{what}: expected (freq bins, time bins), each at least 2, got {grid!r}")
    return rows, cols


def read_figure(source: ImageSource, grid: tuple[int, int] = GRID) -> Spectrogram:
    """The spectrogram in a ChirpLoc100K-style figure (PNG/JPEG path, bytes or RGB(A) array).

    Works on figures written by the public generator or by `render_figure_png`
    (at any size or dpi). Values are intensities in [0, 1] (the figure's colour
    limits are per image, so the original scale is not recoverable), on the
    60 s x 100 Hz plane, averaged over each cell of `grid` (freq, time).
    """
    rgb, name = _load_rgb(source)
    grid = _check_grid(grid)
    intensity, distance = _viridis().lookup(rgb)
    near = distance <= _VIRIDIS_NEAR
    found = _find_boxes(near)
    if found is None:
        raise ChirpLocIOError(
            f"{name}: no viridis data area found; pass a whole ChirpLoc100K figure, or give a bare spectrogram "
            "image its axes (--time-range and --freq-range on the command line; read_image in Python)"
        )
    box = _data_edges(found[0], rgb)
    # matplotlib smooths the borders between cells as it scales the image up, so
    # each cell is read from the pixels of its central half (per axis) when a
    # cell spans a few pixels; smaller cells are averaged whole.
    cell_px = min((box[2] - box[0]) / grid[1], (box[3] - box[1]) / grid[0])
    core = _CELL_CORE if cell_px >= 2.0 else 1.0
    values = _area_average(intensity, near, box, grid, core=core)[::-1]
    return Spectrogram.from_ranges(np.ascontiguousarray(values), TIME_RANGE_S, FREQ_RANGE_HZ)


def _gray_values(picture) -> np.ndarray | None:
    """Intensities in [0, 1] of a single-channel PIL image, or None if it has colour."""
    mode = picture.mode
    if mode in ("L", "1"):
        return np.asarray(picture.convert("L"), dtype=np.float32) / 255.0
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(picture, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        return (arr / top).astype(np.float32)
    if mode == "F":
        return np.asarray(picture, dtype=np.float32)
    return None


def read_image(
    source: ImageSource,
    time_range_s: tuple[float, float],
    freq_range_hz: tuple[float, float],
    grid: tuple[int, int] | None = None,
) -> Spectrogram:
    """A bare spectrogram image (its whole area is the plane, top row = highest frequency).

    A viridis-coloured image is inverted to intensities in [0, 1]; any other is
    read as luminance (grey levels as they are). `time_range_s` and
    `freq_range_hz` are the plane's outer edges; `grid` (freq bins, time bins),
    if given, averages the pixels over each cell, else every pixel is a bin.
    """
    name = _describe(source)
    for what, rng in (("time_range_s", time_range_s), ("freq_range_hz", freq_range_hz)):
        try:
            lo, hi = (float(v) for v in rng)
            ok = np.isfinite([lo, hi]).all() and hi > lo
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ChirpLocIOError(f"{what}: expected (low, high) with high > low, got {rng!r}")
    gray = None
    if isinstance(source, np.ndarray) and source.ndim == 2:
        gray = np.asarray(source, dtype=np.float32)
        if source.dtype == np.uint8:
            gray = gray / 255.0
        elif source.dtype == np.uint16:
            gray = gray / 65535.0
        if not np.isfinite(gray).all() or min(gray.shape) < 2:
            raise ChirpLocIOError(f"{name}: expected finite values and at least 2 x 2 pixels")
    elif isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source, name)
    else:
        picture = _open(source, name)
        gray = _gray_values(picture)
        rgb = None if gray is not None else _load_rgb_from_picture(picture, name)
    if gray is None:
        intensity, distance = _viridis().lookup(rgb)
        if (distance <= _VIRIDIS_STRICT).mean() >= 0.9:
            gray = intensity
        else:
            gray = (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)) / 255.0
    height, width = gray.shape
    if grid is not None:
        gray = _area_average(gray, None, (0.0, 0.0, float(width), float(height)), _check_grid(grid))
    values = np.ascontiguousarray(gray[::-1], dtype=np.float32)
    return Spectrogram.from_ranges(values, tuple(time_range_s), tuple(freq_range_hz))


def _load_rgb_from_picture(picture, name: str) -> np.ndarray:
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        return _array_to_rgb(np.asarray(picture.convert("RGBA")), name)
    return np.asarray(picture.convert("RGB"))


def is_chirploc100k_figure(image: ImageSource) -> bool:
    """Whether the image looks like a whole ChirpLoc100K figure (not a bare spectrogram).

    True for a 4:3 picture with a white margin, a viridis data area where the
    public layout puts it, and a viridis colour bar to its right; the size may
    differ from 640 x 480 (another dpi) but not the proportions. An unreadable
    file raises ChirpLocIOError.
    """
    rgb, _ = _load_rgb(image)
    height, width = rgb.shape[:2]
    if height < 96 or abs(width / height - 4 / 3) > 0.04:
        return False
    white = rgb.min(axis=2) >= 235
    band = max(2, int(0.04 * min(width, height)))
    margin = np.concatenate([white[:band].ravel(), white[-band:].ravel(), white[:, :band].ravel(), white[:, -band:].ravel()])
    if margin.mean() < 0.85:
        return False
    _, distance = _viridis().lookup(rgb)
    near = distance <= _VIRIDIS_NEAR
    found = _find_boxes(near)
    if found is None:
        return False
    (x0, y0, x1, y1), col_runs = found
    expected = np.array(DATA_BOX_PX) / np.array([FIGURE_SIZE_PX[0], FIGURE_SIZE_PX[1]] * 2)
    got = np.array([x0, y0, x1, y1]) / np.array([width, height] * 2)
    if np.abs(got - expected).max() > 0.03:
        return False
    if near[int(y0):int(y1), int(x0):int(x1)].mean() < 0.95:
        return False
    colour_bar = [r for r in col_runs if r[0] > x1 and r[1] - r[0] <= 0.1 * width]
    return bool(colour_bar)


__all__ = [
    "DATA_BOX_PX", "DEFAULT_COMPRESS_LEVEL", "FIGURE_DPI", "FIGURE_SIZE_PX", "FREQ_RANGE_HZ", "GRID",
    "TIME_RANGE_S", "is_chirploc100k_figure", "read_figure", "read_image", "render_figure_png",
]
