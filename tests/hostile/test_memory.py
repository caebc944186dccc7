"""Memory a small file can take: four 13400x13400 16-bit PNGs (about 350 KB each on disk)
through `photocap caption` must peak at 1.5 GB or less (issue 16.2). The process is
watched and killed at 2.5 GB, so a failing run fails fast instead of taking the machine."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SIDE = 13_400
LIMIT = 1.5 * 1024**3
KILL_AT = 2.5 * 1024**3


def big_png(path, side: int = SIDE, depth: int = 16) -> None:
    """A grey PNG of side x side pixels at ``depth`` bits, streamed: never held in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    comp = zlib.compressobj(9)
    row = b"\x00" + bytes(side * depth // 8)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, depth, 0, 0, 0, 0)))
        body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
        fh.write(chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads peak memory from /proc")
def test_caption_of_four_big_pngs_stays_under_1_5_gb(tmp_path):
    for i in range(4):
        big_png(tmp_path / f"big_{i}.png")
    assert max(p.stat().st_size for p in tmp_path.glob("*.png")) < 2_000_000
    proc = subprocess.Popen(
        [sys.executable, "-m", "photocap", "caption", str(tmp_path), "--json"],
        env=os.environ | {"PHOTOCAP_DATA_DIR": str(tmp_path / "data")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak, killed = 0, False
    while proc.poll() is None:
        peak = max(peak, _rss(proc.pid))
        if peak > KILL_AT:
            proc.kill()
            killed = True
            break
        time.sleep(0.05)
    err = proc.communicate(timeout=60)[1]
    assert b"Traceback" not in err
    assert peak <= LIMIT, f"caption {'was killed at' if killed else 'peaked at'} {peak / 1024**3:.2f} GB (limit 1.5 GB)"
