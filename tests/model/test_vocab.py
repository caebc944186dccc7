import pytest

from photocap.model.vocab import END_ID, START_ID, UNK_ID, Vocabulary, tokenize


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("A Dog's ball, on the T-shirt!  Zoë’s café.") == [
        "a",
        "dog's",
        "ball",
        "on",
        "the",
        "t-shirt",
        "zoë's",
        "café",
    ]
    assert tokenize("") == [] and tokenize("...!?") == []


def test_build_respects_min_count_and_frequency_order():
    v = Vocabulary.build(["a dog", "a cat", "a dog runs"], min_count=2)
    assert v.itos[4:] == ["a", "dog"]
    assert v.id("cat") == UNK_ID


def test_encode_decode_round_trip():
    v = Vocabulary.build(["a red ball near the tree"])
    ids = v.encode("A red ball, near the TREE.")
    assert ids[0] == START_ID and ids[-1] == END_ID
    assert v.decode(ids) == "a red ball near the tree"
    assert v.decode(v.encode("a purple ball")) == "a <unk> ball"
    assert len(v.encode("a red ball near", max_len=2)) == 4


def test_json_round_trip_and_validation():
    v = Vocabulary.build(["one two three", "two three", "three"])
    assert Vocabulary.from_json(v.to_json()) == v
    with pytest.raises(ValueError):
        Vocabulary.from_json('{"itos": ["a", "b"]}')
    with pytest.raises(ValueError):
        Vocabulary.from_json('{"itos": ["<pad>", "<start>", "<end>", "<unk>", "x", "x"]}')


def test_extended_keeps_every_old_id():
    v = Vocabulary.build(["a dog on the grass"])
    grown, new = v.extended(["Rex the dog on the beach with Zoë"])
    assert set(new) == {"rex", "beach", "with", "zoë"}
    assert grown.itos[: len(v)] == v.itos
    assert all(grown.id(w) >= len(v) for w in new)
