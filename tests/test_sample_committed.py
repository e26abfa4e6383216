"""The sample committed under raw/ is exactly what `kc sample` writes (so `make run` finds it on a fresh clone)."""

import hashlib
from pathlib import Path

from khuyencong_sample.generate import write_sample

RAW = Path(__file__).resolve().parents[1] / "raw"


def digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_committed_sample_matches_the_generator(tmp_path):
    write_sample(tmp_path / "raw")
    assert digests(tmp_path / "raw") == digests(RAW)
