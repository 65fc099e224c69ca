"""A compact Faster R-CNN that trains from scratch on a CPU in minutes (the default model).

A plain convolutional backbone (four stride-2 stages, GroupNorm so that small batches and
several processes behave alike) with a two-level feature pyramid (strides 8 and 16) inside
torchvision's :class:`~torchvision.models.detection.FasterRCNN`. Meant for small images
(about 128-256 px) such as the built-in synthetic set, not for VOC or COCO.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, cout), cout),
        nn.ReLU(inplace=True),
    )


class SmallBackbone(nn.Module):
    """Four stages of two 3x3 convolutions (the first with stride 2) and a tiny FPN.

    Returns features ``{"0": stride 8, "1": stride 16}`` with ``out_channels`` channels each.
    """

    def __init__(self, widths: Sequence[int] = (32, 64, 96, 128), out_channels: int = 96):
        super().__init__()
        if len(widths) != 4:
            raise ValueError(f"widths must hold 4 stage widths, got {widths!r}")
        stages, cin = [], 3
        for w in widths:
            stages.append(nn.Sequential(_conv(cin, w, 2), _conv(w, w, 1)))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.lateral8 = nn.Conv2d(widths[2], out_channels, 1)
        self.lateral16 = nn.Conv2d(widths[3], out_channels, 1)
        self.smooth8 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.smooth16 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        p16 = self.lateral16(feats[3])
        p8 = self.lateral8(feats[2]) + nn.functional.interpolate(p16, size=feats[2].shape[-2:], mode="nearest")
        return OrderedDict([("0", self.smooth8(p8)), ("1", self.smooth16(p16))])


def fasterrcnn_small(
    num_classes: int,
    *,
    min_size: int = 128,
    max_size: int = 224,
    widths: Sequence[int] = (32, 64, 96, 128),
    out_channels: int = 96,
    anchor_sizes: Sequence[Sequence[int]] = ((16, 32, 48), (64, 96, 128)),
    aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0),
    representation_size: int = 256,
    **kwargs,
) -> FasterRCNN:
    """Build the compact CPU Faster R-CNN.

    Args:
        num_classes: classes including the background (label 0).
        min_size, max_size: the model's internal resizing (default 128 / 224).
        widths: channels of the four backbone stages (default (32, 64, 96, 128)).
        out_channels: channels of the two pyramid levels (default 96).
        anchor_sizes: anchor sizes per level (default ((16, 32, 48), (64, 96, 128))).
        aspect_ratios: anchor aspect ratios, shared by both levels (default (0.5, 1, 2)).
        representation_size: width of the box head's two fully connected layers (default 256).
        **kwargs: passed to :class:`~torchvision.models.detection.FasterRCNN`; the RPN and
            RoI sampling defaults are reduced to suit small images.

    Examples:
        >>> model = fasterrcnn_small(num_classes=4).eval()
        >>> out = model([torch.rand(3, 96, 128)])
        >>> sorted(out[0])
        ['boxes', 'labels', 'scores']
    """
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

    backbone = SmallBackbone(widths, out_channels)
    anchors = AnchorGenerator(
        sizes=tuple(tuple(s) for s in anchor_sizes),
        aspect_ratios=tuple(tuple(aspect_ratios) for _ in anchor_sizes),
    )
    pooler = MultiScaleRoIAlign(featmap_names=["0", "1"], output_size=7, sampling_ratio=2)
    head = TwoMLPHead(out_channels * 7 * 7, representation_size)
    defaults = dict(
        rpn_pre_nms_top_n_train=600,
        rpn_post_nms_top_n_train=300,
        rpn_pre_nms_top_n_test=300,
        rpn_post_nms_top_n_test=150,
        rpn_batch_size_per_image=128,
        box_batch_size_per_image=128,
        box_detections_per_img=50,
    )
    defaults.update(kwargs)
    return FasterRCNN(
        backbone,
        num_classes=None,
        min_size=min_size,
        max_size=max_size,
        rpn_anchor_generator=anchors,
        box_roi_pool=pooler,
        box_head=head,
        box_predictor=FastRCNNPredictor(representation_size, num_classes),
        **defaults,
    )
