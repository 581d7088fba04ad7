"""The chirploc100k scene checked against the published generator's behaviour (the data-set spec)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scipy.ndimage import gaussian_filter

from chirploc.synth import BLOCK, get_scene
from chirploc.synth.base import block_rng
from chirploc.synth.blur import gaussian_blur_planes
from chirploc.synth.chirploc100k import NOISE_RANGE, ChirpLoc100KScene, paint_ridges
from chirploc.types import SWEEP_TYPES, ChirpTable


@pytest.fixture(scope="module")
def big() -> "object":
    return ChirpLoc100KScene().generate(4096, seed=7)


def paint_one_by_the_spec(t0: float, d: float, f0: float, f1: float, sweep: str) -> np.ndarray:
    """The spec's painting rule, written out literally, one column at a time."""
    plane = np.zeros((128, 128))
    sb = math.floor(t0 * 128 / 60)
    eb = sb + math.floor(d * 128 / 60)
    fb0, fb1 = math.floor(f0 * 128 / 100), math.floor(f1 * 128 / 100)
    if sweep == "exponential" and fb0 == 0:
        fb0 = 1
    for t in range(sb, eb):
        tn = (t - sb) / (eb - sb)
        fb = fb0 + (fb1 - fb0) * tn if sweep == "linear" else fb0 * (fb1 / fb0) ** tn
        fb = min(max(fb, 0), 127)
        for f in range(max(0, int(fb) - 2), min(128, int(fb) + 3)):
            plane[f, t] += math.exp(-((f - fb) ** 2))
    return plane


def test_axes_are_60_s_by_100_hz_on_128_bins() -> None:
    scene = ChirpLoc100KScene()
    batch = scene.generate(3, seed=0)
    spec = batch.spectrogram(0)
    assert spec.values.shape == (128, 128)
    assert spec.time_range_s == pytest.approx((0.0, 60.0))
    assert spec.freq_range_hz == pytest.approx((0.0, 100.0))
    assert spec.dt_s == pytest.approx(0.46875)
    assert spec.df_hz == pytest.approx(0.78125)


def test_label_distributions_match_the_public_generator(big) -> None:
    lab = big.labels
    assert lab.present.all() and lab.max_chirps == 1, "one chirp per image, always"
    t0, d, f0, f1 = (x[:, 0] for x in (lab.start_time_s, lab.duration_s, lab.start_freq_hz, lab.end_freq_hz))
    assert t0.min() >= 0 and t0.max() < 45 and abs(t0.mean() - 22.5) < 0.8
    assert d.min() >= 1 and d.max() < 15 and abs(d.mean() - 8.0) < 0.3
    assert (t0 + d).max() <= 60
    assert f0.min() >= 0 and f0.max() < 100 and abs(f0.mean() - 50) < 2
    assert np.abs(f1 - f0).max() <= 30 + 1e-9
    assert 0.06 < np.mean(f1 == 0) < 0.09 and 0.06 < np.mean(f1 == 100) < 0.09
    types = lab.sweep[:, 0]
    assert set(np.unique(types)) == {SWEEP_TYPES.index("linear"), SWEEP_TYPES.index("exponential")}
    assert abs(np.mean(types == SWEEP_TYPES.index("linear")) - 0.5) < 0.03


def test_vectorised_painting_equals_the_literal_rule() -> None:
    rng = np.random.default_rng(3)
    cases = [
        (10.0, 5.0, 0.2, 25.0, "exponential"),  # start bin 0 moved to 1
        (44.9, 14.9, 99.9, 100.0, "linear"),  # ridge at the top edge, rows clipped
        (3.0, 1.0, 50.0, 20.0, "linear"),  # two columns only
        (20.0, 8.0, 40.0, 0.0, "exponential"),  # exponential to 0 Hz drops at once
    ] + [
        (rng.uniform(0, 45), rng.uniform(1, 15), f0 := rng.uniform(0, 100),
         float(np.clip(f0 + rng.uniform(-30, 30), 0, 100)), str(rng.choice(["linear", "exponential"])))
        for _ in range(40)
    ]
    table = ChirpTable(
        np.array([[c[0]] for c in cases]), np.array([[c[1]] for c in cases]),
        np.array([[c[2]] for c in cases]), np.array([[c[3]] for c in cases]),
        np.array([[SWEEP_TYPES.index(c[4])] for c in cases], dtype=np.int8),
        np.ones((len(cases), 1), dtype=bool),
    )
    painted = paint_ridges(table)
    for i, case in enumerate(cases):
        np.testing.assert_allclose(painted[i], paint_one_by_the_spec(*case), atol=1e-6, err_msg=str(case))


def test_onset_is_floor_quantised_and_ridge_stops_short_of_end_frequency() -> None:
    table = ChirpTable(
        np.array([[12.3]]), np.array([[6.0]]), np.array([[20.0]]), np.array([[40.0]]),
        np.array([[0]], dtype=np.int8), np.array([[True]]),
    )
    plane = paint_ridges(table)[0]
    columns = np.nonzero(plane.max(axis=0) > 0)[0]
    assert columns[0] == math.floor(12.3 * 128 / 60)  # drawn onset lies up to a bin before the label
    assert len(columns) == math.floor(6.0 * 128 / 60)
    last_peak_row = np.argmax(plane[:, columns[-1]])
    assert last_peak_row < math.floor(40.0 * 128 / 100)  # never reaches f1
    assert plane.max() == pytest.approx(1.0, abs=1e-6)


