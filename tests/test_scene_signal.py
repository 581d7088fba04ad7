"""The signal scene: real chirps in 1/f noise, and the STFT users run on their own recordings."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from chirploc.synth import BLOCK, SCENES, get_scene, spectrogram_of_signal
from chirploc.synth.signal import SignalScene, _chirp_phase
from chirploc.types import SWEEP_TYPES, Chirp, SceneBatch

QUIET = dict(line_noise_prob=0.0)


def whitened(values: np.ndarray) -> np.ndarray:
    """dB above each row's median: flattens the 1/f slope so ridges stand out at every frequency."""
    return values - np.median(values, axis=-1, keepdims=True)


def ridge_contrast(batch: SceneBatch, i: int, chirp) -> float:
    """Mean dB above the row median along `chirp`'s path, over frames well inside it."""
    t = batch.times_s
    lo, hi = chirp.start_time_s + 0.1 * chirp.duration_s, chirp.end_time_s - 0.1 * chirp.duration_s
    f = chirp.frequency_at(t)
    k = np.nonzero((t - 0.5 >= lo) & (t + 0.5 <= hi) & (f > 1) & (f < 126))[0]
    assert k.size, "test chirp too short for the check"
    return float(np.mean(whitened(batch.values[i])[np.rint(f[k]).astype(int), k]))


@pytest.fixture(scope="module")
def loud() -> SceneBatch:
    return SignalScene(snr_db=(25.0, 25.0), **QUIET).generate(BLOCK, seed=5)


def test_registered_and_config_reproduces_the_data() -> None:
    assert SCENES["signal"] is SignalScene
    scene = get_scene("signal", max_chirps=2, snr_db=[0, 10], sweeps=["logarithmic", "linear"])
    config = scene.config()
    assert config["scene"] == "signal" and config["sweeps"] == ["exponential", "linear"]
    for key in ("fs_hz", "window_s", "nperseg", "hop", "duration_s", "freq_hz", "snr_db", "noise_alpha",
                "line_noise_prob", "line_noise_db", "line_freqs_hz", "taper", "min_chirps", "max_chirps"):
        assert key in config
    params = {k: v for k, v in config.items() if k != "scene"}
    again = get_scene(config["scene"], **params)
    assert again.config() == config
    a, b = scene.generate(3, seed=1), again.generate(3, seed=1)
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.labels.start_freq_hz, b.labels.start_freq_hz)


def test_grid_is_128_by_128_with_true_axes(loud) -> None:
    scene = SignalScene()
    assert loud.values.shape == (BLOCK, 128, 128) and loud.values.dtype == np.float32
    assert np.isfinite(loud.values).all()
    np.testing.assert_allclose(loud.times_s, (np.arange(128) + 0.5) * 0.25)
    np.testing.assert_allclose(loud.freqs_hz, np.arange(128.0))
    np.testing.assert_array_equal(scene.times_s, loud.times_s)
    np.testing.assert_array_equal(scene.freqs_hz, loud.freqs_hz)
    spec = loud.spectrogram(0)
    assert spec.time_range_s == pytest.approx((0.0, 32.0))
    assert spec.freq_range_hz == pytest.approx((-0.5, 127.5))
    assert loud.scene == "signal"


def test_same_seed_same_scenes_for_any_thread_count() -> None:
    scene = SignalScene(max_chirps=2, min_chirps=0)
    one = scene.generate(300, seed=3, threads=1)
    two = scene.generate(300, seed=3, threads=2)
    assert np.array_equal(one.values, two.values)
    assert np.array_equal(one.noise_level, two.noise_level)
    for name in one.labels.FIELDS:
        assert np.array_equal(getattr(one.labels, name), getattr(two.labels, name))
    part = scene.generate(5, seed=3, start=290)
    assert np.array_equal(part.values, one.values[290:295])
    assert not np.array_equal(scene.generate(2, seed=4).values, one.values[:2])


def test_labels_within_their_ranges() -> None:
    scene = SignalScene()
    batch = scene.generate(2 * BLOCK, seed=11)
    lab = batch.labels
    assert lab.present.all() and lab.max_chirps == 1
    t0, d, f0, f1 = (x[:, 0] for x in (lab.start_time_s, lab.duration_s, lab.start_freq_hz, lab.end_freq_hz))
    assert d.min() >= 2 and d.max() <= 12 and t0.min() >= 0 and (t0 + d).max() <= 32
    assert f0.min() >= 2 and f0.max() <= 100 and f1.min() >= 2 and f1.max() <= 100
    assert 0.3 < np.mean(f1 > f0) < 0.7, "sweeps go up and down"
    assert set(np.unique(lab.sweep[:, 0])) == set(range(len(SWEEP_TYPES)))
    assert batch.noise_level.min() >= 10 and batch.noise_level.max() <= 25  # SNR in dB


