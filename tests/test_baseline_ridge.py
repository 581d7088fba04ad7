"""The ridge-tracking baseline: where it finds chirps, in seconds and hertz, on both kinds of plane."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.signal import chirp, spectrogram

from chirploc.baselines import RidgeTracker, estimate_ridge
from chirploc.metrics import pearson_r, roc_auc
from chirploc.synth.chirploc100k import ChirpLoc100KScene, paint_ridges
from chirploc.types import SWEEP_TYPES, ChirpTable, Spectrogram

CL100K = RidgeTracker.for_chirploc100k()


@pytest.fixture(scope="module")
def scenes():
    return ChirpLoc100KScene().generate(512, seed=11)


@pytest.fixture(scope="module")
def estimates(scenes):
    return [found[0] for found in CL100K.estimate_batch(scenes.values, scenes.times_s, scenes.freqs_hz)]


def errors(scenes, estimates) -> dict[str, np.ndarray]:
    lab = scenes.labels
    return {
        "start_time_s": np.array([e.start_time_s for e in estimates]) - lab.start_time_s[:, 0],
        "start_freq_hz": np.array([e.start_freq_hz for e in estimates]) - lab.start_freq_hz[:, 0],
        "end_freq_hz": np.array([e.end_freq_hz for e in estimates]) - lab.end_freq_hz[:, 0],
    }


def painted_scenes(table: ChirpTable, noise_sigma: float, seed: int) -> np.ndarray:
    """ChirpLoc100K's painting, noise and blur for chosen labels."""
    planes = paint_ridges(table)
    planes += noise_sigma * np.random.default_rng(seed).standard_normal(planes.shape).astype(np.float32)
    return gaussian_filter(planes, sigma=(0, 1, 1))


def one_chirp_table(t0, d, f0, f1, sweep: str) -> ChirpTable:
    n = len(t0)
    column = lambda x: np.asarray(x, dtype=np.float64).reshape(n, 1)
    return ChirpTable(
        column(t0), column(d), column(f0), column(f1),
        np.full((n, 1), SWEEP_TYPES.index(sweep), dtype=np.int8), np.ones((n, 1), dtype=bool),
    )


def test_clean_chirploc100k_chirps_are_found_to_a_second_and_a_few_hertz(scenes, estimates) -> None:
    clean = (scenes.labels.duration_s[:, 0] >= 5) & (scenes.noise_level < 0.15)
    assert clean.sum() > 50
    err = {k: np.abs(v[clean]) for k, v in errors(scenes, estimates).items()}
    assert np.median(err["start_time_s"]) < 0.3
    assert np.mean(err["start_time_s"] < 1.0) > 0.95
    for name in ("start_freq_hz", "end_freq_hz"):
        assert np.median(err[name]) < 1.0, name
        assert np.mean(err[name] < 3.0) > 0.9, name


def test_whole_chirploc100k_distribution_correlates(scenes, estimates) -> None:
    lab = scenes.labels
    truth = {
        "start_time_s": lab.start_time_s[:, 0],
        "start_freq_hz": lab.start_freq_hz[:, 0],
        "end_freq_hz": lab.end_freq_hz[:, 0],
    }
    for name, err in errors(scenes, estimates).items():
        assert pearson_r(truth[name], truth[name] + err) > 0.9, name
        assert np.median(np.abs(err)) < (0.5 if name == "start_time_s" else 1.0), name


def test_presence_separates_chirp_free_scenes(scenes, estimates) -> None:
    empty = ChirpLoc100KScene(min_chirps=0, max_chirps=0).generate(64, seed=3)
    empty_found = CL100K.estimate_batch(empty.values, empty.times_s, empty.freqs_hz)
    empty_presence = np.array([found[0].presence for found in empty_found])
    presence = np.array([e.presence for e in estimates[:128]])
    assert np.median(empty_presence) < 0.2
    assert np.median(presence) > 0.9
    assert roc_auc(np.r_[empty_presence, presence], np.r_[np.zeros(64, bool), np.ones(128, bool)]) > 0.9
    assert all(0.0 <= p <= 1.0 for p in np.r_[empty_presence, presence])
    kept = RidgeTracker.for_chirploc100k(min_presence=0.5).estimate_batch(empty.values, empty.times_s, empty.freqs_hz)
    assert sum(len(found) for found in kept) < 16


def test_exponential_sweeps_are_told_from_linear_ones_on_clean_data(scenes, estimates) -> None:
    rng = np.random.default_rng(5)
    n = 24
    t0, d, f0 = rng.uniform(5, 40, n), rng.uniform(8, 14, n), rng.uniform(5, 15, n)
    for sweep in ("exponential", "linear"):
        values = painted_scenes(one_chirp_table(t0, d, f0, f0 + 25, sweep), noise_sigma=0.1, seed=1)
        found = CL100K.estimate_batch(values, scenes.times_s, scenes.freqs_hz)
        assert np.mean([f[0].sweep == sweep for f in found]) > 0.8, sweep
    # and over the scene's own draws (many nearly straight, so only "more often than not")
    clean_exp = (scenes.labels.sweep[:, 0] == SWEEP_TYPES.index("exponential")) & (scenes.noise_level < 0.15) & (
        scenes.labels.duration_s[:, 0] >= 5
    )
    assert np.mean([estimates[i].sweep == "exponential" for i in np.nonzero(clean_exp)[0]]) > 0.5


