"""What the Dockerfile's app image holds: its COPY lines, read from the Dockerfile itself."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def stage(name: str) -> list[str]:
    """The instructions of one build stage (`FROM ... AS name`), continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines, current = [], None
    for line in text.splitlines():
        line = line.strip()
        found = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if found:
            current = found.group(1)
        elif current == name and line and not line.startswith("#"):
            lines.append(line)
    return lines


def app_image_sources() -> list[str]:
    """The sources the app stage copies from the build context (globs allowed)."""
    sources = []
    for line in stage("app"):
        if line.upper().startswith("COPY "):
            *copied, _destination = line.split()[1:]
            sources += [s for s in copied if not s.startswith("--")]
    return sources


def copy_app_image_files(destination: Path) -> Path:
    """Lay out in `destination` the files the app image gets, and nothing else."""
    for source in app_image_sources():
        for path in sorted(ROOT.glob(source)):
            target = destination / path.relative_to(ROOT)
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    return destination
