"""``photocap teach`` and ``photocap model``: teach photocap your words, choose which model describes.

    photocap teach [--minutes M] [--use] [--resume]
    photocap model list [--json] | use ID | rollback | import FILE | remove ID | rename ID NAME

Teaching runs the same generator as the app's Teach tab (:func:`trainer.teach.teach`) and
prints its progress; Ctrl+C stops it with its state kept (``photocap teach --resume``).
A new model is registered but not used until ``--use`` or ``photocap model use ID``;
switching marks every automatic caption to be described again (``photocap index``, or the
app, does it), and never touches a caption you wrote.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from photocap.cli.library_cmds import _err, _open


def register(sub: argparse._SubParsersAction) -> None:
    lib_opt = argparse.ArgumentParser(add_help=False)
    lib_opt.add_argument("--library", metavar="FILE", help="library file (default: the one in your data folder)")

    p = sub.add_parser(
        "teach",
        parents=[lib_opt],
        help="teach photocap from the captions you wrote",
        description="Train a caption model on the captions you wrote (from scratch, or starting "
        "from the model in use) and register it as a new model version. Ctrl+C stops it; "
        "--resume continues.",
    )
    p.add_argument("--minutes", type=float, metavar="M", help="time budget (default: by the number of captions)")
    p.add_argument("--use", action="store_true", help="use the new model at once (captions are redone)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted teaching")
    p.add_argument("--no-imported", action="store_true", help="learn only from captions written in photocap")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--quiet", action="store_true", help="print the result only")
    p.set_defaults(func=run_teach)

    p = sub.add_parser(
        "model",
        parents=[lib_opt],
        help="list, switch, import, remove or rename caption models",
        description="The caption models this library knows. Switching (use, rollback) has every "
        "automatic caption described again; captions you wrote are never touched.",
    )
    msub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    m = msub.add_parser("list", parents=[lib_opt], help="the model versions (* = in use)")
    m.add_argument("--json", action="store_true", help="print JSON")
    m.set_defaults(func=run_model_list)
    m = msub.add_parser("use", parents=[lib_opt], help="describe photos with this model ('tags' for none)")
    m.add_argument("model_id", metavar="ID")
    m.set_defaults(func=run_model_use)
    m = msub.add_parser("rollback", parents=[lib_opt], help="go back to the model used before this one")
    m.set_defaults(func=run_model_rollback)
    m = msub.add_parser("import", parents=[lib_opt], help="bring a model file into the library (checked first)")
    m.add_argument("file", metavar="FILE")
    m.set_defaults(func=run_model_import)
    m = msub.add_parser("remove", parents=[lib_opt], help="forget a model version and delete its file")
    m.add_argument("model_id", metavar="ID")
    m.set_defaults(func=run_model_remove)
    m = msub.add_parser("rename", parents=[lib_opt], help="give a model version a name")
    m.add_argument("model_id", metavar="ID")
    m.add_argument("name", metavar="NAME")
    m.set_defaults(func=run_model_rename)


# ---- teach --------------------------------------------------------------------------------------
def run_teach(args: argparse.Namespace) -> int:
    lib = _open(args)
    if lib is None:
        return 2
    path = lib.path
    lib.close()
    from trainer.teach import TeachOptions, interrupted_teaching, teach
    from trainer.train import TrainControl

    if not args.resume and (left := interrupted_teaching(path)) is not None:
        print(
            f"(an interrupted teaching from {left['started']} is discarded; use --resume to continue one)",
            file=sys.stderr,
        )
    control = TrainControl()

    def on_sigint(signum, frame):
        if control.cancelled:
            raise KeyboardInterrupt
        print("\nstopping after this step (continue with: photocap teach --resume)", file=sys.stderr, flush=True)
        control.cancel()

    old = signal.signal(signal.SIGINT, on_sigint)
    opts = TeachOptions(minutes=args.minutes, include_imported=not args.no_imported, device=args.device)
    last = None
    try:
        for ev in teach(path, opts, control, resume=args.resume):
            last = ev
            if not args.quiet or ev.kind in ("done", "cancelled"):
                print(ev, flush=True)
    except ValueError as exc:  # nothing to teach from, nothing to resume, settings that do not fit
        _err(str(exc))
        return 2
    finally:
        signal.signal(signal.SIGINT, old)
    if last is None or last.kind != "done":
        return 1
    model_id = last.metrics["model_id"]
    if args.use:
        return _use(args, model_id)
    print(f"to use it: photocap model use {model_id}")
    return 0


# ---- model ----------------------------------------------------------------------------------------
def _when(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else ""


def _score(metrics: dict) -> str:
    parts = [
        f"{label} {metrics[key]:.3f}"
        for key, label in (("BLEU-4", "BLEU-4"), ("CIDEr", "CIDEr"))
        if isinstance(metrics.get(key), (int, float))
    ]
    if isinstance(metrics.get("captions"), int):
        parts.append(f"{metrics['captions']} captions")
    return ", ".join(parts)


def run_model_list(args: argparse.Namespace) -> int:
    lib = _open(args)
    if lib is None:
        return 2
    with lib:
        versions = lib.model_versions()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "model_id": v.model_id,
                        "name": v.name,
                        "path": v.path,
                        "parent": v.parent_model_id,
                        "active": v.active,
                        "created_at": v.created_at.isoformat(),
                        "activated_at": v.activated_at.isoformat() if v.activated_at else None,
                        "metrics": v.metrics,
                    }
                    for v in versions
                ],
                ensure_ascii=False,
                indent=1,
            )
        )
        return 0
    if not versions:
        print("no caption models yet: photos are described by their tags (teach one: photocap teach)")
        return 0
    if not any(v.active for v in versions):
        print("in use: none (photos are described by their tags)")
    for v in versions:
        mark = "*" if v.active else " "
        parent = f"  from {v.parent_model_id}" if v.parent_model_id else ""
        score = _score(v.metrics)
        print(
            f"{mark} {v.model_id}  {v.name or '(unnamed)'}  {_when(v.created_at)}{parent}"
            + (f"  [{score}]" if score else "")
        )
    return 0


def _use(args: argparse.Namespace, model_id: str | None) -> int:
    lib = _open(args)
    if lib is None:
        return 2
    with lib:
        try:
            marked = lib.activate_model(model_id)
        except KeyError:
            _err(f"no model {model_id!r} in this library (see: photocap model list)")
            return 1
    what = model_id or "tags (no caption model)"
    print(
        f"now describing with {what}; {marked} automatic captions will be described again "
        "(run: photocap index, or open the app)"
    )
    return 0


def run_model_use(args: argparse.Namespace) -> int:
    return _use(args, None if args.model_id in ("tags", "none") else args.model_id)


def run_model_rollback(args: argparse.Namespace) -> int:
    lib = _open(args)
    if lib is None:
        return 2
    with lib:
        versions = lib.model_versions()
    active = next((v for v in versions if v.active), None)
    if active is None:
        _err("no model is in use, so there is nothing to roll back from")
        return 1
    earlier = [v for v in versions if not v.active and v.activated_at is not None and v.path]
    if not earlier:
        print("no model was used before this one: going back to tags")
        return _use(args, None)
    previous = max(earlier, key=lambda v: v.activated_at)
    return _use(args, previous.model_id)


def run_model_import(args: argparse.Namespace) -> int:
    lib = _open(args)
    if lib is None:
        return 2
    path = lib.path
    lib.close()
    from trainer.teach import ImportRefused, import_model

    try:
        info = import_model(path, args.file)
    except ImportRefused as exc:
        _err(f"not imported: {exc}")
        return 1
    print(f"imported {info.model_id} ({info.name}); to use it: photocap model use {info.model_id}")
    return 0


def _on_version(args: argparse.Namespace, action, done) -> int:
    """Run ``action(lib)`` on a model version; say what was done, or why not."""
    lib = _open(args)
    if lib is None:
        return 2
    with lib:
        try:
            info = action(lib)
        except KeyError:
            _err(f"no model {args.model_id!r} in this library (see: photocap model list)")
            return 1
        except ValueError as exc:
            _err(str(exc))
            return 1
    print(done(info))
    return 0


def run_model_remove(args: argparse.Namespace) -> int:
    return _on_version(
        args,
        lambda lib: lib.remove_model_version(args.model_id),
        lambda info: f"removed {info.model_id} ({info.name or 'unnamed'})",
    )


def run_model_rename(args: argparse.Namespace) -> int:
    return _on_version(
        args,
        lambda lib: lib.rename_model_version(args.model_id, args.name),
        lambda info: f"{info.model_id} is now called {info.name!r}",
    )
