import pytest
import torch

import photocap.model.device as device_module
from photocap.model import pick_device
from photocap.model.device import device_label


def _machine(monkeypatch, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(device_module, "mps_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, best", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_takes_the_best_there_is(monkeypatch, cuda, mps, best):
    _machine(monkeypatch, cuda, mps)
    assert pick_device("auto").type == best
    assert pick_device("").type == best
    assert pick_device("cpu") == torch.device("cpu")


def test_cpu_label_names_the_threads():
    assert device_label(torch.device("cpu")) == f"CPU · {torch.get_num_threads()} threads"


def test_a_missing_gpu_is_a_clear_error(monkeypatch):
    _machine(monkeypatch, cuda=False, mps=False)
    with pytest.raises(RuntimeError, match="no CUDA"):
        pick_device("cuda")
    with pytest.raises(RuntimeError, match="MPS"):
        pick_device("mps")


def test_unknown_device():
    with pytest.raises(ValueError, match="auto"):
        pick_device("tpu")
