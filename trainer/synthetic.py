"""A synthetic captioning benchmark anyone can regenerate: coloured shapes and where they are.

Each scene has 1-3 shapes (circle, square, triangle, star) in 6 colours and 2 sizes on a
lightly tinted background. Every pair of shapes is clearly apart along one axis, so each
pair has exactly one true relation (left of / right of / above / below). Every scene gets
five captions in different phrasings (different object orders, with or without the count),
deterministic from the seed. ``score_captions`` parses generated captions back and measures
relation accuracy and object/colour precision against the scene.

``make_synthetic(out_dir, ...)`` writes the PNGs, a Karpathy-format ``dataset_synth.json``
(so the ordinary Karpathy loader reads it) and ``scenes.json`` (the ground truth).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from photocap.model.vocab import tokenize

SHAPES = ("circle", "square", "triangle", "star")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 215, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
}
SIZES = {"small": (13, 17), "large": (28, 36)}  # radius range in pixels on a 224 canvas
RELATIONS = ("left of", "right of", "above", "below")
INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
PHRASE = {"left of": "to the left of", "right of": "to the right of", "above": "above", "below": "below"}
COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
SCENES_FILE = "scenes.json"
KARPATHY_FILE = "dataset_synth.json"


@dataclass
class Shape:
    shape: str
    colour: str
    size: str
    cx: float
    cy: float
    r: float

    def phrase(self) -> str:
        return f"{self.size} {self.colour} {self.shape}"


@dataclass
class Scene:
    filename: str
    shapes: list[Shape]
    captions: list[str]


def relation(a: Shape, b: Shape) -> str:
    """The one true relation of ``a`` to ``b`` (the axis along which they are further apart)."""
    dx, dy = a.cx - b.cx, a.cy - b.cy
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


def _clear(a: Shape, b: Shape) -> bool:
    """Apart (no overlap) and unambiguous: one axis clearly dominates the other."""
    dx, dy = abs(a.cx - b.cx), abs(a.cy - b.cy)
    if math.hypot(dx, dy) < a.r + b.r + 6:
        return False
    big, small = max(dx, dy), min(dx, dy)
    return big >= a.r + b.r + 4 and big >= 1.6 * small + 8


def _chain(objs: list[Shape]) -> str:
    """'a A rel a B rel a C': each relation links neighbours in the list."""
    parts = [f"a {objs[0].phrase()}"]
    for prev, cur in itertools.pairwise(objs):
        parts.append(f"{PHRASE[relation(prev, cur)]} a {cur.phrase()}")
    return " ".join(parts)


def _captions(shapes: list[Shape], rng: random.Random) -> list[str]:
    n = len(shapes)
    if n == 1:
        s = shapes[0].phrase()
        return [f"a {s}", f"there is a {s}", f"one {s}", f"a single {s}", f"one shape a {s}"]
    by_x = sorted(shapes, key=lambda s: s.cx)
    by_y = sorted(shapes, key=lambda s: s.cy)
    count = COUNT_WORDS[n]
    listing = " and ".join(f"a {s.phrase()}" for s in by_x)
    orders = [by_x, by_y, by_x[::-1], by_y[::-1]]
    rng.shuffle(orders)
    return [
        _chain(by_x),
        f"{count} shapes {_chain(by_y)}",
        f"there are {count} shapes {_chain(orders[0])}",
        _chain(orders[1]),
        f"{count} shapes {listing}",
    ]


def _star(cx, cy, r):
    pts = []
    for i in range(10):
        ang = -math.pi / 2 + i * math.pi / 5
        rad = r if i % 2 == 0 else r * 0.45
        pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
    return pts


def draw_scene(shapes: list[Shape], size: int, background: tuple[int, int, int], rng: random.Random) -> Image.Image:
    scale = 2  # draw at 2x and shrink: anti-aliased edges like a photo's
    im = Image.new("RGB", (size * scale, size * scale), background)
    d = ImageDraw.Draw(im)
    k = scale * size / 224
    for s in shapes:
        base = COLOURS[s.colour]
        fill = tuple(max(0, min(255, c + rng.randint(-15, 15))) for c in base)
        cx, cy, r = s.cx * k, s.cy * k, s.r * k
        if s.shape == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif s.shape == "square":
            h = r * 0.88
            d.rectangle([cx - h, cy - h, cx + h, cy + h], fill=fill)
        elif s.shape == "triangle":
            d.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.75), (cx - r * 0.95, cy + r * 0.75)], fill=fill)
        else:
            d.polygon(_star(cx, cy, r * 1.1), fill=fill)
    return im.resize((size, size), Image.Resampling.LANCZOS)


def make_scene(rng: random.Random, filename: str, max_shapes: int = 3) -> Scene:
    n = rng.randint(1, max_shapes)
    for _ in range(1000):
        shapes = []
        for _ in range(n):
            size = rng.choice(tuple(SIZES))
            r = rng.uniform(*SIZES[size])
            m = r + 4
            shapes.append(
                Shape(
                    rng.choice(SHAPES),
                    rng.choice(tuple(COLOURS)),
                    size,
                    round(rng.uniform(m, 224 - m), 1),
                    round(rng.uniform(m, 224 - m), 1),
                    round(r, 1),
                )
            )
        if all(_clear(a, b) for i, a in enumerate(shapes) for b in shapes[i + 1 :]):
            return Scene(filename, shapes, _captions(shapes, rng))
    raise RuntimeError("could not place the shapes")  # pragma: no cover - 1000 tries never all fail


def make_synthetic(
    out_dir: str | os.PathLike,
    n_train: int = 4000,
    n_val: int = 250,
    n_test: int = 500,
    seed: int = 0,
    image_size: int = 224,
    progress=None,
) -> Path:
    """Write the benchmark into ``out_dir``; returns the Karpathy JSON path. Same seed, same files."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    images, scenes = [], []
    splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    for i, split in enumerate(splits):
        name = f"synth_{i:06d}.png"
        scene = make_scene(rng, name)
        red, green, blue = (rng.randint(205, 250) for _ in range(3))
        bg = (red, green, blue)
        img_rng = random.Random(rng.getrandbits(64))
        draw_scene(scene.shapes, image_size, bg, img_rng).save(out / "images" / name, optimize=False)
        images.append(
            {
                "filepath": "images",
                "filename": name,
                "imgid": i,
                "split": split,
                "sentids": list(range(5 * i, 5 * i + 5)),
                "sentences": [
                    {"raw": c, "tokens": tokenize(c), "imgid": i, "sentid": 5 * i + j}
                    for j, c in enumerate(scene.captions)
                ],
            }
        )
        scenes.append({"filename": name, "split": split, "shapes": [asdict(s) for s in scene.shapes]})
        if progress is not None and (i + 1) % 500 == 0:
            progress(i + 1, len(splits))
    _write_json(out / SCENES_FILE, {"seed": seed, "scenes": scenes})
    path = out / KARPATHY_FILE
    _write_json(path, {"dataset": "synth", "seed": seed, "images": images})
    return path


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def load_scenes(directory: str | os.PathLike) -> dict[str, list[Shape]]:
    """filename -> shapes, from a directory written by :func:`make_synthetic`."""
    data = json.loads((Path(directory) / SCENES_FILE).read_text())
    return {s["filename"]: [Shape(**d) for d in s["shapes"]] for s in data["scenes"]}