def test_chirp_waveform_is_scipy_chirp() -> None:
    t = np.arange(0, 6, 1 / 256)
    for code, name in enumerate(SWEEP_TYPES):
        for f0, f1 in ((7.0, 40.0), (90.0, 3.0), (20.0, 20.0)):
            method = "logarithmic" if name == "exponential" else name
            ref = scipy.signal.chirp(t, f0, 6.0, f1, method=method, phi=30.0)
            ours = np.cos(_chirp_phase(t[None], *(np.array([[v]]) for v in (6.0, f0, f1)), code) + np.pi / 6)[0]
            np.testing.assert_allclose(ours, ref, atol=1e-9, err_msg=f"{name} {f0}->{f1}")


def test_noise_is_unit_variance_one_over_f_with_the_drawn_exponent() -> None:
    scene = SignalScene(min_chirps=0, max_chirps=0, **QUIET)
    waves = scene.waveforms(seed=2, block_index=0)
    assert waves.samples.shape == (BLOCK, 8192) and waves.fs_hz == 256.0
    assert not waves.labels.present.any() and (waves.line_hz == 0).all()
    assert waves.samples.var(axis=1).mean() == pytest.approx(1.0, rel=0.05)
    spec = scene.block(seed=2, block_index=0)
    f = spec.freqs_hz
    band = (f >= 4) & (f <= 100)
    mean_db = spec.values[:, band, :].mean(axis=-1)
    slopes = np.polyfit(10 * np.log10(f[band]), mean_db.T, 1)[0]  # dB per dB: -alpha
    error = np.abs(-slopes - waves.alpha)
    assert error.max() < 0.15 and error.mean() < 0.05, (error.max(), error.mean())
    assert 1 <= waves.alpha.min() and waves.alpha.max() <= 2


def test_line_noise_is_a_50_or_60_hz_line() -> None:
    scene = SignalScene(min_chirps=0, max_chirps=0, line_noise_prob=1.0, line_noise_db=(20, 20))
    waves = scene.waveforms(seed=1, block_index=0)
    batch = scene.block(seed=1, block_index=0)
    assert set(np.unique(waves.line_hz)) == {50.0, 60.0}
    rows = batch.values.mean(axis=-1) - np.median(batch.values, axis=(1, 2))[:, None]
    line_row = waves.line_hz.astype(int)
    contrast = rows[np.arange(BLOCK), line_row] - rows[np.arange(BLOCK), line_row - 5]
    assert contrast.min() > 10


def test_ridge_follows_the_labelled_frequency_for_every_sweep(loud) -> None:
    t = loud.times_s
    errors: dict[str, list[float]] = {name: [] for name in SWEEP_TYPES}
    for i, (spec, (chirp,)) in enumerate(loud):
        f, before, after = chirp.frequency_at(t), chirp.frequency_at(t - 0.5), chirp.frequency_at(t + 0.5)
        lo, hi = chirp.start_time_s + 0.1 * chirp.duration_s, chirp.end_time_s - 0.1 * chirp.duration_s
        # frames wholly inside the envelope's flat top, where the sweep moves < 3 Hz per window
        k = np.nonzero((t - 0.5 >= lo) & (t + 0.5 <= hi) & (np.abs(after - before) < 3) & (f > 3) & (f < 125))[0]
        peak = whitened(spec.values)[:, k].argmax(axis=0)
        errors[chirp.sweep] += list(np.abs(spec.freqs_hz[peak] - f[k]))
    for name, err in errors.items():
        err = np.asarray(err)
        assert err.size > 100, name
        assert np.mean(err <= 1.5) > 0.98 and np.median(err) < 0.5, (name, np.mean(err <= 1.5), np.median(err))


