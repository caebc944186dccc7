"""Every loader on small files written in the exact layout of the real distributions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photocap.library.identity import held_out
from trainer.datasets import (
    DatasetError,
    UserCaption,
    detect_format,
    load_coco,
    load_dataset,
    load_flickr8k,
    load_flickr30k,
    load_karpathy,
    user_caption_dataset,
)


def _karpathy_coco(tmp_path: Path) -> Path:
    data = {
        "dataset": "coco",
        "images": [
            {
                "filepath": "val2014",
                "sentids": [1, 2],
                "filename": "COCO_val2014_000000391895.jpg",
                "imgid": 0,
                "split": "test",
                "sentences": [
                    {
                        "tokens": ["a", "man", "with", "a", "red", "helmet"],
                        "raw": "A man with a red helmet.",
                        "imgid": 0,
                        "sentid": 1,
                    },
                    {"tokens": ["man", "riding", "a", "bike"], "raw": "Man riding a bike ", "imgid": 0, "sentid": 2},
                ],
                "cocoid": 391895,
            },
            {
                "filepath": "train2014",
                "sentids": [3],
                "filename": "COCO_train2014_000000057870.jpg",
                "imgid": 1,
                "split": "restval",
                "sentences": [{"tokens": ["a", "restaurant"], "raw": "A restaurant.", "imgid": 1, "sentid": 3}],
                "cocoid": 57870,
            },
            {
                "filepath": "val2014",
                "sentids": [4],
                "filename": "COCO_val2014_000000522418.jpg",
                "imgid": 2,
                "split": "val",
                "sentences": [{"tokens": ["a", "woman"], "raw": "A woman.", "imgid": 2, "sentid": 4}],
                "cocoid": 522418,
            },
        ],
    }
    p = tmp_path / "dataset_coco.json"
    p.write_text(json.dumps(data))
    return p


def test_karpathy_coco_paths_splits_and_captions(tmp_path):
    ds = load_karpathy(_karpathy_coco(tmp_path), tmp_path / "coco")
    first = ds.images[0]
    assert first.path == str((tmp_path / "coco" / "val2014" / "COCO_val2014_000000391895.jpg").resolve())
    assert first.captions == ["A man with a red helmet.", "Man riding a bike"]  # each its own caption
    assert [r.split for r in ds.images] == ["test", "train", "val"]  # restval counts as train
    assert first.image_id == "391895"
    assert ds.num_pairs() == 4


def test_karpathy_flickr_has_no_filepath(tmp_path):
    data = {
        "dataset": "flickr8k",
        "images": [
            {
                "sentids": [0, 1],
                "imgid": 0,
                "split": "train",
                "filename": "2513260012_03d33305cf.jpg",
                "sentences": [
                    {
                        "tokens": ["a", "black", "dog"],
                        "raw": "A black dog is running after a white dog in the snow .",
                        "imgid": 0,
                        "sentid": 0,
                    },
                    {
                        "tokens": ["black", "dog", "chasing"],
                        "raw": "Black dog chasing brown dog through snow",
                        "imgid": 0,
                        "sentid": 1,
                    },
                ],
            }
        ],
    }
    p = tmp_path / "dataset_flickr8k.json"
    p.write_text(json.dumps(data))
    ds = load_dataset(p, tmp_path / "imgs")
    assert ds.name == "flickr8k"
    assert ds.images[0].path == str((tmp_path / "imgs" / "2513260012_03d33305cf.jpg").resolve())
    assert len(ds.images[0].captions) == 2


def test_official_coco_groups_captions_by_image(tmp_path):
    ann = tmp_path / "annotations"
    ann.mkdir()
    data = {
        "info": {"description": "COCO 2014 Dataset"},
        "licenses": [],
        "images": [
            {"license": 5, "file_name": "COCO_val2014_000000391895.jpg", "height": 360, "width": 640, "id": 391895},
            {"license": 4, "file_name": "COCO_val2014_000000522418.jpg", "height": 480, "width": 640, "id": 522418},
            {"license": 4, "file_name": "COCO_val2014_000000000001.jpg", "height": 480, "width": 640, "id": 1},
        ],
        "annotations": [
            {"image_id": 391895, "id": 770337, "caption": "A man with a red helmet on a small moped."},
            {"image_id": 522418, "id": 681330, "caption": "A woman wearing a net on her head."},
            {"image_id": 391895, "id": 771687, "caption": "Man riding a motor bike on a dirt road."},
        ],
    }
    p = ann / "captions_val2014.json"
    p.write_text(json.dumps(data))
    assert detect_format(p) == "coco"
    ds = load_coco(p)
    assert [r.split for r in ds.images] == ["val", "val"]  # the split comes from the file name
    assert ds.images[0].captions == [
        "A man with a red helmet on a small moped.",
        "Man riding a motor bike on a dirt road.",
    ]
    assert ds.images[0].path == str((tmp_path / "val2014" / "COCO_val2014_000000391895.jpg").resolve())
    assert all(r.image_id != "1" for r in ds.images)  # an image without captions is no training pair


def test_flickr8k_token_file_with_split_lists(tmp_path):
    (tmp_path / "Flickr8k.token.txt").write_text(
        "1000268201_693b08cb0e.jpg#0\tA child in a pink dress is climbing up a set of stairs in an entry way .\n"
        "1000268201_693b08cb0e.jpg#1\tA girl going into a wooden building .\n"
        "1001773457_577c3a7d70.jpg#0\tA black dog and a spotted dog are fighting\n"
        "1002674143_1b742ab4b8.jpg#0\tA little girl covered in paint sits in front of a painted rainbow .\n"
        "1003163366_44323f5815.jpg#0\tA man lays on a bench while his dog sits by him .\n"
    )
    (tmp_path / "Flickr_8k.trainImages.txt").write_text("1000268201_693b08cb0e.jpg\n1001773457_577c3a7d70.jpg\n")
    (tmp_path / "Flickr_8k.devImages.txt").write_text("1002674143_1b742ab4b8.jpg\n")
    (tmp_path / "Flickr_8k.testImages.txt").write_text("1003163366_44323f5815.jpg\n")
    ds = load_dataset(tmp_path / "Flickr8k.token.txt", tmp_path / "Flicker8k_Dataset")
    assert ds.counts() == {"train": 2, "val": 1, "test": 1}
    assert ds.images[0].captions[1] == "A girl going into a wooden building ."
    assert ds.images[0].path.endswith("Flicker8k_Dataset/1000268201_693b08cb0e.jpg")


def test_flickr8k_needs_its_split_lists(tmp_path):
    (tmp_path / "Flickr8k.token.txt").write_text("a.jpg#0\tA dog .\n")
    with pytest.raises(DatasetError, match="split list"):
        load_flickr8k(tmp_path / "Flickr8k.token.txt")


def test_flickr30k_token_file_gets_a_stable_split(tmp_path):
    lines = [f"{1000092795 + i}.jpg#{j}\tCaption {j} of image {i} ." for i in range(40) for j in range(5)]
    (tmp_path / "results_20130124.token").write_text("\n".join(lines) + "\n")
    a = load_flickr30k(tmp_path / "results_20130124.token", val_images=8, test_images=8)
    b = load_flickr30k(tmp_path / "results_20130124.token", val_images=8, test_images=8)
    assert len(a.images) == 40 and all(len(r.captions) == 5 for r in a.images)
    assert [r.split for r in a.images] == [r.split for r in b.images]
    assert {r.split for r in a.images} == {"train", "val", "test"}


def test_flickr30k_results_csv_pipe_separated(tmp_path):
    (tmp_path / "results.csv").write_text(
        "image_name| comment_number| comment\n"
        "1000092795.jpg| 0| Two young guys with shaggy hair look at their hands while hanging out in the yard .\n"
        "1000092795.jpg| 1| Two young , White males are outside near many bushes .\n"
        "10002456.jpg| 0| Several men in hard hats are operating a giant pulley system .\n"
    )
    ds = load_dataset(tmp_path / "results.csv", tmp_path / "flickr30k_images")
    assert ds.name == "flickr30k"
    assert ds.images[0].captions == [
        "Two young guys with shaggy hair look at their hands while hanging out in the yard .",
        "Two young , White males are outside near many bushes .",
    ]


def test_flickr30k_annotations_csv_with_splits(tmp_path):
    raw = json.dumps(["Two young guys with shaggy hair look at their hands.", "Two friends enjoy time spent together."])
    p = tmp_path / "flickr_annotations_30k.csv"
    p.write_text(
        "raw,sentids,split,filename,img_id\n"
        f'"{raw.replace(chr(34), chr(34) * 2)}","[0, 1]",train,1000092795.jpg,0\n'
        f'"{json.dumps(["A dog."]).replace(chr(34), chr(34) * 2)}",[2],test,10002456.jpg,1\n'
    )
    ds = load_flickr30k(p, tmp_path)
    assert [r.split for r in ds.images] == ["train", "test"]
    assert ds.images[0].captions[1] == "Two friends enjoy time spent together."


def test_bad_files_give_clear_errors(tmp_path):
    p = tmp_path / "dataset_coco.json"
    p.write_text('{"images": [{"filename": "x.jpg"}]}')
    with pytest.raises(DatasetError, match="missing"):
        load_karpathy(p)
    t = tmp_path / "Flickr8k.token.txt"
    t.write_text("this line has no tab\n")
    with pytest.raises(DatasetError, match="expected"):
        load_flickr30k(t)


def test_user_captions_split_by_photo_and_stable(tmp_path):
    rows = []
    for i in range(30):
        f = tmp_path / f"p{i}.jpg"
        f.write_bytes(b"x")
        rows += [
            UserCaption(f"photo{i}", str(f), f"Rex the dog number {i}"),
            UserCaption(f"photo{i}", str(f), f"my dog Rex again {i}"),
        ]
    rows.append(UserCaption("gone", str(tmp_path / "missing.jpg"), "a photo that was deleted"))
    rows.append(UserCaption("photo0", str(tmp_path / "p0.jpg"), "   "))
    a, b = user_caption_dataset(rows), user_caption_dataset(list(reversed(rows)))
    assert len(a.images) == 30  # the missing file is skipped, two captions of a photo stay together
    assert all(len(r.captions) == 2 for r in a.images)
    assert {r.image_id: r.split for r in a.images} == {r.image_id: r.split for r in b.images}
    held = {r.image_id for r in a.split("val")}
    assert len(held) >= 3 and len(a.split("train")) == 30 - len(held)
    assert {f"photo{i}" for i in range(30) if held_out(f"photo{i}")} <= held  # the library's 10 % rule


def test_small_libraries_hold_nothing_out(tmp_path):
    rows = []
    for i in range(19):
        f = tmp_path / f"p{i}.jpg"
        f.write_bytes(b"x")
        rows.append(UserCaption(f"photo{i}", str(f), "a dog", "val" if i == 0 else "train"))
    assert {r.split for r in user_caption_dataset(rows).images} == {"train"}
