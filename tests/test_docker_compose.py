"""docker-compose.yml, Dockerfile and .env.example, checked without Docker.

The compose file is validated against the Compose Specification JSON schema that
check-jsonschema ships (``--builtin-schema vendor.compose-spec``, a dev dependency, offline),
both as written and after interpolating ``${...}`` with the values of ``.env.example``, which
is what ``docker compose`` would see. The remaining tests pin the properties the deployment
relies on: Airflow 3 services, LocalExecutor on PostgreSQL, no examples, no secret in the
file, health checks, read-only raw/; and the Dockerfile, parsed into instructions: it installs uv.lock
(which must match pyproject.toml), copies only what exists and is in the build context, and runs
as a non-root user that owns every path the product writes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from compose_file import (
    INTERPOLATION,
    dockerfile_instructions,
    env_of,
    interpolate,
    parse_env_file,
    resolved,
)

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"

AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
LONG_RUNNING = [name for name, cmd in AIRFLOW_SERVICES.items() if cmd]

REQUIRED = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|(^|_)KEY$", re.IGNORECASE)


def strings_in(node) -> list[str]:
    """Every string value of the parsed file: compose interpolates values, never comments."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings_in(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item)]
    return [node] if isinstance(node, str) else []


def compose_variables(document: dict) -> dict[str, str]:
    """Variable name -> operator used (``""``, ``":-"``, ``"-"``, ``":?"``, ``"?"``)."""
    found: dict[str, str] = {}
    for text in strings_in(document):
        for m in INTERPOLATION.finditer(text.replace("$$", "")):
            if found.get(m.group(1)) not in (":?", "?"):
                found[m.group(1)] = m.group(2) or ""
    return found


def is_secret(key: str) -> bool:
    return bool(SECRET_NAME.search(key)) and not key.endswith(("_FILE", "_PATH", "_CMD"))


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)  # resolves the x-airflow-common anchors and merge keys


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    assert ENV_EXAMPLE.is_file(), ".env.example must be committed"
    return parse_env_file(ENV_EXAMPLE)


def test_compose_file_validates_against_the_compose_specification(tmp_path, compose, env_example):
    interpolated = tmp_path / "docker-compose.interpolated.yml"
    interpolated.write_text(yaml.safe_dump(interpolate(compose, env_example)), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
            str(interpolated),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_validator_rejects_an_invalid_compose_file(tmp_path, compose):
    broken = dict(compose)
    broken["services"] = dict(compose["services"])
    broken["services"]["postgres"] = {**compose["services"]["postgres"], "helthcheck": {}}
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1 and "helthcheck" in proc.stdout, proc.stdout + proc.stderr


def test_airflow_3_services_exist(compose):
    services = compose["services"]
    assert set(services) >= {"postgres", *AIRFLOW_SERVICES}
    for name, subcommand in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile"
        if subcommand:
            assert service["command"] == ["airflow", subcommand], name
    init_script = "\n".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init_script
    assert services["airflow-init"]["restart"] == "no"
    assert services["postgres"]["image"].startswith("postgres:16")


def test_local_executor_on_postgres_without_examples(compose):
    for name in AIRFLOW_SERVICES:
        env = env_of(compose["services"][name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert conn.startswith("postgresql+psycopg2://") and "@postgres:5432/" in conn, name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-apiserver:8080/execution/"
        ), name
        for key in (
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__API__SECRET_KEY",
            "AIRFLOW__API_AUTH__JWT_SECRET",
        ):
            assert key in env, (name, key)
        assert env["KC_RAW_DIR"] == "/data/raw" and env["KC_WAREHOUSE_DIR"] == "/data/warehouse"


def test_no_secret_is_written_in_the_compose_file(compose, compose_text, env_example):
    for name, service in compose["services"].items():
        for key, value in env_of(service).items():
            if is_secret(key):
                assert REQUIRED.match(value), f"{name}: {key} must be ${{VAR:?...}} from .env"
        conn = env_of(service).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        if conn:
            m = re.fullmatch(
                r"[a-z0-9+]+://(\$\{[^}]*\}):(\$\{[^}]*\})@[\w.-]+:\d+/(\$\{[^}]*\})", conn
            )
            assert m, f"{name}: user, password and database must come from .env: {conn}"
            assert all(REQUIRED.match(part) for part in m.groups()), name
    # No value of .env.example's secrets is written in the file itself.
    literal_text = INTERPOLATION.sub("", compose_text)
    for key, value in env_example.items():
        if is_secret(key):
            assert value not in literal_text, key


def test_env_example_lists_every_variable_the_compose_file_uses(compose, env_example):
    variables = compose_variables(compose)
    assert variables, "expected ${...} interpolation in docker-compose.yml"
    missing = sorted(set(variables) - set(env_example))
    assert not missing, f".env.example lacks {missing}"
    required = {name for name, op in variables.items() if op in (":?", "?")}
    assert {
        "POSTGRES_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_API_SECRET_KEY",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_ADMIN_PASSWORD",
    } <= required
    # Interpolation with .env.example succeeds, and without it compose would refuse to start.
    interpolate(compose, env_example)
    with pytest.raises(KeyError):
        interpolate(compose, {})
    # .env itself holds the real secrets: never sent to the Docker build context.
    ignored = DOCKERIGNORE.read_text(encoding="utf-8").split()
    assert ".env" in ignored and "!.env.example" in ignored


def test_health_checks_and_start_order(compose):
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/api/v2/monitor/health" in " ".join(
        services["airflow-apiserver"]["healthcheck"]["test"]
    )
    assert "8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], name
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    scheduler_deps = services["airflow-scheduler"]["depends_on"]
    assert scheduler_deps["airflow-apiserver"]["condition"] == "service_healthy"


def test_raw_is_read_only_and_warehouse_is_a_volume(compose):
    for name in AIRFLOW_SERVICES:
        volumes = compose["services"][name]["volumes"]
        assert "./raw:/data/raw:ro" in volumes, name
        assert "./warehouse:/data/warehouse" in volumes, name
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str) and volume.split(":")[0] in ("./raw", "raw"):
                assert volume.endswith(":ro"), f"{name} mounts raw/ writable: {volume}"
    assert "postgres-db-volume" in compose["volumes"]


