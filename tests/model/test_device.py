import pytest
import torch

from photocap.model import pick_device
from photocap.model.device import device_label


def test_auto_and_cpu():
    assert pick_device("cpu") == torch.device("cpu")
    auto = pick_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else auto.type)
    assert device_label(torch.device("cpu")).startswith("CPU")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no CUDA"):
        pick_device("cuda")


def test_unknown_device():
    with pytest.raises(ValueError, match="auto"):
        pick_device("tpu")