def test_noise_and_ridge_levels_after_smoothing(big) -> None:
    sigma = big.noise_level
    assert sigma.min() >= 0.09 and sigma.max() <= 0.3
    # far from any ridge and from the reflecting edges: rows 6-17 and 110-121 when the chirp stays in 20-80 Hz
    lab = big.labels
    lo = np.minimum(lab.start_freq_hz[:, 0], lab.end_freq_hz[:, 0])
    hi = np.maximum(lab.start_freq_hz[:, 0], lab.end_freq_hz[:, 0])
    middle = (lo > 20) & (hi < 80)
    background = np.concatenate([big.values[middle, 6:18, 6:-6], big.values[middle, 110:122, 6:-6]], axis=1)
    noise_std = background.reshape(middle.sum(), -1).std(axis=1)
    # smoothed white noise keeps 1 / (2 sqrt(pi)) of its standard deviation (sigma = 1 cell)
    ratio = noise_std / sigma[middle]
    assert np.median(ratio) == pytest.approx(1 / (2 * math.sqrt(math.pi)), rel=0.03)
    np.testing.assert_allclose(ratio, 1 / (2 * math.sqrt(math.pi)), rtol=0.2)
    assert 0.02 < noise_std.min() and noise_std.max() < 0.1  # the spec: about 0.027 to 0.087
    long_quiet = middle & (lab.duration_s[:, 0] > 5) & (sigma < 0.12)
    peaks = big.values[long_quiet].max(axis=(1, 2))
    assert 0.5 < np.median(peaks) < 0.7  # the spec measures about 0.56


def test_a_block_is_the_public_recipe_drawn_at_once_and_smoothed_by_scipy() -> None:
    """Noise for the whole block, ridges added, scipy's gaussian_filter: what the scene
    computes a few planes at a time with its own blur."""
    scene = ChirpLoc100KScene(min_chirps=0, max_chirps=2)
    rng = block_rng(5, 1)
    labels = scene.draw_labels(rng, BLOCK)
    noise = rng.uniform(*NOISE_RANGE, BLOCK)
    values = rng.standard_normal((BLOCK, 128, 128), dtype=np.float32) * noise[:, None, None].astype(np.float32)
    expected = gaussian_filter(values + paint_ridges(labels), sigma=(0, 1, 1))
    block = scene.block(5, 1)
    assert np.array_equal(block.labels.start_time_s, labels.start_time_s)
    np.testing.assert_allclose(block.values, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 4, 4), (3, 5, 131), (11, 128, 128)])
def test_fast_blur_equals_scipy_reflect_gaussian(shape) -> None:
    values = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    values[:, 0, :] += 5.0  # a strong edge row: the 'reflect' rule matters
    expected = gaussian_filter(values, sigma=(0, 1, 1))
    gaussian_blur_planes(values)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-6)


def test_same_seed_same_bits_and_slices_agree_with_longer_runs() -> None:
    scene = get_scene("chirploc100k")
    a = scene.generate(BLOCK + 20, seed=11)
    b = scene.generate(BLOCK + 20, seed=11, threads=2)
    assert np.array_equal(a.values, b.values)
    part = scene.generate(20, seed=11, start=BLOCK - 5)
    assert np.array_equal(part.values, a.values[BLOCK - 5 : BLOCK + 15])
    assert np.array_equal(part.labels.start_time_s, a.labels.start_time_s[BLOCK - 5 : BLOCK + 15])
    other = scene.generate(10, seed=12)
    assert not np.array_equal(other.values, a.values[:10])


def test_chirp_counts_zero_to_k_with_presence_labels() -> None:
    batch = ChirpLoc100KScene(min_chirps=0, max_chirps=3).generate(600, seed=1)
    counts = batch.labels.present.sum(axis=1)
    assert set(np.unique(counts)) == {0, 1, 2, 3}
    empty = batch.values[counts == 0]
    assert empty.max() < 0.5, "a chirp-free scene is noise only"
    assert batch.chirps(int(np.nonzero(counts == 0)[0][0])) == []
    assert len(batch.chirps(int(np.nonzero(counts == 3)[0][0]))) == 3


@pytest.mark.parametrize("params", [dict(min_chirps=2, max_chirps=1), dict(min_chirps=-1, max_chirps=1)])
def test_impossible_chirp_counts_are_refused(params) -> None:
    with pytest.raises(ValueError, match="chirps per scene"):
        ChirpLoc100KScene(**params)


def test_unknown_scene_and_negative_count_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scene 'nope'"):
        get_scene("nope")
    with pytest.raises(ValueError, match="-n must be a non-negative"):
        get_scene("chirploc100k").generate(-3)