# ---- reading captions back ------------------------------------------------------------

_REL_TOKENS = [
    (("to", "the", "left", "of"), "left of"),
    (("to", "the", "right", "of"), "right of"),
    (("left", "of"), "left of"),
    (("right", "of"), "right of"),
    (("above",), "above"),
    (("below",), "below"),
]


@dataclass
class Mention:
    shape: str
    colour: str | None
    size: str | None


def parse_caption(text: str) -> tuple[list[Mention], list[tuple[int, str, int]], int | None]:
    """Mentions of shapes, relations between neighbouring mentions (i, rel, j) and a stated count."""
    words = tokenize(text)
    mentions: list[Mention] = []
    relations: list[tuple[int, str, int]] = []
    count = None
    pending_rel = None
    colour = size = None
    i = 0
    while i < len(words):
        w = words[i]
        rel = next((name for toks, name in _REL_TOKENS if tuple(words[i : i + len(toks)]) == toks), None)
        if rel is not None:
            pending_rel = rel if mentions else None
            i += len(
                next(toks for toks, name in _REL_TOKENS if name == rel and tuple(words[i : i + len(toks)]) == toks)
            )
            continue
        if w in COLOURS:
            colour = w
        elif w in SIZES:
            size = w
        elif w in SHAPES:
            mentions.append(Mention(w, colour, size))
            if pending_rel is not None:
                relations.append((len(mentions) - 2, pending_rel, len(mentions) - 1))
            pending_rel = None
            colour = size = None
        elif w in ("shapes", "shape") and i > 0 and words[i - 1] in COUNT_WORDS.values():
            count = {v: k for k, v in COUNT_WORDS.items()}[words[i - 1]]
        elif w == "and":
            pending_rel = None
        i += 1
    return mentions, relations, count


