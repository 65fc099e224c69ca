"""detaug inside ultralytics YOLO training (``model.train(augmentations=[...])``).

Skipped when ultralytics is not installed: it is AGPL-3.0 and a test-only dependency
(detaug never imports it). Passed here against ultralytics 8.4.190. The training runs in a
subprocess (tests/_ultralytics_run.py) with nothing downloaded: the model is built from
yolov8n.yaml, YOLO_OFFLINE is set, plots and validation are off, amp is off, and the font
ultralytics looks for is a placeholder in its config folder.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ultralytics") is None,
                                reason="ultralytics is not installed (a test-only, AGPL-3.0 dependency)")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("ultralytics")
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_CONFIG_DIR=str(work / "config"),
               PYTHONPATH=os.pathsep.join([str(ROOT)] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "_ultralytics_run.py"), str(work / "synthetic"),
                           str(work), str(work / "out.json")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((work / "out.json").read_text())


def test_every_training_sample_reaches_detaug_with_its_boxes(run):
    print("ultralytics", run["ultralytics"])
    drawn = run["drawn"]
    assert len(drawn) == 16  # one epoch over the 16 training images (Mosaic kept: close_mosaic=0)
    assert all(d["boxes"] is not None for d in drawn)
    assert sum(len(d["boxes"]) for d in drawn) > 16  # mosaics hold several images' boxes
    # the first label field (class_labels, YOLO class ids) arrives with each box
    assert all(d["labels"] is not None and len(d["labels"]) == len(d["boxes"]) for d in drawn if d["boxes"])


def test_ore_regions_inside_the_boxes_received_and_per_class_p_on_yolo_ids(run):
    n_ore = n_class1 = 0
    for d in run["drawn"]:
        h, w = d["shape"]
        for (x1, y1, x2, y2), src in zip(d["rects"], d["source"]):
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            if src < 0:
                continue
            n_ore += 1
            bx1, by1, bx2, by2 = d["boxes"][src]
            assert bx1 <= x1 and by1 <= y1 and x2 <= bx2 and y2 <= by2, (d["boxes"][src], (x1, y1, x2, y2))
            assert d["labels"][src] != 1.0  # object_p={1: 0.0, "default": 1.0}
        n_class1 += sum(lab == 1.0 for lab in d["labels"] or [])
    assert n_ore >= 10 and n_class1 >= 1  # both rules were exercised
