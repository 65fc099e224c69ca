"""The regime study's analysis: p-values and their correction, retention, the bootstrap's
weighted AP (equal to the devkit's on duplicated images), and the report's files."""

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from detaug.evaluation.voc import evaluate_class
from detaug.robustness.evaluation import Row
from detaug.study.regime_report import write_regime_outputs
from detaug.study.regimes import (
    RegimeCell,
    class_flags,
    primary_contrasts,
    retention,
    verdict,
    weighted_map,
)
from detaug.study.schemes import Scheme
from detaug.study.stats import benjamini_hochberg, holm, paired_difference, paired_p_value


def test_paired_p_value_is_scipys_paired_t_test():
    from scipy.stats import ttest_rel

    a, b = {0: 0.61, 1: 0.55, 2: 0.58, 3: 0.70}, {0: 0.50, 1: 0.52, 2: 0.57, 3: 0.60}
    seeds = sorted(a)
    expected = ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).pvalue
    assert paired_p_value(paired_difference(a, b)) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(paired_p_value(paired_difference({0: 1.0}, {0: 0.5})))


def test_multiplicity_corrections_keep_the_order_and_leave_nan_out():
    p = [0.001, 0.2, math.nan, 0.02, 0.04]
    bh, hm = benjamini_hochberg(p), holm(p)
    assert math.isnan(bh[2]) and math.isnan(hm[2])
    # m = 4 (the NaN is not a test): BH 0.001*4/1, 0.02*4/2, 0.04*4/3, 0.2
    assert bh[0] == pytest.approx(0.004) and bh[3] == pytest.approx(0.04) and bh[4] == pytest.approx(0.04 * 4 / 3)
    # Holm: 0.001*4, 0.02*3, 0.04*2, 0.2*1 -> step-down maximum
    assert hm == pytest.approx([0.004, 0.2, math.nan, 0.06, 0.08], nan_ok=True)
    assert all(h >= b for h, b in zip(hm, bh) if not math.isnan(h))


def _random_class(rng, n_img):
    gt_boxes, gt_diff, det_img, det_scores, det_boxes = [], [], [], [], []
    for i in range(n_img):
        g = rng.integers(0, 4)
        xy = rng.uniform(0, 80, (g, 2))
        boxes = np.hstack([xy, xy + rng.uniform(10, 30, (g, 2))])
        gt_boxes.append(boxes)
        gt_diff.append(rng.random(g) < 0.15)
        for _ in range(rng.integers(0, 6)):
            if g and rng.random() < 0.6:  # near a ground truth, sometimes a match
                b = boxes[rng.integers(0, g)] + rng.normal(0, 4, 4)
            else:
                xy = rng.uniform(0, 80, 2)
                b = np.hstack([xy, xy + rng.uniform(10, 30, 2)])
            det_img.append(i)
            det_scores.append(rng.random())
            det_boxes.append(b)
    return gt_boxes, gt_diff, np.array(det_img), np.array(det_scores), np.array(det_boxes).reshape(-1, 4)


def _as_gts(classes):
    n_img = len(classes[0][0])
    gts, dets = [], {}
    for i in range(n_img):
        boxes = np.concatenate([c[0][i] for c in classes]).reshape(-1, 4)
        labels = np.concatenate([np.full(len(c[0][i]), k + 1) for k, c in enumerate(classes)])
        diff = np.concatenate([c[1][i] for c in classes]).astype(bool)
        gts.append({"boxes": boxes, "labels": labels, "difficult": diff})
    for k, c in enumerate(classes):
        dets[k + 1] = (c[2], c[3], c[4])
    return gts, dets


def test_weighted_map_is_the_devkit_map_on_the_resampled_images():
    rng = np.random.default_rng(3)
    n_img = 40
    classes = [_random_class(rng, n_img) for _ in range(2)]
    gts, dets = _as_gts(classes)
    flags = class_flags(gts, dets, 2)
    full = np.mean([evaluate_class(*c)["ap"] for c in classes])
    assert weighted_map(flags, np.ones(n_img))[0] == pytest.approx(full, abs=1e-12)
    # a resample with repeats equals the devkit on the images duplicated
    draw = rng.integers(0, n_img, n_img)
    weights = np.bincount(draw, minlength=n_img).astype(float)
    aps = []
    for gb, gd, di, ds, db in classes:
        img_of, new_img, new_scores, new_boxes = [], [], [], []
        for j, i in enumerate(draw):
            img_of.append(i)
            keep = di == i
            new_img += [j] * int(keep.sum())
            new_scores += list(ds[keep])
            new_boxes += list(db[keep])
        aps.append(evaluate_class([gb[i] for i in img_of], [gd[i] for i in img_of], np.array(new_img),
                                  np.array(new_scores), np.array(new_boxes).reshape(-1, 4))["ap"])
    assert weighted_map(flags, weights[None])[0] == pytest.approx(np.nanmean(aps), abs=1e-9)