def test_exponential_sweep_to_zero_starts_at_its_single_painted_column(scenes) -> None:
    table = one_chirp_table([20.0, 30.0], [10.0, 8.0], [25.0, 12.0], [0.0, 0.0], "exponential")
    values = painted_scenes(table, noise_sigma=0.1, seed=2)
    for est, f0, t0 in zip(CL100K.estimate_batch(values, scenes.times_s, scenes.freqs_hz), (25.0, 12.0), (20.0, 30.0)):
        assert est[0].sweep == "exponential"
        assert est[0].start_freq_hz == pytest.approx(f0, abs=1.5)
        assert est[0].start_time_s == pytest.approx(t0, abs=1.0)
        assert est[0].end_freq_hz < 1.0


def test_batch_equals_one_at_a_time_and_follows_the_axes(scenes) -> None:
    batch = CL100K.estimate_batch(scenes.values[:4], scenes.times_s, scenes.freqs_hz)
    for i in range(4):
        assert CL100K.estimate(scenes.spectrogram(i)) == batch[i]
    shifted = Spectrogram(scenes.values[0], scenes.times_s + 100.0, scenes.freqs_hz + 1000.0)
    moved = CL100K.estimate(shifted)[0]
    assert moved.start_time_s == pytest.approx(batch[0][0].start_time_s + 100.0)
    assert moved.start_freq_hz == pytest.approx(batch[0][0].start_freq_hz + 1000.0, abs=0.05)
    assert set(moved.uncertainty) == {"start_time_s", "end_time_s", "duration_s", "start_freq_hz", "end_freq_hz"}
    assert all(v > 0 for v in moved.uncertainty.values())


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="sweep"):
        RidgeTracker(sweep_types=("wobbly",))
    with pytest.raises(ValueError, match="edge_fraction"):
        RidgeTracker(edge_fraction=1.5)
    with pytest.raises(ValueError, match="values"):
        RidgeTracker().estimate_batch(np.zeros((2, 5, 5)), np.arange(6.0), np.arange(5.0))


# --- log-power STFT planes with a 1/f background, the other kind of spectrogram -------------

FS_HZ = 500.0


def stft_scene(chirps: list[tuple[float, float, float, float, str]], amplitude: float, seed: int) -> Spectrogram:
    """20 s of 1/f noise plus chirps (t0 s, duration s, f0 Hz, f1 Hz, scipy method), as log power."""
    rng = np.random.default_rng(seed)
    n = int(20 * FS_HZ)
    t = np.arange(n) / FS_HZ
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / FS_HZ)
    spectrum[1:] /= np.sqrt(freqs[1:] / freqs[1])
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    x /= x.std()
    for t0, d, f0, f1, method in chirps:
        inside = (t >= t0) & (t < t0 + d)
        x[inside] += amplitude * chirp(t[inside] - t0, f0, d, f1, method=method)
    f, frames, power = spectrogram(x, FS_HZ, nperseg=128, noverlap=96)
    return Spectrogram(np.log10(power + 1e-12), frames, f)


@pytest.mark.parametrize(
    "method, f0, f1",
    [("linear", 40.0, 160.0), ("logarithmic", 30.0, 200.0), ("quadratic", 40.0, 180.0), ("hyperbolic", 200.0, 40.0)],
)
def test_stft_chirps_are_localised_and_their_law_recognised(method: str, f0: float, f1: float) -> None:
    found = []
    for seed in range(3):
        spec = stft_scene([(4.0, 9.0, f0, f1, method)], amplitude=0.7, seed=seed)
        found.append(estimate_ridge(spec)[0])
    median_error = lambda name, truth: np.median([abs(getattr(e, name) - truth) for e in found])
    assert median_error("start_time_s", 4.0) < 0.3
    assert median_error("end_time_s", 13.0) < 0.3
    assert median_error("start_freq_hz", f0) < 3 * spec.df_hz
    assert median_error("end_freq_hz", f1) < 3 * spec.df_hz
    assert min(e.presence for e in found) > 0.9
    assert sum(e.sweep == ("exponential" if method == "logarithmic" else method) for e in found) >= 2


def test_stft_noise_alone_gets_low_presence() -> None:
    presence = [estimate_ridge(stft_scene([], 0.0, seed))[0].presence for seed in range(4)]
    assert max(presence) < 0.3


def test_two_chirps_are_both_found_with_max_chirps_2() -> None:
    spec = stft_scene([(2.0, 6.0, 40.0, 90.0, "linear"), (11.0, 6.0, 200.0, 130.0, "linear")], amplitude=0.7, seed=0)
    found = RidgeTracker(max_chirps=2).estimate(spec)
    assert len(found) == 2
    starts = sorted((e.start_time_s, e.start_freq_hz) for e in found)
    assert starts[0] == pytest.approx((2.0, 40.0), abs=3 * spec.df_hz)
    assert starts[1] == pytest.approx((11.0, 200.0), abs=3 * spec.df_hz)


def test_signal_scene_chirps_are_found_if_that_scene_exists() -> None:
    pytest.importorskip("chirploc.synth.signal")
    from chirploc.synth import SCENES, get_scene

    if "signal" not in SCENES:
        pytest.skip("the signal scene is not registered")
    batch = get_scene("signal", min_chirps=1, max_chirps=1).generate(16, seed=0)
    found = RidgeTracker().estimate_batch(batch.values, batch.times_s, batch.freqs_hz)
    t_span = batch.times_s[-1] - batch.times_s[0]
    f_span = batch.freqs_hz[-1] - batch.freqs_hz[0]
    start_err = [abs(f[0].start_time_s - batch.chirps(i)[0].start_time_s) for i, f in enumerate(found)]
    freq_err = [abs(f[0].start_freq_hz - batch.chirps(i)[0].start_freq_hz) for i, f in enumerate(found)]
    assert np.median(start_err) < 0.05 * t_span
    assert np.median(freq_err) < 0.05 * f_span
