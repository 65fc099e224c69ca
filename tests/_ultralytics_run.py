"""Train a YOLO model (built from its YAML, no weights) for one short epoch with detaug in
``augmentations=``, recording what the erasing transform drew (run by
tests/test_ultralytics.py in a subprocess, so that ultralytics' settings, logging and
environment stay out of the test process).

usage: python _ultralytics_run.py <synthetic dataset root> <work dir> <out.json> [noop]

``noop`` puts ``A.NoOp()`` first (the workaround for ultralytics 8.3.226-8.4.116, which
hands boxes only to a pipeline holding a class whose name is on its list).

ultralytics is AGPL-3.0: only this test script imports it, never detaug.
"""

import json
import shutil
import sys
from pathlib import Path

import detaug

DRAWN = []  # one record per call of the transform (one process: workers=0)


class RecordingErasing(detaug.BoxAwareRandomErasing):
    """detaug's transform, keeping every plan with the boxes it was drawn for.

    ultralytics stores ``augmentations`` with ``A.to_dict`` and rebuilds them with
    ``A.from_dict``, so the instance that runs is a copy: the record is module-wide."""

    def get_params_dependent_on_data(self, params, data):
        out = super().get_params_dependent_on_data(params, data)
        bboxes = data.get("bboxes")
        labels = None if bboxes is None or len(bboxes) == 0 else [float(b[4]) for b in bboxes]
        DRAWN.append({
            "shape": list(params["shape"][:2]),
            "boxes": None if out["boxes"] is None else out["boxes"].tolist(),
            "labels": labels,
            "rects": out["plan"].rects.tolist(),
            "source": out["plan"].source.tolist(),
        })
        return out


def yolo_layout(info, root: Path) -> Path:
    """The synthetic set's COCO splits as a YOLO dataset: images/<split>, labels/<split>
    (``class cx cy w h``, normalised), and data.yaml."""
    for split, yolo_split in (("train", "train"), ("test", "val")):
        coco = json.loads(Path(info.coco_annotations[split]).read_text())
        cats = {c["id"]: k for k, c in enumerate(sorted(coco["categories"], key=lambda c: c["id"]))}
        (root / "images" / yolo_split).mkdir(parents=True)
        (root / "labels" / yolo_split).mkdir(parents=True)
        for im in coco["images"]:
            shutil.copy(Path(info.image_dir) / im["file_name"], root / "images" / yolo_split / Path(im["file_name"]).name)
            rows = []
            for a in coco["annotations"]:
                if a["image_id"] == im["id"]:
                    x, y, w, h = a["bbox"]
                    rows.append(f"{cats[a['category_id']]} {(x + w / 2) / im['width']:.6f} "
                                f"{(y + h / 2) / im['height']:.6f} {w / im['width']:.6f} {h / im['height']:.6f}")
            (root / "labels" / yolo_split / (Path(im["file_name"]).stem + ".txt")).write_text("\n".join(rows) + "\n")
    names = "".join(f"  {k}: {n}\n" for k, n in enumerate(info.classes))
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{names}")
    return root / "data.yaml"


def main(dataset_root: str, work: str, out_json: str, noop: str = "") -> None:
    import albumentations as A

    from detaug.data import generate_synthetic

    work = Path(work)
    info = generate_synthetic(dataset_root, seed=0, num_train=16, num_test=4, occlusion_levels=())
    data = yolo_layout(info, work / "yolo")
    (work / "config" / "Arial.ttf").parent.mkdir(parents=True, exist_ok=True)
    (work / "config" / "Arial.ttf").write_bytes(b"")  # check_font() finds it and downloads nothing

    import ultralytics
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml")  # architecture only: random weights, nothing downloaded
    model.train(
        data=str(data), epochs=1, imgsz=128, batch=8, workers=0, device="cpu", amp=False,
        plots=False, val=False, save=False, close_mosaic=0, project=str(work / "runs"), name="train", exist_ok=True,
        seed=0, deterministic=False, verbose=False,
        # class 1 never erased inside its boxes (YOLO class ids are the labels), the others always
        augmentations=[A.NoOp()] * (noop == "noop")
        + [RecordingErasing(mode="i+ore", object_p={1: 0.0, "default": 1.0}, fill=0)],
    )
    Path(out_json).write_text(json.dumps({"ultralytics": ultralytics.__version__, "drawn": DRAWN}))


if __name__ == "__main__":
    main(*sys.argv[1:])
