"""The Teach tab end to end: a real library with the user's captions, the real trainer generator
(tiny network, a few steps), compare, activate, roll back, import; and its parts on their own."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from photocap.ingest import scan
from photocap.library import open_library
from photocap.library.records import ModelVersionInfo
from photocap.ui.item_models.model_versions import (
    BUILTIN_NAME,
    ActiveRole,
    ModelIdRole,
    ModelVersionsModel,
    lineage,
    rollback_target,
)
from photocap.ui.jobs.teaching import TeachOutcome, follow
from tests.ui.conftest import make_photos

# A network small enough to teach in seconds on two cores (the trainer's own size rule is for real use).
TINY = {
    "embed_dim": 16,
    "hidden_dim": 24,
    "attention_dim": 16,
    "feature_proj": 16,
    "batch_size": 2,
    "log_every": 1,
    "val_images": 4,
}
CAPTIONS = [
    "rex the dog on the red sofa",
    "granny's blue teapot",
    "the old oak by the lake",
    "rex asleep on the porch",
    "a yellow kite over the dunes",
    "the blue teapot again",
]


def _version(model_id, parent=None, active=False, created=0, activated=None, path="x.safetensors", **metrics):
    base = _dt.datetime(2026, 12, 1, 12, 0)
    return ModelVersionInfo(
        model_id,
        path,
        None,
        parent,
        metrics,
        base + _dt.timedelta(minutes=created),
        active,
        None if activated is None else base + _dt.timedelta(minutes=activated),
    )


# ---- parts ----------------------------------------------------------------------------------------
def test_versions_model_passes_the_model_tester_and_knows_lineage_and_rollback(qtmodeltester):
    model = ModelVersionsModel()
    versions = [
        _version("a", created=1, activated=2, CIDEr=0.4),
        _version("b", "a", created=3, activated=5),
        _version("c", "b", active=True, created=6, activated=7, CIDEr=1.25, **{"BLEU-4": 0.5}),
    ]
    model.set_versions(versions)
    qtmodeltester.check(model)
    assert model.rowCount() == 4  # the built-in tagger + three versions, newest first
    assert model.index(0, 0).data() == BUILTIN_NAME and model.index(0, 0).data(ModelIdRole) is None
    assert [model.index(r, 0).data(ModelIdRole) for r in range(1, 4)] == ["c", "b", "a"]
    assert model.index(1, 0).data(ActiveRole) and model.index(1, 4).data() == "Active"
    assert model.index(1, 2).data() == "1.25" and model.index(1, 3).data() == "0.50"
    assert [v.model_id for v in lineage(versions, "c")] == ["a", "b", "c"]
    assert rollback_target(versions) == (True, "b")  # the one active before
    only = [_version("c", active=True, activated=1)]
    assert rollback_target(only) == (True, None)  # back to the built-in tagger
    assert rollback_target([_version("c")]) == (False, None)  # nothing active: nothing to roll back
    # the name is editable (not the built-in row's); a rename goes out as a request
    requests = []
    model.rename_requested.connect(lambda mid, name: requests.append((mid, name)))
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(model.index(2, 0), "  Summer model ")
    assert requests == [("b", "Summer model")]
    assert not model.setData(model.index(2, 0), "   ")


def _ev(kind, step=0, **kw):
    return SimpleNamespace(
        kind=kind,
        step=step,
        epoch=kw.get("epoch", 0),
        total_steps=kw.get("total_steps", 100),
        loss=kw.get("loss"),
        eta_s=kw.get("eta_s"),
        metrics=kw.get("metrics", {}),
        message=kw.get("message", ""),
        path=kw.get("path"),
    )


def test_follow_throttles_updates_but_keeps_every_point():
    clock = {"t": 0.0}

    def events():
        yield _ev("start", total_steps=100)
        for i in range(1, 101):
            clock["t"] += 0.002  # 500 steps/s: far more than the GUI wants to hear
            yield _ev("step", i, loss=5.0 - i / 50)
            if i % 50 == 0:
                yield _ev("validation", i, metrics={"CIDEr": i / 50, "val_loss": 1.0})
        yield _ev("done", 100, metrics={"CIDEr": 2.0, "model_id": "new-1"}, path="/m.safetensors")

    gen = follow(events(), now=lambda: clock["t"])
    updates = []
    while True:
        try:
            updates.append(next(gen))
        except StopIteration as stop:
            outcome = stop.value
            break
    assert len(updates) < 15  # 0.2 s of events: ~2 throttled updates + the prompt ones
    assert [s for u in updates for s, _ in u.losses] == list(range(1, 101))
    assert [v for u in updates for _, v in u.scores] == [1.0, 2.0]
    assert outcome == TeachOutcome("done", "new-1", "/m.safetensors", {"CIDEr": 2.0}, "")
    assert updates[-1].phase == "done" and updates[-1].step == 100


def test_the_detail_badge_says_how_sure_the_model_was():
    from photocap.ui.views.detail_panel import badge_for

    rec = SimpleNamespace(text="rex on the sofa", source="model", model_id="m1", created_at=None, confidence=0.82)
    detail = SimpleNamespace(status="ok", caption_source="model", caption_model="m1", history=[rec])
    assert badge_for(detail) == ("model", "Model m1 · 82% sure")
    rec.confidence = None
    assert badge_for(detail) == ("model", "Model m1")
    # a taught model unsure of a photo unlike those it learnt from: the tags stay, and the badge says why
    rec.confidence = 0.31
    fell_back = SimpleNamespace(status="ok", caption_source="tags", caption_model="", history=[rec])
    assert badge_for(fell_back) == ("tags", "ImageNet tags · model unsure (31%)")


# ---- the tab in the window ------------------------------------------------------------------------
@pytest.fixture
def captioned(tmp_path, library_file):
    """A library with nine photos, six of them captioned by the user."""
    folder = tmp_path / "photos"
    make_photos(folder, 9)
    lib = open_library(library_file)
    try:
        scan(lib, lib.add_folder(folder).id)
        for ref, text in zip(sorted(lib.photos_needing_caption("none"), key=lambda r: r.path), CAPTIONS):
            lib.set_user_caption(ref.id, text)
    finally:
        lib.close()
    return folder


def _teach_window(make_window, epochs=3, **extra):
    window = make_window(auto_caption=False)
    window.teach_service.options = {"device": "cpu", "overrides": {**TINY, "epochs": epochs, **extra}}
    window.tabs.setCurrentWidget(window.teach_view)
    return window


def _wait_versions(qtbot, window, n):
    qtbot.waitUntil(lambda: window.teach_view.versions.rowCount() == n, timeout=20_000)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a child process imports torch and trains: minutes on a busy 2-core machine
def test_teach_from_my_captions_to_the_end(qtbot, make_window, captioned, library_file):
    window = _teach_window(make_window)
    view, service = window.teach_view, window.teach_service
    qtbot.waitUntil(lambda: view.captions_card.big.text() == "6", timeout=20_000)
    updates = []
    service.progress.connect(updates.append)
    with qtbot.waitSignal(service.started, timeout=10_000):
        qtbot.mouseClick(view.teach_button, Qt.MouseButton.LeftButton)
    assert window.captions.held and not view.teach_button.isEnabled()
    with qtbot.waitSignal(service.finished, timeout=600_000) as done:
        pass
    outcome = done.args[0]
    assert outcome.kind == "done" and outcome.model_id, outcome
    assert not window.captions.held  # background captioning picks up again
    assert sum(len(u.losses) for u in updates) >= 3  # one point per step, all of them reached the plot
    assert len(view.plot.losses) == sum(len(u.losses) for u in updates)
    assert any(u.phase == "training" and u.total_steps for u in updates)
    _wait_versions(qtbot, window, 2)  # the built-in tagger + the new version, selected, not active
    assert view.selected_id() == outcome.model_id
    assert not view.versions.index(view.versions.row_of(outcome.model_id), 0).data(ActiveRole)
    assert not view.banner.isHidden() and "Compare" in view.banner.buttons[0].text()
    lib = open_library(library_file)
    try:
        assert lib.active_model() is None  # nothing switched by itself
        assert [v.model_id for v in lib.model_versions()] == [outcome.model_id]
    finally:
        lib.close()


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a child process imports torch and trains: minutes on a busy 2-core machine
def test_pause_resume_and_cancel_then_resume_after_a_restart(qtbot, make_window, captioned, library_file):
    window = _teach_window(make_window, epochs=200)
    view, service = window.teach_view, window.teach_service
    phases = []
    service.progress.connect(lambda p: phases.append(p.phase))
    with qtbot.waitSignal(service.started, timeout=10_000):
        view.teach_button.click()
    qtbot.waitUntil(lambda: "training" in phases, timeout=240_000)
    with qtbot.waitSignal(service.progress, timeout=180_000, check_params_cb=lambda p: p.phase == "paused"):
        view.pause_button.click()
    assert view.pause_button.text() == "Resume" and "paused" in view.run_text.text()
    step_at_pause = len(view.plot.losses)
    with qtbot.waitSignal(service.progress, timeout=180_000, check_params_cb=lambda p: bool(p.losses)):
        view.pause_button.click()  # resume: steps come again
    assert len(view.plot.losses) > step_at_pause and view.pause_button.text() == "Pause"
    with qtbot.waitSignal(service.finished, timeout=180_000) as done:
        view.cancel_button.click()
    assert done.args[0].kind == "cancelled"
    assert not window.captions.held and view.teach_button.isEnabled()
    qtbot.waitUntil(lambda: not view.banner.isHidden() and view.banner.buttons[0].text() == "Resume", timeout=60_000)
    window.close()

    # the next start offers to resume it, and resuming runs to the end
    again = _teach_window(make_window, epochs=200)
    banner = again.teach_view.banner
    qtbot.waitUntil(lambda: not banner.isHidden() and banner.buttons[0].text() == "Resume", timeout=60_000)
    assert "interrupted" in banner.text.text()
    again.teach_service.options = {}  # a resumed run keeps its own plan (tiny network included)
    with qtbot.waitSignal(again.teach_service.started, timeout=10_000):
        banner.buttons[0].click()
    with qtbot.waitSignal(
        again.teach_service.progress, timeout=240_000, check_params_cb=lambda p: p.phase == "training" and p.step > 0
    ):
        pass
    with qtbot.waitSignal(again.teach_service.finished, timeout=180_000) as done:
        again.teach_view.cancel_button.click()
    assert done.args[0].kind == "cancelled"


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a child process imports torch and trains: minutes on a busy 2-core machine
def test_quitting_mid_teaching_keeps_the_state(qtbot, make_window, captioned, library_file):
    from trainer.teach import interrupted_teaching

    window = _teach_window(make_window, epochs=200)
    service = window.teach_service
    with qtbot.waitSignal(
        service.progress, timeout=600_000, check_params_cb=lambda p: p.phase == "training" and p.step > 0
    ):
        window.teach_view.teach_button.click()
    window.close()  # returns once the run has stopped and written its state
    assert service.lane.stopped and service.lane.thread_finished
    state = interrupted_teaching(library_file)
    assert state is not None and state["captions"] == 6


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a child process imports torch and trains: minutes on a busy 2-core machine
def test_compare_activate_and_roll_back(qtbot, make_window, captioned, library_file, attention_model_file):
    from photocap.ui.views.teach_compare import CompareView

    window = _teach_window(make_window)
    view = window.teach_view
    add = window.teach_service
    with qtbot.waitSignal(add.imported, timeout=60_000) as got:
        window.teacher.import_model(str(attention_model_file))
    assert got.args[0].refused is None, got.args[0].refused
    model_id = got.args[0].info.model_id
    _wait_versions(qtbot, window, 2)
    assert view.selected_id() == model_id and view.compare_button.isEnabled()

    with qtbot.waitSignal(add.compared, timeout=120_000) as cmp:
        view.compare_button.click()
    comparison = cmp.args[0]
    page: CompareView = view.compare
    assert view.currentWidget() is page and page.activate.isEnabled()
    rows = comparison.held_out + comparison.unedited
    assert rows and all(r.candidate for r in rows)
    assert page.scores.text() and "could not" not in page.scores.text()
    qtbot.waitUntil(
        lambda: any(
            lab.pixmap() is not None and not lab.pixmap().isNull() for labs in page._thumbs.values() for lab in labs
        ),
        timeout=20_000,
    )

    # activate from the compare page: the engine reloads with the new model, the automatic captions are redone
    with qtbot.waitSignal(
        window.captions.engine_ready, timeout=120_000, check_params_cb=lambda info: info.captions_from == "model"
    ):
        page.activate.click()
    assert view.currentWidget() is view.overview
    qtbot.waitUntil(lambda: view.model_card.big.text() == "tiny", timeout=20_000)
    assert "Lineage" in view.model_card.small.text()
    lib = open_library(library_file)
    try:
        assert lib.active_model().model_id == model_id
        assert sorted(c.text for c in lib.user_captions()) == sorted(CAPTIONS)  # the user's captions are untouched
    finally:
        lib.close()

    # roll back: the built-in tagger describes photos again
    assert view.rollback_button.isEnabled()
    with qtbot.waitSignal(
        window.captions.engine_ready, timeout=120_000, check_params_cb=lambda info: info.captions_from == "tags"
    ):
        view.rollback_button.click()
    qtbot.waitUntil(lambda: view.model_card.big.text() == BUILTIN_NAME, timeout=20_000)
    lib = open_library(library_file)
    try:
        assert lib.active_model() is None
    finally:
        lib.close()

    # rename, then remove (not the active one)
    view.select(model_id)
    with qtbot.waitSignal(view.versions.modelReset, timeout=20_000):
        view.versions.setData(view.versions.index(view.versions.row_of(model_id), 0), "Shapes")
    qtbot.waitUntil(lambda: view.versions.index(view.versions.row_of(model_id), 0).data() == "Shapes", timeout=20_000)
    with qtbot.waitSignal(view.versions.modelReset, timeout=20_000):
        window.teacher.remove_now(model_id)
    _wait_versions(qtbot, window, 1)


def test_a_refused_model_file_dropped_on_the_tab_says_why(qtbot, make_window, tmp_path):
    window = make_window(auto_caption=False)
    window.tabs.setCurrentWidget(window.teach_view)
    junk = tmp_path / "not-a-model.safetensors"
    junk.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 10)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(junk))])
    event = QDropEvent(
        QPointF(40, 40), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.teach_service.imported, timeout=30_000) as got:
        window.teach_view.dropEvent(event)
    reason = got.args[0].refused
    assert reason and "\n" not in reason
    banner = window.teach_view.banner
    assert not banner.isHidden() and banner.property("kind") == "bad"
    assert "not-a-model.safetensors was not imported" in banner.text.text() and reason in banner.text.text()
    assert window.teach_view.versions.rowCount() == 1  # nothing was added


def test_teaching_with_too_few_captions_says_so(qtbot, make_window, photos):
    window = make_window(auto_caption=False)
    with qtbot.waitSignal(window.teach_service.failed, timeout=60_000) as failed:
        window.teach_view.teach_button.click()
    assert "caption" in failed.args[0]
    qtbot.waitUntil(lambda: window.teach_view.teach_button.isEnabled(), timeout=10_000)
    assert not window.captions.held
    assert not window.teach_view.banner.isHidden() and failed.args[0] in window.teach_view.banner.text.text()


def test_the_window_starts_without_importing_pyqtgraph():
    import subprocess
    import sys

    code = (
        "import sys\nfrom photocap.ui.app import create_app\ncreate_app(['t'])\n"
        "from photocap.ui.main_window import MainWindow\nassert 'pyqtgraph' not in sys.modules\n"
        "assert 'torch' not in sys.modules\nprint('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert out.stdout.strip().endswith("ok"), out.stderr


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a child process imports torch and trains: minutes on a busy 2-core machine
def test_train_from_a_dataset_registers_a_new_version(qtbot, make_window, tmp_path, library_file):
    from photocap.ui.views.teach_dataset_dialog import DatasetChoice, DatasetDialog
    from trainer.synthetic import make_synthetic

    annotations = make_synthetic(tmp_path / "synth", n_train=6, n_val=2, n_test=0, image_size=96)
    dialog = DatasetDialog()
    qtbot.addWidget(dialog)
    assert dialog.problem() == "Choose the annotation file."
    dialog.annotations.setText(str(tmp_path / "missing.json"))
    assert dialog.problem().startswith("There is no file")
    dialog.annotations.setText(str(annotations))
    assert dialog.problem() is None and dialog.choice().name == f"Trained on {annotations.stem}"

    window = make_window(auto_caption=False)
    window.teach_service.dataset_config = {**TINY, "epochs": 2, "device": "cpu"}
    with qtbot.waitSignal(window.teach_service.started, timeout=10_000):
        window.teacher.start_dataset(DatasetChoice(str(annotations), None, "auto", 5.0, "Shapes"))
    assert window.teach_view.live_title.text() == "TRAINING ON A DATASET"
    with qtbot.waitSignal(window.teach_service.finished, timeout=600_000) as done:
        pass
    outcome = done.args[0]
    assert outcome.kind == "done" and outcome.model_id
    _wait_versions(qtbot, window, 2)
    row = window.teach_view.versions.row_of(outcome.model_id)
    assert window.teach_view.versions.index(row, 0).data() == "Shapes"
    assert window.teach_view.versions.index(row, 2).data()  # its held-out CIDEr is shown
    lib = open_library(library_file)
    try:
        assert lib.active_model() is None and Path(lib.model_versions()[0].path).is_file()
    finally:
        lib.close()
