import pytest
import torch

from photocap.model import DecoderConfig, build_decoder
from photocap.model.decoders import AttentionDecoder
from photocap.model.vocab import PAD_ID, START_ID

from .conftest import make_decoder


def _captions(vocab, texts):
    ids = [vocab.encode(t) for t in texts]
    width = max(map(len, ids))
    return torch.tensor([row + [PAD_ID] * (width - len(row)) for row in ids])


TEXTS = ["a cat sits on the mat", "two dogs", "a small red ball near the big tree"]


@pytest.mark.parametrize("kind", ["show_tell", "attention"])
@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_teacher_forcing_shapes(kind, rnn, vocab):
    dec = make_decoder(kind, vocab, rnn).train()
    caps = _captions(vocab, TEXTS)
    out = dec(torch.randn(3, 49, 1280), caps)
    assert out.logits.shape == (3, caps.shape[1] - 1, len(vocab))
    if kind == "attention":
        assert out.alphas.shape == (3, caps.shape[1] - 1, 49)
        lengths = (caps != PAD_ID).sum(1) - 1
        sums = out.alphas.sum(-1)
        for i, n in enumerate(lengths.tolist()):
            torch.testing.assert_close(sums[i, :n], torch.ones(n))  # a distribution at every word
            assert torch.all(sums[i, n:] == 0)  # nothing after the caption ends
        assert AttentionDecoder.doubly_stochastic_penalty(out.alphas).ndim == 0
    else:
        assert out.alphas is None
    out.logits.sum().backward()  # gradients flow


@pytest.mark.parametrize("kind", ["show_tell", "attention"])
@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_teacher_forcing_matches_step_by_step(kind, rnn, vocab):
    """forward() (training) and step() (decoding) must be the same network."""
    dec = make_decoder(kind, vocab, rnn).eval()
    caps = _captions(vocab, TEXTS)
    feats = torch.randn(3, 49, 1280)
    with torch.no_grad():
        forced = torch.log_softmax(dec(feats, caps).logits, -1)
        state = dec.init_state(feats)
        for t in range(caps.shape[1] - 1):
            logp, state, _ = dec.step(caps[:, t], state)
            for i in range(3):
                if caps[i, t + 1] != PAD_ID:
                    torch.testing.assert_close(logp[i], forced[i, t], rtol=1e-4, atol=1e-4)


def test_grow_vocab_keeps_old_predictions(vocab):
    dec = make_decoder("attention", vocab)
    feats = torch.randn(2, 49, 1280)
    tokens = torch.full((2,), START_ID)
    with torch.no_grad():
        before, _, _ = dec.step(tokens, dec.init_state(feats))
        dec.grow_vocab(len(vocab) + 5)
        after, _, _ = dec.step(tokens, dec.init_state(feats))
    assert after.shape[1] == len(vocab) + 5 and dec.config.vocab_size == len(vocab) + 5
    torch.testing.assert_close(after[:, : len(vocab)], before, atol=1e-6, rtol=1e-5)
    assert torch.all(after[:, len(vocab) :] < before.min() - 5)  # new words are not said yet


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="rnn"):
        build_decoder(DecoderConfig(vocab_size=10, rnn="transformer"))
    with pytest.raises(ValueError, match="kind"):
        build_decoder(DecoderConfig(kind="gpt", vocab_size=10))
    with pytest.raises(ValueError, match="unknown decoder settings"):
        DecoderConfig.from_dict({"kind": "attention", "vocab_size": 10, "heads": 8})
