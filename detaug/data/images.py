"""Reading image and mask files with one set of rules for hostile or unusual files.

* **Size limit.** A header claiming more pixels than Pillow's ``Image.MAX_IMAGE_PIXELS``
  (about 89.5 million by default, e.g. 9459 x 9459) is refused before anything is
  decoded: it is a decompression bomb or a corrupt header, and no detection dataset
  needs it. A genuine larger image works after raising (or setting to ``None``) that
  Pillow setting, which this module honours.
* **Truncated or corrupt files** raise :class:`~detaug.data.errors.ImageFileError`
  naming the file (Pillow's own message does not).
* **Bit depth.** 16-bit grayscale (Pillow modes ``I;16*``) is scaled to 8 bits
  (``round(v * 255 / 65535)``), not clipped at 255; 16-bit colour PNGs are reduced to
  8 bits by Pillow itself. 32-bit integer or float pixels (modes ``I`` and ``F``) have no
  defined range and are refused. Every other mode is converted to RGB by Pillow
  (palette, grayscale, CMYK; an alpha channel is dropped).
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Tuple, Union

import numpy as np
from PIL import Image

from .errors import ImageFileError

__all__ = ["image_size", "open_image", "read_rgb"]

PathLike = Union[str, "os.PathLike[str]"]


@contextmanager
def open_image(path: PathLike) -> Iterator[Image.Image]:
    """Open an image (header only) under the size limit; errors name the file.

    Args:
        path: The image file.

    Yields:
        The open ``PIL.Image.Image`` (nothing decoded yet).

    Raises:
        FileNotFoundError: If the file does not exist.
        ImageFileError: If it is not an image Pillow can read, or it claims more pixels
            than ``PIL.Image.MAX_IMAGE_PIXELS``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file not found")
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x its limit; one rule is clearer
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageFileError(
                f"{path}: refusing to decode an image this large ({e}); if it is genuine, "
                "raise PIL.Image.MAX_IMAGE_PIXELS"
            ) from None
        except OSError as e:  # PIL.UnidentifiedImageError is an OSError
            raise ImageFileError(f"{path}: not a readable image ({e})") from None
    with im:
        yield im


def image_size(path: PathLike) -> Tuple[int, int]:
    """``(width, height)`` from the file header, without decoding the pixels.

    Args:
        path: The image file.

    Returns:
        ``(width, height)``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ImageFileError: See :func:`open_image`.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
        >>> Image.new("RGB", (5, 3)).save(p)
        >>> image_size(p)
        (5, 3)
    """
    with open_image(path) as im:
        return im.size


def _to_rgb(im: Image.Image, path: Path) -> np.ndarray:
    if im.mode.startswith("I;16"):
        v = np.asarray(im).astype(np.uint32)
        gray = ((v * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode in ("I", "F"):
        raise ImageFileError(
            f"{path}: {'32-bit integer' if im.mode == 'I' else 'floating-point'} pixels (Pillow "
            f"mode {im.mode}) have no defined range; save the image with 8 or 16 bits per channel"
        )
    return np.asarray(im.convert("RGB"))


def read_rgb(path: PathLike) -> np.ndarray:
    """Decode an image as an HWC uint8 RGB array, by the rules of this module.

    Args:
        path: The image file.

    Returns:
        A ``[H, W, 3]`` uint8 array.

    Raises:
        FileNotFoundError: If the file does not exist.
        ImageFileError: If the file is not an image, is truncated or corrupt, claims more
            pixels than ``PIL.Image.MAX_IMAGE_PIXELS`` or has pixels without a defined
            range (Pillow modes ``I``, ``F``).

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "g16.png"
        >>> Image.fromarray(np.array([[0, 257, 65535]], np.uint16)).save(p)
        >>> read_rgb(p)[0, :, 0].tolist()
        [0, 1, 255]
    """
    path = Path(path)
    with open_image(path) as im:
        try:
            im.load()
        except OSError as e:  # "image file is truncated", "broken data stream", ...
            raise ImageFileError(f"{path}: cannot decode the image ({e})") from None
        return _to_rgb(im, path)
