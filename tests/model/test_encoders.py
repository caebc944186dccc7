import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from photocap.model import Captioner, EncoderWeightsError, build_encoder
from photocap.model.encoders import lite0_weights_path

CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat", "lynx", "cougar"}


def test_lite0_loads_every_key_and_finds_the_cat(lite0):
    from skimage import data

    state = torch.load(lite0_weights_path(), weights_only=True)
    assert len(state) == 296
    assert set(lite0.backbone.state_dict()) == set(state)  # strict: every key, nothing extra
    cat = Image.fromarray(data.chelsea()).resize((224, 224), Image.Resampling.BILINEAR)
    [desc] = Captioner(lite0).describe([cat])
    top5 = [label for label, _ in desc.tags[:5]]
    assert CATS & set(top5), top5
    assert desc.source == "tags" and desc.tags[0][0] in CATS
    assert desc.tags[0][0] in desc.text


def test_coffee_is_espresso_or_cup(lite0):
    from skimage import data

    cup = Image.fromarray(data.coffee()).resize((224, 224), Image.Resampling.BILINEAR)
    [desc] = Captioner(lite0).describe([cup])
    assert {"espresso", "cup", "coffee mug"} & {label for label, _ in desc.tags[:3]}


def test_lite0_strict_loading_rejects_a_wrong_state_dict(tmp_path):
    state = torch.load(lite0_weights_path(), weights_only=True)
    del state["_fc.bias"]
    bad = tmp_path / "lite0.pth"
    torch.save(state, bad)
    with pytest.raises(EncoderWeightsError, match="do not fit"):
        build_encoder("efficientnet_lite0", weights=bad)


@pytest.mark.parametrize("name,dim", [("resnet50", 2048), ("efficientnet_lite0", 1280)])
def test_feature_shapes_and_grid_pooling(name, dim):
    enc = build_encoder(name, weights=None)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        out = enc(x)
    assert out.spatial.shape == (2, 49, dim) and out.pooled.shape == (2, dim) and out.grid == (7, 7)
    torch.testing.assert_close(out.pooled, out.spatial.mean(1), rtol=1e-4, atol=1e-5)
    enc14 = build_encoder(name, weights=None, grid=14)
    enc14.load_state_dict(enc.state_dict())
    with torch.no_grad():
        out14 = enc14(x)
    assert out14.spatial.shape == (2, 196, dim) and out14.grid == (14, 14)
    torch.testing.assert_close(out14.pooled, out.pooled)
    assert enc.classify(out.pooled).shape == (2, 1000)


def test_resnet_offline_names_the_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(EncoderWeightsError) as err:
        build_encoder("resnet101")
    msg = str(err.value)
    assert "resnet101-" in msg and ".pth" in msg  # the file torchvision wants
    assert str(tmp_path) in msg  # where to put it
    assert "--encoder-weights" in msg and "\n" not in msg


def test_resnet_local_weights_path_is_used(tmp_path):
    donor = build_encoder("resnet50", weights=None)
    path = tmp_path / "r50.pth"
    torch.save(donor.backbone.state_dict(), path)
    enc = build_encoder("resnet50", weights=path)
    for (k, a), b in zip(donor.backbone.state_dict().items(), enc.backbone.state_dict().values()):
        assert torch.equal(a, b), k
    assert enc.weights_id.startswith("r50.pth:sha256=")


def test_set_trainable_unfreezes_only_the_last_blocks(lite0):
    enc = build_encoder("efficientnet_lite0", weights=None)
    params = enc.set_trainable(2)
    trainable = {id(p) for p in enc.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in params} and params
    assert not enc.backbone._conv_stem.weight.requires_grad
    assert enc.backbone._conv_head.weight.requires_grad
    assert enc.set_trainable(0) == [] and not any(p.requires_grad for p in enc.parameters())


def test_unknown_encoder_is_a_clear_error():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        build_encoder("vgg16")


def test_squash_vs_crop_preprocess_differ(lite0):
    assert lite0.preprocess.resize == "squash"
    assert build_encoder("resnet50", weights=None).preprocess.resize == "center_crop"
    assert np.allclose(lite0.preprocess.mean, 127 / 255)


def test_bundled_imagenet_labels_match_torchvision():
    from torchvision.models import ResNet50_Weights

    from photocap.model.tagger import imagenet_labels

    assert imagenet_labels() == tuple(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])