def _row(scheme, seed, kind, level, lo, value, folder="/study/runs/x"):
    return Row(f"{scheme}_{seed}", scheme, seed, f"{folder}/checkpoint_last.pth", "test", kind, level, lo, lo + 0.2,
               0, "voc2010", value, 0.3, 1.0, 10, "mask", "")


def _rows(effect_clean, effect_pasted, gap):
    rows = []
    for seed, noise in enumerate([0.0, 0.01, -0.01]):
        for scheme, dc, dp in (("baseline | A", 0.0, 0.0), ("I+ORE | A", effect_clean, effect_pasted)):
            c = 0.6 + dc + noise
            rows.append(_row(scheme, seed, "clean", "0", 0.0, c))
            rows.append(_row(scheme, seed, "train", "0", 0.0, 0.6 + gap + noise))
            rows.append(_row(scheme, seed, "pasted", "20-40 %", 0.2, 0.5 + dp + noise * 0.5))
            rows.append(_row(scheme, seed, "pasted", "40-60 %", 0.4, 0.3 + dp + noise * 0.3))
    return rows


def test_retention_and_the_primary_family():
    rows = _rows(-0.05, 0.0, 0.2)
    base = retention(rows, "baseline | A")
    assert base[0] == pytest.approx((0.5 / 0.6 + 0.3 / 0.6) / 2)
    cells = [RegimeCell("A", "I+ORE | A", "baseline | A")]
    clean_c, ret_c = primary_contrasts(rows, cells)
    assert clean_c.endpoint == "clean" and clean_c.diff.mean == pytest.approx(-0.05)
    assert clean_c.gap == pytest.approx(0.2) and verdict(clean_c) == "costs"
    # the same pasted mAP on a lower clean mAP is a higher retention
    assert ret_c.diff.mean > 0


def test_the_report_files(tmp_path: Path):
    rows = _rows(-0.05, 0.0, 0.2)
    schemes = [Scheme("baseline | A", "b", reference="baseline | A", regime="A"),
               Scheme("I+ORE | A", "i", reference="baseline | A", regime="A")]
    plan = SimpleNamespace(schemes=schemes, finished=[])
    written = write_regime_outputs(tmp_path, plan, rows, "detaug-study --schemes m.yaml", log=lambda m: None)
    names = {p.name for p in written}
    assert {"REGIMES.md", "regimes.csv", "per_run.csv", "exploratory.csv", "provenance.csv",
            "effect_vs_gap.png"} <= names
    text = (tmp_path / "REGIMES.md").read_text()
    assert "| A | 3 | 60.0 | 80.0 | +20.0" in text and "**costs**" in text
    csv_text = (tmp_path / "regimes.csv").read_text().splitlines()
    assert csv_text[0].startswith("regime,scheme,reference,endpoint,n,mean,sd,ci_lo,ci_hi,p,p_bh")
    assert len(csv_text) == 3


def test_run_flags_score_a_trained_runs_stored_predictions_to_its_reported_map(tmp_path: Path):
    """The bootstrap's input end to end: a real run folder (config.yaml + stored predictions),
    its dataset rebuilt from the config, and the row of ones giving the mAP the run reports."""
    import importlib
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _training_helpers import TINY

    from detaug.study.regimes import run_flags

    train = importlib.import_module("detaug.cli.train")
    out = tmp_path / "run"
    argv = ["--output-dir", str(out), "--set", f"data.root={tmp_path / 'data'}", *TINY, "schedule.epochs=2"]
    summary = train.main(train.get_args_parser().parse_args(argv))
    flags, num_images = run_flags(out, "test")
    assert num_images == 4
    assert weighted_map(flags, np.ones(num_images))[0] == pytest.approx(summary["metrics"]["test"]["mAP"], abs=1e-9)
    with pytest.raises(FileNotFoundError, match="no stored predictions for the split 'nope'"):
        run_flags(out, "nope")
