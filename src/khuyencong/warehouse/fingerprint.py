"""What the published warehouse reflects: the fingerprint of the loads and of the project.

The published file carries the fingerprint it was built from (`marts.publication`, written by
`publish.publish_marts`); a run builds and publishes again only when the build database's and
the project's differ from it (docs/architecture.md, "Idempotent runs"). The raw half counts what
can change the marts: a refused file changes nothing they show, so it is not counted.
"""

from __future__ import annotations

import hashlib

from khuyencong.config import Settings
from khuyencong.warehouse.loader import ensure_raw_schema
from khuyencong.warehouse.lock import build_lock, connect_writer
from khuyencong.warehouse.publication import package_version, read_fingerprint
from khuyencong.warehouse.sql import ident

#: folders of the dbt project that are build output, not project
NOT_PROJECT = {"target", "logs", "dbt_packages", ".user.yml"}


def raw_counts(con, catalog: str | None = None) -> dict:
    """The raw half, read through `con` (from the database attached as `catalog` when given)."""
    raw = f"{ident(catalog)}.raw" if catalog else "raw"
    subs, last = con.execute(f"SELECT count(*), max(loaded_at) FROM {raw}.submissions"
                             " WHERE status <> 'rejected'").fetchone()
    dups = con.execute(f"SELECT count(*) FROM {raw}.duplicate_files").fetchone()[0]
    return {"submissions": subs, "duplicates": dups, "last_loaded_at": str(last)}


def raw_fingerprint(settings: Settings) -> dict:
    """What the build database holds from raw/ that can change the marts: the accepted files and the copies."""
    with (build_lock(settings.build_db, "fingerprint", settings.lock_timeout_seconds),
          connect_writer(settings.build_db, settings.lock_timeout_seconds) as con):
        ensure_raw_schema(con)
        return raw_counts(con)


def project_fingerprint(settings: Settings) -> str:
    """A digest of everything that shapes the marts besides the data: the dbt project, the mart suites, the code."""
    digest = hashlib.sha256()
    for root in (settings.dbt_project_dir, settings.expectations_dir):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root)
            if rel.parts[0] in NOT_PROJECT or path.suffix in (".pyc",):
                continue
            digest.update(f"{root.name}/{rel.as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update(f"khuyencong=={package_version()}".encode())
    return digest.hexdigest()


def fingerprint(settings: Settings) -> dict:
    """The build database's and the project's fingerprint, as `needs_build` compares it with the published one."""
    return {**raw_fingerprint(settings), "project": project_fingerprint(settings)}


def published_fingerprint(settings: Settings) -> dict | None:
    """The fingerprint inside the published file (`marts.publication`): swapped in with the marts, atomically."""
    if not settings.published_db.exists():
        return None
    return read_fingerprint(settings.published_db)