def test_ridge_starts_and_ends_at_the_labelled_times() -> None:
    """Rectangular envelope: the ridge's peak amplitude is half its plateau where the 1 s window is
    half over the chirp, i.e. when the frame centre is on the labelled start or end."""
    scene = SignalScene(snr_db=(30, 30), freq_hz=(20, 100), taper=0.0, **QUIET)
    batch = scene.generate(BLOCK, seed=4)
    t = batch.times_s
    starts, ends = [], []
    for spec, (chirp,) in batch:
        power = 10 ** (whitened(spec.values) / 10)
        path = chirp.frequency_at(np.clip(t, chirp.start_time_s + 1e-9, chirp.end_time_s - 1e-9))
        rows = np.rint(path).astype(int)
        amp = np.sqrt(np.array([power[max(r - 3, 0) : r + 4, k].max() for k, r in enumerate(rows)]))
        inside = (t - 0.5 >= chirp.start_time_s) & (t + 0.5 <= chirp.end_time_s)
        half = np.median(amp[inside]) / 2
        above = np.nonzero(amp > half)[0]
        a, b = above[0], above[-1]
        if 0 < a and b < t.size - 1:
            starts.append(np.interp(half, amp[a - 1 : a + 1], t[a - 1 : a + 1]) - chirp.start_time_s)
            ends.append(np.interp(half, amp[b : b + 2][::-1], t[b : b + 2][::-1]) - chirp.end_time_s)
    starts, ends = np.asarray(starts), np.asarray(ends)
    assert starts.size > 200
    for err in (starts, ends):
        assert np.mean(np.abs(err) < 0.3) > 0.97 and abs(np.median(err)) < 0.08, (np.median(err), np.abs(err).max())


def test_higher_snr_gives_higher_ridge_contrast() -> None:
    contrast = []
    for snr in (0.0, 10.0, 20.0):
        batch = SignalScene(snr_db=(snr, snr), **QUIET).generate(64, seed=8)
        assert np.all(batch.noise_level == snr)
        contrast.append(np.mean([ridge_contrast(batch, i, batch.chirps(i)[0]) for i in range(len(batch))]))
    assert contrast[0] < contrast[1] - 4 < contrast[2] - 8, contrast
    assert 13 < contrast[2] < 20, contrast  # about SNR - 2 dB above the noise, less for fast sweeps


def test_zero_one_or_two_chirps_and_no_ridge_without_one() -> None:
    batch = SignalScene(min_chirps=0, max_chirps=2, snr_db=(20, 20), **QUIET).generate(BLOCK, seed=6)
    lab = batch.labels
    assert lab.present.shape == (BLOCK, 2)
    counts = lab.present.sum(axis=1)
    assert set(np.unique(counts)) == {0, 1, 2}
    assert (lab.present[:, 1] <= lab.present[:, 0]).all(), "chirps fill the first slots"
    assert (lab.duration_s[~lab.present] == 0).all() and (lab.start_freq_hz[~lab.present] == 0).all()
    some_chirps = [c for i in np.nonzero(counts > 0)[0] for c in batch.chirps(i)]
    empty = np.nonzero(counts == 0)[0]
    # along borrowed paths, empty scenes show nothing; every real chirp shows up
    background = [ridge_contrast(batch, i, some_chirps[j]) for j, i in enumerate(empty)]
    assert np.mean(background) < 0.5 and max(background) < 6.0
    two = np.nonzero(counts == 2)[0]
    real = [ridge_contrast(batch, i, c) for i in two for c in batch.chirps(i)]
    assert np.mean(real) > 10 and np.mean(np.asarray(real) > 4) > 0.9


def test_scene_spectrogram_is_spectrogram_of_its_waveform() -> None:
    scene = SignalScene(max_chirps=2)
    waves = scene.waveforms(seed=9, block_index=1)
    batch = scene.block(seed=9, block_index=1)
    assert np.array_equal(batch.labels.start_time_s, waves.labels.start_time_s)
    assert np.array_equal(batch.noise_level, waves.snr_db)
    for i in (0, 100, 255):
        spec = spectrogram_of_signal(waves.samples[i], 256.0)
        np.testing.assert_array_equal(spec.times_s, batch.times_s)
        np.testing.assert_array_equal(spec.freqs_hz, batch.freqs_hz)
        np.testing.assert_allclose(spec.values, batch.values[i], atol=1e-4)
    np.testing.assert_allclose(waves.times_s[[0, -1]], [0.0, 8191 / 256])


def test_click_lands_in_the_frame_centred_on_it() -> None:
    x = np.zeros(8192)
    k = 40
    x[64 * k + 32] = 1.0  # (k + 0.5) * 0.25 s
    spec = spectrogram_of_signal(x, 256.0, t0_s=10.0)
    energy = (10 ** (spec.values / 10)).sum(axis=0)
    assert energy.argmax() == k
    assert energy[k - 1] == pytest.approx(energy[k + 1], rel=1e-9)
    assert spec.times_s[k] == pytest.approx(10.0 + (k + 0.5) * 0.25)


