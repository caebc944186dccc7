"""The OpenMP wait policy belongs to processes that caption, not to the trainer.

Spinning OpenMP threads fight the engine's JPEG decoder threads (the pipeline ran ~3x
slower), but training has no decoder threads and runs faster with them spinning, so only
importing the engine sets PASSIVE. Subprocesses: the variable only matters before torch loads.
"""

import os
import subprocess
import sys


def _policy_after(imports: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = f"import os\n{imports}\nprint(os.environ.get('OMP_WAIT_POLICY', 'unset'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_engine_sets_passive_before_torch_loads():
    assert _policy_after("import photocap.engine\nimport torch") == "PASSIVE"


def test_trainer_and_model_leave_openmp_alone():
    assert _policy_after("import photocap.model\nimport trainer.train") == "unset"


def test_user_choice_wins():
    env = dict(os.environ, OMP_WAIT_POLICY="ACTIVE")
    out = subprocess.run(
        [sys.executable, "-c", "import os, photocap.engine; print(os.environ['OMP_WAIT_POLICY'])"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "ACTIVE"