# ------------------------------------------------------------ the Dockerfile, parsed


@pytest.fixture(scope="module")
def dockerfile():
    return resolved(dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def pyproject():
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements(entries) -> dict[str, str]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    out = {}
    for entry in entries:
        if isinstance(entry, str):
            req = Requirement(entry)
            out[canonicalize_name(req.name)] = str(req.specifier)
        else:  # uv.lock: {name = ..., specifier = ...}
            out[canonicalize_name(entry["name"])] = str(Requirement(f"x{entry.get('specifier', '')}").specifier)
    return out


def test_the_lock_the_image_installs_matches_pyproject(pyproject):
    """`uv sync --frozen` installs uv.lock without checking it against pyproject.toml: this test does."""
    import tomllib

    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    [root] = [p for p in lock["package"] if p["name"] == pyproject["project"]["name"]]
    assert _requirements(root["metadata"]["requires-dist"]) == _requirements(pyproject["project"]["dependencies"])
    locked_groups = root["metadata"].get("requires-dev", {})
    assert set(locked_groups) == set(pyproject["dependency-groups"])
    def flattened(entries):  # {include-group = "docker"} stands for that group's entries
        return [e for entry in entries for e in (
            flattened(pyproject["dependency-groups"][entry["include-group"]])
            if isinstance(entry, dict) and "include-group" in entry else [entry])]

    for group, entries in pyproject["dependency-groups"].items():
        assert _requirements(locked_groups[group]) == _requirements(flattened(entries)), group
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(lock["requires-python"]) == SpecifierSet(pyproject["project"]["requires-python"])


def test_dockerfile_installs_the_locked_environment(dockerfile, pyproject):
    from packaging.specifiers import SpecifierSet

    [base] = [args for keyword, args, _ in dockerfile if keyword == "FROM"]
    python = re.fullmatch(r"python:(\d+\.\d+)-slim", base)
    assert python and SpecifierSet(pyproject["project"]["requires-python"]).contains(f"{python[1]}.0"), base
    assert any(re.search(r"pip install \"?uv==\d+\.\d+\.\d+\"?$", args) for kw, args, _ in dockerfile if kw == "RUN")

    copied: list[str] = []
    syncs: list[tuple[str, list[str]]] = []  # (arguments, what had been copied by then)
    for keyword, args, _ in dockerfile:
        if keyword == "COPY":
            copied += args.split()[:-1]
        elif keyword == "RUN" and "uv sync" in args:
            syncs.append((args, list(copied)))
    assert len(syncs) == 2, syncs
    for args, _ in syncs:
        assert "--frozen" in args.split() and "--no-dev" in args.split(), args
        for group in re.findall(r"--group (\S+)", args):
            assert group in pyproject["dependency-groups"], group
    # the dependency layer sees only the lock and the project file, so it is rebuilt only when they change
    (deps, before_deps), (project, before_project) = syncs
    assert "--no-install-project" in deps.split() and {"pyproject.toml", "uv.lock"} <= set(before_deps)
    assert not {"src", "dags", "dbt_project", "expectations"} & set(before_deps)
    # the project sync sees what the package is built from and what config finds relative to src/
    packages = [p.split("/")[0] for p in pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]]
    needed = {pyproject["project"]["readme"], *packages, "dags", "dbt_project", "expectations"}
    assert needed <= set(before_project), needed - set(before_project)


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: patterns are anchored at the context root; the last matching one wins; `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").strip("/")
        regex = re.escape(body).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]").replace(r"\[cod\]", "[cod]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def test_dockerfile_copies_only_what_exists_and_is_in_the_build_context(dockerfile):
    patterns = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    # the matcher itself: it must be able to say no
    assert _dockerignored("tests/test_docker_compose.py", patterns)
    assert _dockerignored("src/khuyencong/__pycache__/config.cpython-311.pyc", patterns)
    assert not _dockerignored(".env.example", patterns) and _dockerignored(".env", patterns)
    assert not _dockerignored("src/khuyencong/warehouse/loader.py", patterns)  # only the root warehouse/ is data
    sources = [s for kw, args, _ in dockerfile if kw == "COPY" and "--from" not in args for s in args.split()[:-1]]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
        assert not _dockerignored(source, patterns), f"Dockerfile copies {source}, which .dockerignore leaves out"
        if (ROOT / source).is_dir():  # what the image needs inside it is in the context too
            for path in (ROOT / source).rglob("*.py"):
                rel = path.relative_to(ROOT).as_posix()
                assert "__pycache__" in rel or not _dockerignored(rel, patterns), rel


def test_image_runs_as_a_non_root_user_that_owns_where_it_writes(dockerfile):
    from khuyencong.config import Settings

    users = [args for keyword, args, _ in dockerfile if keyword == "USER"]
    assert users, "the image would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid == "0", users[-1]
    setup = " ".join(args for keyword, args, _ in dockerfile if keyword == "RUN" and "useradd" in args)
    assert re.search(rf"useradd --uid \"?{uid}\"? --gid 0 ", setup), setup
    owned = re.search(rf"chown -R \"?{uid}:0\"? ((?:/\S+ ?)+)", setup)
    created = re.search(r"mkdir -p ((?:/\S+ ?)+)", setup)
    assert owned and created, setup
    owned_roots = [Path(p) for p in owned[1].split()]

    env = dockerfile[-1][2]  # the variables in force when the container starts
    settings = Settings.from_env(environ=env)
    writable = [settings.warehouse_dir, settings.build_db.parent, Path(env["AIRFLOW_HOME"]),
                Path(env["DBT_TARGET_PATH"]), Path(env["DBT_LOG_PATH"])]
    for path in writable:
        assert any(path == root or root in path.parents for root in owned_roots), f"{path} not owned by {uid}"
    assert str(settings.raw_dir) in created[1].split()  # the mount point of the read-only landing zone
    # Airflow finds the DAG where the Dockerfile copied it
    workdir, dags_dest = None, None
    for keyword, args, _ in dockerfile:
        if keyword == "WORKDIR":
            workdir = Path(args)
        elif keyword == "COPY" and args.split()[0] == "dags":
            dags_dest = (workdir / args.split()[-1]).resolve()
    assert dags_dest is not None and Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) == dags_dest


def test_any_uid_gets_a_user_name_for_airflow():
    """compose runs the image as `${AIRFLOW_UID}:0`, a UID the image's /etc/passwd may not know. Airflow asks
    `getpass.getuser()` (airflow.utils.platform.getuser) and refuses to start without a name ("has no
    username"); the image's ENV names the user, so any UID starts. Checked as a UID unknown here."""
    import os
    import pwd
    import shutil

    from airflow_services import dockerfile_env

    python = shutil.which("python3", path="/usr/bin:/bin")
    if os.geteuid() != 0 or not python:
        pytest.skip("needs root (to run as another UID) and a system python3")
    uid = next(u for u in range(54321, 60000) if not _has_passwd_entry(pwd, u))
    script = "import getpass; print(getpass.getuser())"

    def as_unknown_uid(env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([python, "-c", script], env=env, capture_output=True, text=True, check=False,
                              cwd="/", user=uid, group=0, extra_groups=[])

    image_env = {"PATH": "/usr/bin:/bin", **dockerfile_env()}
    named = as_unknown_uid(image_env)
    assert named.returncode == 0 and named.stdout.strip() == "airflow", named.stderr
    nameless = as_unknown_uid({k: v for k, v in image_env.items() if k not in ("USER", "LOGNAME")})
    assert nameless.returncode != 0  # without the image's ENV: what Airflow met as "has no username"


def _has_passwd_entry(pwd, uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False
