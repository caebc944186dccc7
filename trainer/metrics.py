"""Caption metrics from pycocoevalcap: BLEU-1..4, ROUGE-L and CIDEr (pure Python, always),
METEOR when Java is there (its jar ships inside pycocoevalcap). SPICE is not offered: it
downloads Stanford CoreNLP on first use.

Tokenisation: ``ptb`` is the COCO protocol (Stanford PTBTokenizer, Java, jar in the package);
``simple`` is photocap's own tokenizer (lower-case words, punctuation dropped) and needs no
Java - training's per-epoch validation uses it because it costs no JVM start. ``auto`` takes
PTB when Java runs and falls back to ``simple``. Reports say which one was used.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from functools import lru_cache

from photocap.model.vocab import tokenize

METRIC_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr", "METEOR")


@lru_cache(maxsize=1)
def java_available() -> bool:
    java = shutil.which("java")
    if not java:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _simple(captions: dict) -> dict:
    return {k: [" ".join(tokenize(c)) for c in v] for k, v in captions.items()}


def _ptb(captions: dict) -> dict:
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    return PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions.items()})


def tokenize_all(refs: dict, hyps: dict, tokenizer: str) -> tuple[dict, dict, str]:
    if tokenizer in ("auto", "ptb") and java_available():
        try:
            # one JVM start for references and hypotheses together
            both = _ptb({**{("r", k): v for k, v in refs.items()}, **{("h", k): [v] for k, v in hyps.items()}})
            return ({k: both[("r", k)] for k in refs}, {k: both[("h", k)] for k in hyps}, "ptb")
        except Exception as exc:
            if tokenizer == "ptb":
                raise RuntimeError(f"the PTB tokenizer failed: {exc}") from exc
    elif tokenizer == "ptb":
        raise RuntimeError("the PTB tokenizer needs Java, which is not installed; use --tokenizer simple")
    return _simple(refs), {k: [" ".join(tokenize(v))] for k, v in hyps.items()}, "simple"


def _meteor(gts: dict, res: dict, timeout: float) -> tuple[float | None, str]:
    if not java_available():
        return None, "skipped: Java is not installed (METEOR runs the jar inside pycocoevalcap)"
    from pycocoevalcap.meteor.meteor import Meteor

    out: dict = {}

    def run():
        try:
            m = Meteor()
            out["proc"] = m.meteor_p
            out["score"] = m.compute_score(gts, res)[0]
        except Exception as exc:
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        proc = out.get("proc")
        if proc is not None:
            proc.kill()
        return None, f"skipped: METEOR did not answer within {timeout:.0f} s"
    if "error" in out:
        return None, f"skipped: METEOR failed ({out['error']})"
    return float(out["score"]), "ok"


def score_captions(
    refs: dict, hyps: dict, tokenizer: str = "auto", meteor: bool | str = "auto", meteor_timeout: float = 300.0
) -> dict:
    """``refs``: id -> list of reference captions; ``hyps``: id -> one generated caption.

    Returns ``{"BLEU-1": .., ..., "CIDEr": .., "METEOR": ..|None, "tokenizer": .., "meteor": status}``.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    keys = [k for k in hyps if refs.get(k)]
    if not keys:
        raise ValueError("nothing to score: no generated caption has references")
    refs = {k: refs[k] for k in keys}
    hyps = {k: hyps[k] for k in keys}
    gts, res, tok = tokenize_all(refs, hyps, tokenizer)
    out: dict = {}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    for n, b in enumerate(bleu, 1):
        out[f"BLEU-{n}"] = float(b)
    out["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    out["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    if meteor is True or (meteor == "auto"):
        out["METEOR"], out["meteor"] = _meteor(gts, res, meteor_timeout)
    else:
        out["METEOR"], out["meteor"] = None, "skipped: not asked for"
    out["tokenizer"] = tok
    out["images"] = len(keys)
    return out