def _matches(m: Mention, s: Shape, attrs=("shape", "colour", "size")) -> bool:
    return all(getattr(m, a) is None or getattr(m, a) == getattr(s, a) for a in attrs)


def score_captions(captions: dict[str, str], scenes: dict[str, list[Shape]]) -> dict[str, float]:
    """Relation accuracy and object/colour precision of generated captions (filename -> text).

    * relation_accuracy: of the stated relations whose two objects are in the scene, the share
      that is the true one (chance is 0.25); relation_coverage: stated relations per scene pair
      that a caption could state (one per neighbouring pair in the chain).
    * object_precision: named objects (colour, size, shape as stated) that are in the scene;
      shape_precision: named shapes that are in the scene; colour_precision: of the named
      objects whose shape is there, those whose colour is right.
    * object_recall: scene objects named; count_accuracy: stated counts that are right.
    """
    n_obj = n_obj_ok = n_shape_ok = n_col = n_col_ok = 0
    n_rel = n_rel_ok = n_rel_possible = n_count = n_count_ok = 0
    recall_hit = recall_total = 0
    for name, text in captions.items():
        shapes = scenes[name]
        mentions, rels, count = parse_caption(text)
        found: list[list[Shape]] = []
        for m in mentions:
            n_obj += 1
            full = [s for s in shapes if _matches(m, s)]
            found.append(full)
            n_obj_ok += bool(full)
            same_shape = [s for s in shapes if s.shape == m.shape]
            n_shape_ok += bool(same_shape)
            if same_shape and m.colour is not None:
                n_col += 1
                n_col_ok += any(s.colour == m.colour for s in same_shape)
        recall_total += len(shapes)
        recall_hit += sum(any(_matches(m, s) for m in mentions) for s in shapes)
        n_rel_possible += len(shapes) - 1
        for i, rel, j in rels:
            if not found[i] or not found[j]:
                continue
            n_rel += 1
            n_rel_ok += any(relation(a, b) == rel for a in found[i] for b in found[j] if a is not b)
        if count is not None:
            n_count += 1
            n_count_ok += count == len(shapes)
    div = lambda a, b: a / b if b else 0.0  # noqa: E731
    return {
        "relation_accuracy": div(n_rel_ok, n_rel),
        "relations_stated": n_rel,
        "relation_coverage": div(n_rel, n_rel_possible),
        "object_precision": div(n_obj_ok, n_obj),
        "shape_precision": div(n_shape_ok, n_obj),
        "colour_precision": div(n_col_ok, n_col),
        "object_recall": div(recall_hit, recall_total),
        "count_accuracy": div(n_count_ok, n_count),
    }