@pytest.mark.parametrize(
    "method, f0, f1", [("linear", 10.0, 90.0), ("logarithmic", 5.0, 100.0), ("quadratic", 80.0, 20.0)]
)
def test_spectrogram_of_a_500_hz_recording(method: str, f0: float, f1: float) -> None:
    fs = 500.0
    t = np.arange(int(32 * fs)) / fs
    x = 30e-6 * scipy.signal.chirp(t, f0, 32.0, f1, method=method)
    x += 1e-6 * np.random.default_rng(0).standard_normal(t.size)
    spec = spectrogram_of_signal(x, fs)
    assert spec.values.shape == (128, 128) and spec.values.dtype == np.float32
    np.testing.assert_allclose(spec.times_s, (np.arange(128) + 0.5) * 0.25, atol=1e-12)
    np.testing.assert_allclose(spec.freqs_hz, np.arange(128.0))
    truth = Chirp(0.0, 32.0, f0, f1, method).frequency_at(spec.times_s)
    peak = spec.freqs_hz[spec.values.argmax(axis=0)]
    inner = slice(2, -2)
    assert np.abs(peak[inner] - truth[inner]).max() <= 1.5


def test_spectrogram_of_signal_options() -> None:
    x = np.random.default_rng(1).standard_normal(1000)  # 1000 // 64 = 15 frames
    spec = spectrogram_of_signal(x, 256.0, max_freq_hz=50.0)
    assert spec.values.shape == (50, 15) and spec.freqs_hz[-1] == 49.0
    assert spectrogram_of_signal(x, 256.0, max_freq_hz=None).values.shape == (128, 15)
    wide = spectrogram_of_signal(x, 256.0, nperseg=128, hop=32)
    assert wide.values.shape == (64, 31) and wide.df_hz == 2.0 and wide.dt_s == 0.125
    assert spectrogram_of_signal(x.astype(np.int16), 256.0).values.shape == (128, 15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(samples=np.zeros((2, 512))), "samples"),
        (dict(samples=np.r_[np.zeros(511), np.nan]), "samples"),
        (dict(samples=np.zeros(512), fs_hz=0.0), "fs_hz"),
        (dict(samples=np.zeros(512), fs_hz=-256.0), "fs_hz"),
        (dict(samples=np.zeros(200)), "samples"),
        (dict(samples=np.zeros(900), fs_hz=1000.0), "samples"),  # 230 samples after resampling
        (dict(samples=np.zeros(512), max_freq_hz=200.0), "max_freq_hz"),
        (dict(samples=np.zeros(512), hop=63), "hop"),
    ],
)
def test_spectrogram_of_signal_rejects_bad_input(kwargs: dict, match: str) -> None:
    args = dict(fs_hz=256.0) | kwargs
    with pytest.raises(ValueError, match=match):
        spectrogram_of_signal(args.pop("samples"), args.pop("fs_hz"), **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(duration_s=(2.0, 40.0)), "duration_s"),
        (dict(duration_s=(5.0, 3.0)), "duration_s"),
        (dict(duration_s=(0.0, 3.0)), "duration_s"),
        (dict(freq_hz=(2.0, 130.0)), "freq_hz"),
        (dict(freq_hz=(-1.0, 50.0), sweeps=["linear"]), "freq_hz"),
        (dict(freq_hz=(0.0, 50.0)), "freq_hz"),  # exponential and hyperbolic need f > 0
        (dict(snr_db=(10.0, 0.0)), "snr_db"),
        (dict(noise_alpha=(2.0, 1.0)), "noise_alpha"),
        (dict(min_chirps=2, max_chirps=1), "chirps"),
        (dict(line_noise_prob=1.5), "line_noise_prob"),
        (dict(line_freqs_hz=(50.0, 200.0)), "line_freqs_hz"),
        (dict(taper=2.0), "taper"),
        (dict(sweeps=["sawtooth"]), "sweeps"),
        (dict(window_s=31.9), "window_s"),
        (dict(fs_hz=-1.0), "fs_hz"),
    ],
)
def test_impossible_scene_parameters_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match) as err:
        SignalScene(**kwargs)
    assert "\n" not in str(err.value)


def test_an_unknown_scene_parameter_is_named_beside_the_known_ones() -> None:
    from chirploc.synth import get_scene

    with pytest.raises(ValueError, match="unknown parameter 'snr' for scene signal: choose from .*snr_db"):
        get_scene("signal", snr=5)
