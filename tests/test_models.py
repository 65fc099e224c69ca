"""Model factory: every name builds, weights by torchvision name or local file, clear errors."""

import pytest
import torch

from detaug.models import MODEL_NAMES, build_model, fasterrcnn_small, resolve_weights


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_without_weights(name):
    model = build_model(name, num_classes=5, log=lambda msg: None)
    assert model.roi_heads.box_predictor.cls_score.out_features == 5
    assert model.roi_heads.box_predictor.bbox_pred.out_features == 20


def test_small_model_trains_and_predicts_in_input_coordinates():
    torch.manual_seed(0)
    model = fasterrcnn_small(num_classes=3, min_size=64, max_size=96, widths=(8, 8, 16, 16), out_channels=16,
                             representation_size=32)
    images = [torch.rand(3, 80, 120), torch.rand(3, 100, 90)]
    targets = [{"boxes": torch.tensor([[10.0, 10.0, 50.0, 40.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.tensor([[5.0, 20.0, 60.0, 90.0]]), "labels": torch.tensor([2])}]
    losses = model(images, targets)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        out = model(images)
    for o, img in zip(out, images):
        if len(o["boxes"]):
            assert float(o["boxes"][:, 2].max()) <= img.shape[-1] and float(o["boxes"][:, 3].max()) <= img.shape[-2]


def test_torchvision_weight_names_resolve_without_download():
    weights, backbone = resolve_weights("fasterrcnn_resnet50_fpn", "COCO_V1", "IMAGENET1K_V1")
    assert weights.name == "COCO_V1" and backbone.name == "IMAGENET1K_V1"
    assert resolve_weights("fasterrcnn_mobilenet_v3_large_fpn", "DEFAULT")[0].name == "COCO_V1"
    with pytest.raises(ValueError, match="valid: DEFAULT, COCO_V1"):
        resolve_weights("fasterrcnn_resnet50_fpn", "COCO_V9")
    with pytest.raises(ValueError, match="file not found"):
        resolve_weights("fasterrcnn_small", "missing/weights.pth")
    with pytest.raises(ValueError, match="valid: fasterrcnn_resnet50_fpn"):
        resolve_weights("maskrcnn", None)


def test_local_weight_file_loads_and_predictor_for_other_classes_is_replaced(tmp_path):
    kwargs = dict(min_size=64, max_size=96, widths=[8, 8, 16, 16], out_channels=16, representation_size=32)
    torch.manual_seed(1)
    source = build_model("fasterrcnn_small", 4, log=lambda m: None, **kwargs)
    torch.save({"model": source.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")  # a detaug checkpoint
    same = build_model("fasterrcnn_small", 4, weights=str(tmp_path / "ckpt.pth"), log=lambda m: None, **kwargs)
    for k, v in source.state_dict().items():
        assert torch.equal(v, same.state_dict()[k])
    messages = []
    other = build_model("fasterrcnn_small", 7, weights=str(tmp_path / "ckpt.pth"), log=messages.append, **kwargs)
    assert other.roi_heads.box_predictor.cls_score.out_features == 7
    assert torch.equal(other.backbone.stages[0][0][0].weight, source.backbone.stages[0][0][0].weight)
    assert any("re-initialised" in m for m in messages)


def test_local_backbone_file_for_mobilenet(tmp_path):
    from torchvision.models import mobilenet_v3_large

    torch.manual_seed(2)
    net = mobilenet_v3_large()
    torch.save(net.state_dict(), tmp_path / "mnv3.pth")  # an ImageNet-style classifier state dict
    model = build_model("fasterrcnn_mobilenet_v3_large_320_fpn", 3, weights_backbone=str(tmp_path / "mnv3.pth"),
                        log=lambda m: None)
    assert torch.equal(model.backbone.body["0"][0].weight, net.features[0][0].weight)


def test_local_resnet_backbone_is_frozen_like_torchvision(tmp_path):
    from torchvision.models import resnet50
    from torchvision.ops.misc import FrozenBatchNorm2d

    torch.manual_seed(3)
    net = resnet50()
    torch.save(net.state_dict(), tmp_path / "r50.pth")
    model = build_model("fasterrcnn_resnet50_fpn", 3, weights_backbone=str(tmp_path / "r50.pth"),
                        trainable_backbone_layers=2, log=lambda m: None)
    body = model.backbone.body
    assert torch.equal(body.layer1[0].conv1.weight, net.layer1[0].conv1.weight)
    assert isinstance(body.bn1, FrozenBatchNorm2d) and torch.equal(body.bn1.running_mean, net.bn1.running_mean)
    assert not body.layer2[0].conv1.weight.requires_grad and body.layer3[0].conv1.weight.requires_grad
