"""Regenerate the documentation gallery (docs/images/gallery/*.png) with detaug-vis.

Every figure is one ``detaug-vis`` command on the 24 real photos (VOC layout, default
``../shared/realdata/VOCdevkit/REAL``), except the instance-mask one, which needs masks and
uses the synthetic set. The commands are listed in ``FIGURES`` and printed as they run, so
docs/gallery.md can show them::

    python tools/make_gallery.py [--photos DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "gallery"
E = "augmentation.erasing."

#: name -> detaug-vis arguments ({photos} and {classes} are filled in). Labels are
#: 1-based lines of classes.txt: 8 chair, 14 door, 17 person, 27 tvmonitor.
FIGURES = {
    "modes": "--compare --num 3 --seed 2 --zoom 0.35",
    "fill-random": "--mode ire --image-p 1 --scale 0.1 0.3 --fill random --num 2 --ncols 2 --zoom 0.45",
    "fill-random_color": "--mode ire --image-p 1 --scale 0.1 0.3 --fill random_color --num 2 --ncols 2 --zoom 0.45",
    "fill-random_normal": f"--mode ire --image-p 1 --scale 0.1 0.3 --fill random_normal --set {E}device=true "
                          "--num 2 --ncols 2 --zoom 0.45",
    "fill-random_color_normal": f"--mode ire --image-p 1 --scale 0.1 0.3 --fill random_color_normal --set "
                                f"{E}device=true --num 2 --ncols 2 --zoom 0.45",
    "fill-constant": f"--mode ire --image-p 1 --scale 0.1 0.3 --set {E}fill=[124,116,104] --num 2 --ncols 2 --zoom 0.45",
    "count": "--mode ire --image-p 1 --count 3 --scale 0.1 0.3 --num 2 --ncols 2 --zoom 0.45",
    "ore": "--mode ore --object-p 1 --num 2 --ncols 2 --zoom 0.45",
    "per-class": f"--mode ore --set '{E}object_p={{8: 1.0, 14: 1.0, 27: 1.0, default: 0.0}}' --seed 3 --num 2 "
                 "--ncols 2 --zoom 0.45",
    "protect": f"--mode ire --image-p 1 --count 1 3 --scale 0.1 0.4 --set '{E}protect=[8, 14, 17, 27]' --seed 3 "
               "--num 2 --ncols 2 --zoom 0.45",
    "protect-fraction": f"--mode ire --image-p 1 --count 1 3 --scale 0.1 0.4 --set '{E}protect={{8: 0.2, 14: 0.2, "
                        "17: 0.2, 27: 0.2}' --seed 3 --num 2 --ncols 2 --zoom 0.45",
    "masks": "--config synthetic_frcnn_small_iore --compare masks --num 2 --zoom 2",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default=str(ROOT.parent / "shared" / "realdata" / "VOCdevkit" / "REAL"))
    parser.add_argument("--only", nargs="+", default=None, choices=sorted(FIGURES))
    args = parser.parse_args()
    photos = Path(args.photos)
    source = (f"--images {photos / 'JPEGImages'} --annotations {photos / 'Annotations'} "
              f"--classes {' '.join((photos / 'classes.txt').read_text().split())}")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, options in FIGURES.items():
        if args.only and name not in args.only:
            continue
        data = "" if "--config" in options else source
        command = [sys.executable, "-m", "detaug.cli.visualize", *shlex.split(data), *shlex.split(options),
                   "--out", str(OUT / f"{name}.png")]
        print(f"detaug-vis {options}", flush=True)
        subprocess.run(command, check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
