"""ChirpLoc100K figures and folders: written in the public layout, read back faithfully."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from chirploc.io import ChirpLocIOError
from chirploc.io.chirploc100k import (
    LABEL_COLUMNS,
    LABELS_HEADER,
    SCENE_NAME,
    ChirpLoc100KFolder,
    format_label_row,
    read_labels_csv,
)
from chirploc.io.figure import (
    DATA_BOX_PX,
    _find_boxes,
    _viridis,
    is_chirploc100k_figure,
    read_figure,
    read_image,
    render_figure_png,
)
from chirploc.synth import ChirpLoc100KScene
from chirploc.types import SWEEP_TYPES, Chirp


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def scenes():
    return ChirpLoc100KScene().generate(10, seed=1)


@pytest.fixture(scope="module")
def pngs(scenes):
    return [
        render_figure_png(scenes.values[i], i + 1, SWEEP_TYPES[int(scenes.labels.sweep[i, 0])])
        for i in range(len(scenes))
    ]


def write_folder(path, scenes, n):
    path.mkdir()
    rows = [LABELS_HEADER]
    for i in range(n):
        chirp = scenes.chirps(i)[0]
        (path / f"spectrogram_{i + 1}.png").write_bytes(render_figure_png(scenes.values[i], i + 1, chirp.sweep))
        rows.append(format_label_row(chirp))
    (path / "labels.csv").write_text("".join(rows))
    return path


# --------------------------------------------------------------------------- figures


def test_figure_layout_and_metadata(pngs):
    picture = Image.open(io.BytesIO(pngs[0]))
    assert picture.format == "PNG" and picture.size == (640, 480) and picture.mode == "RGBA"
    assert set(picture.info) <= {"Software", "dpi"}  # no time stamp
    assert picture.info["Software"].startswith("Matplotlib version")
    rgba = np.asarray(picture)
    assert (rgba[..., 3] == 255).all()
    found = _find_boxes(_viridis().lookup(rgba[..., :3])[1] <= 40)
    assert found is not None
    x0, y0, x1, y1 = found[0]  # the band of viridis pixels inside the frame
    assert abs(x0 - 81) <= 2 and abs(y0 - 59) <= 2 and abs(x1 - 477) <= 2 and abs(y1 - 427) <= 2
    assert DATA_BOX_PX == (80.0, 57.6, 476.8, 427.2)


def test_render_is_deterministic_and_thread_safe(scenes, pngs):
    v = scenes.values[3]
    assert render_figure_png(v, 4, SWEEP_TYPES[int(scenes.labels.sweep[3, 0])]) == pngs[3]
    assert render_figure_png(v, 5, "linear") != render_figure_png(v, 5, "exponential")  # the title differs
    out: dict[int, bytes] = {}

    def work(i: int) -> None:
        out[i] = render_figure_png(scenes.values[i], i + 1, SWEEP_TYPES[int(scenes.labels.sweep[i, 0])])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(out[i] == pngs[i] for i in range(4))


def test_render_rejects_bad_values():
    with pytest.raises(ChirpLocIOError, match="values"):
        render_figure_png(np.zeros(5), 1, "linear")
    with pytest.raises(ChirpLocIOError, match="NaN"):
        render_figure_png(np.full((4, 4), np.nan), 1, "linear")
    with pytest.raises(ChirpLocIOError, match="sweep"):
        render_figure_png(np.zeros((4, 4)), 1, "zigzag")


def test_round_trip(scenes, pngs):
    rs = []
    for i, png in enumerate(pngs):
        spec = read_figure(png)
        assert spec.values.shape == (128, 128)
        assert 0.0 <= spec.values.min() and spec.values.max() <= 1.0
        np.testing.assert_allclose(spec.times_s, scenes.times_s)
        np.testing.assert_allclose(spec.freqs_hz, scenes.freqs_hz)
        rs.append(pearson(spec.values, scenes.values[i]))
    assert min(rs) >= 0.99, rs


def test_recognises_figures(scenes, pngs, tmp_path):
    assert is_chirploc100k_figure(pngs[0])
    path = tmp_path / "figure.png"
    path.write_bytes(pngs[0])
    assert is_chirploc100k_figure(path)
    assert is_chirploc100k_figure(np.asarray(Image.open(path)))
    # a bare viridis spectrogram, a blank page and noise are not figures
    v = scenes.values[0]
    bare = (_viridis().lut[np.rint((v - v.min()) / np.ptp(v) * 255).astype(int)[::-1]]).astype(np.uint8)
    assert not is_chirploc100k_figure(bare)
    assert not is_chirploc100k_figure(np.full((480, 640, 3), 255, np.uint8))
    assert not is_chirploc100k_figure(np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8))
    with pytest.raises(ChirpLocIOError, match="no viridis data area"):
        read_figure(np.full((480, 640, 3), 255, np.uint8))


def test_read_image_viridis_and_grey(scenes):
    v = scenes.values[2]
    norm = (v - v.min()) / np.ptp(v)
    bare = (_viridis().lut[np.floor(norm * 255.999).astype(int)[::-1]]).astype(np.uint8)  # top row = high freq
    buf = io.BytesIO()
    Image.fromarray(bare).resize((256, 256), Image.NEAREST).save(buf, format="png")
    spec = read_image(buf.getvalue(), (0, 60), (0, 100), grid=(128, 128))
    assert spec.values.shape == (128, 128) and pearson(spec.values, v) > 0.999
    np.testing.assert_allclose(spec.times_s, scenes.times_s)
    grey = np.rint(norm[::-1] * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="png")
    spec = read_image(buf.getvalue(), (10, 20), (0, 50))
    assert spec.values.shape == (128, 128) and pearson(spec.values, v) > 0.999
    assert spec.time_range_s == pytest.approx((10, 20)) and spec.freq_range_hz == pytest.approx((0, 50))


# --------------------------------------------------------------------------- labels and folders


def test_format_label_row_matches_public_lines():
    chirp = Chirp(24.696607676729613, 11.012651129213873, 60.276337607164386, 62.9693285869782, "exponential")
    assert format_label_row(chirp) == "24.696607676729613,60.276337607164386,62.9693285869782,11.012651129213873,exponential\n"
    assert format_label_row(Chirp(3.0, 2.5, 99.5, 100.0, "linear")) == "3.0,99.5,100.0,2.5,linear\n"
    assert LABELS_HEADER == ",".join(LABEL_COLUMNS) + "\n"
    assert LABELS_HEADER == "Chirp_Start_Time,Chirp_Start_Freq,Chirp_End_Freq,Chirp_Duration,Chirp_Type\n"


def test_folder_round_trip(scenes, tmp_path):
    folder = ChirpLoc100KFolder(write_folder(tmp_path / "set", scenes, 4))
    assert len(folder) == 4 and folder.image_path(2).name == "spectrogram_3.png"
    for name in ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz", "sweep"):
        np.testing.assert_array_equal(getattr(folder.labels, name), getattr(scenes.labels, name)[:4, :1])
    spec, chirp = folder[1]
    assert chirp == scenes.chirps(1)[0]
    assert pearson(spec.values, scenes.values[1]) >= 0.99
    batch = folder.load()
    assert batch.values.shape == (4, 128, 128) and batch.values.dtype == np.float32
    assert batch.scene == SCENE_NAME and np.isnan(batch.noise_level).all()
    np.testing.assert_allclose(batch.times_s, scenes.times_s)
    assert all(pearson(batch.values[i], scenes.values[i]) >= 0.99 for i in range(4))
    part = folder.load([3, 0])
    np.testing.assert_array_equal(part.values[0], batch.values[3])
    assert part.chirps(0) == scenes.chirps(3)


def test_labels_csv_words_and_extra_columns(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(",Chirp_Type,Chirp_Start_Time,Chirp_Start_Freq,Chirp_End_Freq,Chirp_Duration\n"
                    "0,logarithmic,1.5,20.0,40.0,3.0\n1,linear,2.5,30.0,10.0,4.0\n\n")
    table = read_labels_csv(path)
    assert len(table) == 2 and table.chirps(0)[0] == Chirp(1.5, 3.0, 20.0, 40.0, "exponential")
    assert table.chirps(1)[0] == Chirp(2.5, 4.0, 30.0, 10.0, "linear")


# --------------------------------------------------------------------------- bad inputs


def test_truncated_png(pngs, tmp_path):
    path = tmp_path / "spectrogram_1.png"
    path.write_bytes(pngs[0][: len(pngs[0]) // 2])
    with pytest.raises(ChirpLocIOError, match="spectrogram_1.png.*truncated"):
        read_figure(path)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture\n")
    with pytest.raises(ChirpLocIOError, match="notes.png.*not a PNG or JPEG"):
        read_figure(path)
    with pytest.raises(ChirpLocIOError, match="nowhere.png.*no such file"):
        read_figure(tmp_path / "nowhere.png")
    with pytest.raises(ChirpLocIOError, match="notes.png"):
        read_image(path, (0, 60), (0, 100))


def test_labels_missing_a_column(scenes, tmp_path):
    folder = write_folder(tmp_path / "set", scenes, 2)
    lines = (folder / "labels.csv").read_text().splitlines()
    cut = [",".join(line.split(",")[:2] + line.split(",")[3:]) for line in lines]  # drop Chirp_End_Freq
    (folder / "labels.csv").write_text("\n".join(cut) + "\n")
    with pytest.raises(ChirpLocIOError, match=r"labels\.csv: missing column Chirp_End_Freq") as err:
        ChirpLoc100KFolder(folder)
    assert "\n" not in str(err.value)


def test_fewer_rows_than_images(scenes, tmp_path):
    folder = write_folder(tmp_path / "set", scenes, 3)
    lines = (folder / "labels.csv").read_text().splitlines(keepends=True)
    (folder / "labels.csv").write_text("".join(lines[:2]))  # header and one row
    with pytest.raises(ChirpLocIOError, match=r"labels\.csv: has 1 rows but the folder has 3 images, so images 2-3 have no row"):
        ChirpLoc100KFolder(folder)
    (folder / "labels.csv").write_text("".join(lines[:3]))
    with pytest.raises(ChirpLocIOError, match=r"so image 3 has no row"):
        ChirpLoc100KFolder(folder)


def test_more_rows_than_images_warns_and_reads_the_paired_ones(scenes, tmp_path):
    folder = write_folder(tmp_path / "set", scenes, 3)
    (folder / "spectrogram_3.png").unlink()
    with pytest.warns(UserWarning, match=r"has 3 rows but the folder has 2 images; row 3 is ignored"):
        assert len(ChirpLoc100KFolder(folder)) == 2


def test_missing_labels_and_gaps(scenes, tmp_path):
    folder = write_folder(tmp_path / "set", scenes, 3)
    (folder / "spectrogram_2.png").unlink()
    with pytest.raises(ChirpLocIOError, match="gaps.*i = 2"):
        ChirpLoc100KFolder(folder)
    (folder / "labels.csv").unlink()
    with pytest.raises(ChirpLocIOError, match=r"labels\.csv: missing"):
        ChirpLoc100KFolder(folder)


# --------------------------------------------------------------------------- the public generator


def test_matches_public_generator(tmp_path):
    """Figures and rows of chirp-spectrogram-generator 0.1.6 (if installed): the same
    bytes from our renderer at matplotlib's compression, labels read back exactly."""
    import matplotlib

    matplotlib.use("Agg")
    generator_module = pytest.importorskip("chirp_spectrogram_generator")
    generator = generator_module.SpectrogramGenerator(output_dir=str(tmp_path / "public"))
    made = []
    original = generator.create_spectrogram_with_chirp

    def capture(*args, **kwargs):
        made.append((original(*args, **kwargs), args))
        return made[-1][0]

    generator.create_spectrogram_with_chirp = capture
    state = np.random.get_state()
    np.random.seed(11)
    try:
        generator.generate_dataset(3)
    finally:
        np.random.set_state(state)
    folder = ChirpLoc100KFolder(tmp_path / "public")
    assert len(folder) == 3
    for k, (values, (t0, f0, f1, d, sweep)) in enumerate(made):
        public_png = folder.image_path(k).read_bytes()
        assert is_chirploc100k_figure(public_png)
        assert render_figure_png(values, k + 1, sweep, compress_level=6) == public_png
        assert pearson(read_figure(public_png).values, values) >= 0.99
        assert folder.chirp(k) == Chirp(float(t0), float(d), float(f0), float(f1), sweep)
        assert format_label_row(folder.chirp(k)) == (tmp_path / "public" / "labels.csv").read_text().splitlines(True)[k + 1]
