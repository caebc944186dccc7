"""How fast photos become captions, against the bounds of this machine and a seed-style loop.

    python bench/caption_throughput.py [--photos DIR] [--n 96] [--batch 16] [--beam 3]

All figures come from one run, on the same photos, with the same encoder (EfficientNet-Lite0):

  (1a) decode + resize only (all cores, draft mode)            photos/s
  (1b) encoder forward only, on pre-decoded 224x224 images     photos/s
  B  = 1 / (1/(1a) + 1/(1b))   the bound when both share the same cores
  (2)  the full pipeline, file -> caption (CaptionEngine)       photos/s, and (2)/B
  (2t) the same pipeline with the tagger only (no decoder, what ships without a trained model)
  (3)  a seed-style loop: full-size decode, one photo at a time, unbatched greedy
and (2)/(3). Also: full vs draft decode of big baseline and progressive JPEGs, and the
encoder with and without channels_last.

The caption decoder has the shape photocap-train gives an attention model by default
(features projected 1280 -> 256 with grid positions, embed 256, hidden 512, attention 256)
and a Flickr8k-sized vocabulary (2,500 words). Its weights are untrained and <end> is
switched off, so every caption is exactly --max-len words: the decode cost is fixed and
realistic, the captions are noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import photocap.engine  # noqa: F401 - first: sets the OpenMP wait policy before torch loads
from photocap import imaging
from photocap.engine import CaptionEngine
from photocap.model import Captioner, DecoderConfig, Vocabulary, build_decoder, build_encoder, greedy
from photocap.model.device import configure_threads
from photocap.model.vocab import END_ID

WALLPAPERS = Path("/usr/share/wallpapers")


def find_photos(folder: Path | None, min_side: int = 1080) -> list[Path]:
    """Distinct large JPEGs (wallpaper packages link one file under many sizes)."""
    roots = [folder] if folder else [WALLPAPERS]
    seen, out = set(), []
    for root in roots:
        for p in sorted(root.rglob("*.jp*g")):
            real = p.resolve()
            if real in seen or "screenshot" in p.name:
                continue
            seen.add(real)
            with Image.open(real) as im:
                if min(im.size) >= min_side:
                    out.append(real)
    return out


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def flickr8k_sized_decoder(seed: int = 0):
    torch.manual_seed(seed)
    vocab = Vocabulary([f"w{i}" for i in range(2496)])
    dec = build_decoder(
        DecoderConfig(
            kind="attention",
            vocab_size=len(vocab),
            embed_dim=256,
            hidden_dim=512,
            attention_dim=256,
            feature_proj=256,
            positions=49,
        )
    ).eval()
    with torch.no_grad():
        dec.fc.bias[END_ID] = -1e4  # never end early: every caption costs max_len steps
    return dec, vocab


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, help="folder of large JPEGs (default: the KDE wallpapers)")
    ap.add_argument("--n", type=int, default=96, help="photos per measurement (the set is cycled)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--beam", type=int, default=3)
    ap.add_argument("--max-len", type=int, default=12, help="caption length (Flickr8k's mean is ~12 words)")
    ap.add_argument("--naive-n", type=int, default=24, help="photos for the slow seed-style loop")
    args = ap.parse_args()

    configure_threads()
    cores = os.cpu_count() or 1
    distinct = find_photos(args.photos)
    if not distinct:
        print("no large JPEGs found; pass --photos DIR", file=sys.stderr)
        return 2
    paths = [distinct[i % len(distinct)] for i in range(args.n)]
    sizes = sorted({Image.open(p).size for p in distinct})
    print(f"photos: {len(distinct)} distinct JPEGs ({', '.join(f'{w}x{h}' for w, h in sizes)}), cycled to {args.n}")
    print(
        f"machine: {cores} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    lite0 = build_encoder("efficientnet_lite0")
    dec, vocab = flickr8k_sized_decoder()
    captioner = Captioner(lite0, dec, vocab, device="cpu")
    tagger = Captioner(lite0, device="cpu")
    pre = captioner.preprocess
    for p in distinct:  # warm the OS file cache for every measurement alike
        Path(p).read_bytes()

    # (1a) decode + resize, all cores
    def decode_all():
        with ThreadPoolExecutor(cores) as pool:
            return list(pool.map(lambda p: imaging.load_for_model(p, pre.size, pre.resize), paths))

    images = decode_all()
    t_decode = timed(decode_all, 2)
    r_decode = args.n / t_decode

    # (1b) encoder forward only
    batches = [images[i : i + args.batch] for i in range(0, len(images), args.batch)]
    tensors = [torch.from_numpy(np.stack([np.asarray(im) for im in b])).permute(0, 3, 1, 2) for b in batches]
    captioner.encode(tensors[0])
    t_enc = timed(lambda: [captioner.encode(t) for t in tensors], 2)
    r_enc = args.n / t_enc
    bound = 1 / (1 / r_decode + 1 / r_enc)

    # decoder alone, for the record
    feats = [captioner.encode(t).spatial for t in tensors]
    from photocap.model import decode as run_decode

    t_dec = timed(lambda: [run_decode(dec, f, beam=args.beam, max_len=args.max_len) for f in feats], 1)
    r_dec = args.n / t_dec

    # (2) full pipeline, and (2t) with the tagger only
    engine = CaptionEngine(captioner, beam=args.beam, max_len=args.max_len, batch_size=args.batch)
    list(engine.caption_paths(paths[: args.batch]))  # warm-up
    t_full = timed(lambda: list(engine.caption_paths(paths)), 2)
    r_full = args.n / t_full
    tag_engine = CaptionEngine(tagger, batch_size=args.batch)
    t_tags = timed(lambda: list(tag_engine.caption_paths(paths)), 2)
    r_tags = args.n / t_tags

    # (3) the seeds' way: full-size decode, one photo at a time, unbatched greedy, no channels_last
    naive_enc = build_encoder("efficientnet_lite0")
    mean = torch.tensor(pre.mean).view(3, 1, 1)
    std = torch.tensor(pre.std).view(3, 1, 1)

    def naive():
        for p in paths[: args.naive_n]:
            im = Image.open(p).convert("RGB").resize((pre.size, pre.size), Image.Resampling.BILINEAR)
            x = (torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255 - mean) / std
            with torch.no_grad():
                f = naive_enc(x.unsqueeze(0)).spatial
                greedy(dec, f, max_len=args.max_len)

    t_naive = timed(naive, 1)
    r_naive = args.naive_n / t_naive

    print()
    print(f"(1a) decode + resize, {cores} threads      {r_decode:7.1f} photos/s")
    print(f"(1b) encoder forward, batch {args.batch}          {r_enc:7.1f} photos/s")
    print(f"     B = 1/(1/1a + 1/1b)               {bound:7.1f} photos/s")
    print(f"     decoder alone, beam {args.beam}, {args.max_len} words   {r_dec:7.1f} photos/s")
    print(f"(2)  full pipeline, beam {args.beam}              {r_full:7.1f} photos/s   = {r_full / bound:.2f} x B")
    print(f"(2t) pipeline, tags only                {r_tags:7.1f} photos/s   = {r_tags / bound:.2f} x B")
    print(f"(3)  seed-style loop                    {r_naive:7.1f} photos/s")
    print(f"     (2) / (3) = {r_full / r_naive:.1f} x")
    print(
        f"     (2) vs a bound that includes the decoder, 1/(1/1a+1/1b+1/dec) = "
        f"{1 / (1 / r_decode + 1 / r_enc + 1 / r_dec):.1f} photos/s -> "
        f"{r_full * (1 / r_decode + 1 / r_enc + 1 / r_dec):.2f} x"
    )

    print("\nJPEG draft mode (one thread, median of 5):")
    for want in ("progressive", "baseline"):
        big = [
            p
            for p in distinct
            if Image.open(p).size == (5120, 2880)
            and bool(Image.open(p).info.get("progressive")) == (want == "progressive")
        ]
        if not big:
            print(f"  no 5120x2880 {want} JPEG found")
            continue
        first = big[0]
        full = statistics.median(timed(lambda: imaging.load_rgb(first)) for _ in range(5))  # noqa: B023 (called at once)
        draft = statistics.median(timed(lambda: imaging.load_rgb(first, min_size=pre.size)) for _ in range(5))  # noqa: B023
        print(
            f"  5120x2880 {want:<11} full {full * 1000:6.0f} ms   draft {draft * 1000:5.0f} ms   "
            f"{full / draft:.1f} x  ({big[0].parent.parent.parent.name})"
        )

    x = torch.randn(args.batch, 3, pre.size, pre.size)
    with torch.inference_mode():
        naive_enc(x)
        t_plain = timed(lambda: naive_enc(x), 3)
        cl = build_encoder("efficientnet_lite0").to(memory_format=torch.channels_last)
        xc = x.contiguous(memory_format=torch.channels_last)
        cl(xc)
        t_cl = timed(lambda: cl(xc), 3)
    print(
        f"\nencoder batch {args.batch}: contiguous {args.batch / t_plain:.1f} img/s, channels_last "
        f"{args.batch / t_cl:.1f} img/s ({t_plain / t_cl:.2f} x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
