import pytest
import torch

from photocap.model import beam_search, greedy

from .conftest import make_decoder


@pytest.fixture(params=["show_tell", "attention"])
def decoder(request, vocab):
    return make_decoder(request.param, vocab, seed=3)


def test_beam_of_one_is_greedy(decoder):
    feats = torch.randn(8, 49, 1280)
    g = greedy(decoder, feats, max_len=12)
    b = beam_search(decoder, feats, beam=1, max_len=12, never_worse_than_greedy=False)
    assert b.tokens == g.tokens
    assert b.score == pytest.approx(g.score, abs=1e-5)
    assert b.logprob == pytest.approx(g.logprob, abs=1e-5)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_beam_never_scores_below_greedy(decoder, k):
    for seed in range(4):
        torch.manual_seed(seed)
        feats = torch.randn(6, 49, 1280) * 2
        g = greedy(decoder, feats, max_len=10)
        b = beam_search(decoder, feats, beam=k, max_len=10)
        assert all(sb >= sg - 1e-6 for sb, sg in zip(b.score, g.score))


def test_reported_scores_are_the_real_scores(decoder, vocab):
    """Re-score the returned captions by teacher forcing: logprob and score must agree."""
    from photocap.model.decoding import normalise
    from photocap.model.vocab import END_ID, START_ID

    feats = torch.randn(4, 49, 1280)
    out = beam_search(decoder, feats, beam=3, max_len=10)
    for i, words in enumerate(out.tokens):
        ended = out.lengths[i] == len(words) + 1
        caps = torch.tensor([[START_ID, *words] + ([END_ID] if ended else [])])
        with torch.no_grad():
            logp = torch.log_softmax(decoder(feats[i : i + 1], caps).logits, -1)[0]
        total = sum(float(logp[t, caps[0, t + 1]]) for t in range(caps.shape[1] - 1))
        assert total == pytest.approx(out.logprob[i], abs=1e-3)
        expected = float(normalise(torch.tensor([total]), torch.tensor([out.lengths[i]]), 0.7)[0])
        assert out.score[i] == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("beam", [1, 3])
def test_batched_equals_one_at_a_time(decoder, beam):
    feats = torch.randn(5, 49, 1280)
    batched = beam_search(decoder, feats, beam=beam, max_len=12) if beam > 1 else greedy(decoder, feats, 12)
    for i in range(5):
        single = (
            beam_search(decoder, feats[i : i + 1], beam=beam, max_len=12)
            if beam > 1
            else greedy(decoder, feats[i : i + 1], 12)
        )
        assert single.tokens[0] == batched.tokens[i]
        assert single.score[0] == pytest.approx(batched.score[i], abs=1e-4)


def test_max_len_caps_captions(decoder):
    out = greedy(decoder, torch.randn(4, 49, 1280), max_len=3)
    assert all(len(t) <= 3 for t in out.tokens)
    assert all(1 <= n <= 3 for n in out.lengths)


def test_attention_maps_follow_the_words(vocab):
    dec = make_decoder("attention", vocab, seed=1)
    out = beam_search(dec, torch.randn(3, 49, 1280), beam=3, max_len=8)
    for words, att in zip(out.tokens, out.attention):
        assert att.shape == (len(words), 49)
        if words:
            torch.testing.assert_close(att.sum(-1), torch.ones(len(words)))


def test_plain_beam_can_lose_to_greedy_and_the_protected_beam_does_not(vocab):
    """The guarantee is not vacuous: unprotected beam 2 really does end below greedy here."""
    dec = make_decoder("show_tell", vocab, seed=3)
    plain_losses = 0
    for seed in range(10):
        torch.manual_seed(seed)
        feats = torch.randn(16, 49, 1280) * 2
        g = greedy(dec, feats, max_len=10)
        plain = beam_search(dec, feats, beam=2, max_len=10, never_worse_than_greedy=False)
        protected = beam_search(dec, feats, beam=2, max_len=10)
        plain_losses += sum(p < s - 1e-6 for p, s in zip(plain.score, g.score))
        assert all(p >= s - 1e-6 for p, s in zip(protected.score, g.score))
    assert plain_losses > 0
