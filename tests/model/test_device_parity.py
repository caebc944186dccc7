"""The same captions on an accelerator as on the CPU (runs on a Mac with MPS or a CUDA machine).

FACTS: batched (packed) LSTM sequences have been wrong on MPS before, and photocap's decoders
run batched. Skipped where there is no accelerator; run it on one before a release.
"""

import pytest
import torch

from photocap.model import Captioner, beam_search, build_encoder
from photocap.model.device import mps_available

from .conftest import make_decoder

DEVICES = [d for d, ok in (("cuda", torch.cuda.is_available()), ("mps", mps_available())) if ok]


@pytest.mark.skipif(not DEVICES, reason="no CUDA or MPS device here")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["show_tell", "attention"])
def test_accelerator_matches_cpu(device, kind, lite0, vocab, photos_224):
    dec = make_decoder(kind, vocab)
    cpu = Captioner(lite0, dec, vocab, device="cpu").describe(photos_224, beam=3)
    acc_dec = make_decoder(kind, vocab)
    acc_enc = build_encoder("efficientnet_lite0")  # not the shared fixture: Captioner moves it
    acc = Captioner(acc_enc, acc_dec, vocab, device=device).describe(photos_224, beam=3)
    assert [d.text for d in acc] == [d.text for d in cpu]
    assert [d.score for d in acc] == pytest.approx([d.score for d in cpu], abs=2e-2)
    feats = torch.randn(5, 49, 1280)
    caps = torch.randint(4, len(vocab), (5, 9))
    with torch.no_grad():
        want = dec.cpu()(feats, caps).logits
        got = acc_dec.to(device)(feats.to(device), caps.to(device)).logits.cpu()
    torch.testing.assert_close(got, want, atol=1e-3, rtol=1e-3)
    b = beam_search(acc_dec, feats.to(device), beam=3, max_len=10)
    assert b.tokens == beam_search(dec, feats, beam=3, max_len=10).tokens
