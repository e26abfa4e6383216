"""docker-compose.yml, Dockerfile and .env.example, checked without Docker.

The compose file is validated against the Compose Specification JSON schema that
check-jsonschema ships (``--builtin-schema vendor.compose-spec``, a dev dependency, offline),
both as written and after interpolating ``${...}`` with the values of ``.env.example``, which
is what ``docker compose`` would see. The remaining tests pin the properties the deployment
relies on: Airflow 3 services, LocalExecutor on PostgreSQL, no examples, no secret in the
file, health checks, read-only raw/, and a Dockerfile that installs the locked environment.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; "$$" is a literal "$".
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
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


def parse_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            values[key.strip()] = value.strip()
    return values


def interpolate(node, env: dict[str, str]):
    """Compose-style interpolation of every value (the subset above), failing like compose on a
    missing ``${X:?...}``."""

    def repl(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"required variable {name} is missing: {arg}")
        if op == ":-" and not value:
            return arg
        if op == "-" and value is None:
            return arg
        return value or ""

    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, str):
        return "$".join(INTERPOLATION.sub(repl, part) for part in node.split("$$"))
    return node


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


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


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


def test_dockerfile_installs_the_locked_environment():
    text = DOCKERFILE.read_text(encoding="utf-8")
    instructions = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert [line for line in instructions if line.startswith("FROM ")] == ["FROM python:3.11-slim"]
    assert re.search(r"pip install \"?uv==", text)
    assert "uv sync --frozen --no-dev" in text
    assert "uv.lock" in text
    assert "AIRFLOW_HOME=/opt/airflow" in text
    assert "KC_RAW_DIR=/data/raw" in text and "KC_WAREHOUSE_DIR=/data/warehouse" in text
    user = [line for line in instructions if line.startswith("USER ")]
    assert user and not user[-1].split()[1].startswith(("root", "0:", "0 ")), user
    # Every path the Dockerfile copies exists in the repository (else `docker build` fails).
    for line in instructions:
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
