"""The real Airflow services as docker-compose.yml deploys them, on 127.0.0.1, without Docker.

`AirflowServices.start(pg, root)` does what compose does, with compose's own environment (read
from docker-compose.yml and interpolated like compose, plus the Dockerfile's ENV), so the two
cannot drift: `airflow db migrate` and the init commands, then `airflow api-server`, `scheduler`
(LocalExecutor) and `dag-processor`, each its own process group. Only what cannot be the same
outside containers is mapped, and nothing else:
- host names: `postgres:5432` -> the throwaway PostgreSQL server, `airflow-apiserver:8080` -> a
  free loopback port (the API server listens on 127.0.0.1 only);
- the image's paths: `/opt/kc` -> this checkout, `/data/raw`, `/data/warehouse`, `/opt/airflow`
  -> folders under `root`;
- secrets: generated, as an operator fills .env.
`services.api(...)` calls the REST API with a JWT from `POST /auth/token`; `stop()` ends every
process group by PID.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from compose_file import (
    COMPOSE,
    DOCKERFILE,
    ROOT,
    dockerfile_instructions,
    env_of,
    interpolate,
    resolved,
)

DAG_ID = "khuyencong_nightly"
BIN = Path(sys.executable).parent
#: the image's paths (Dockerfile) -> where they are here; filled per instance
IMAGE_ROOTS = ("/opt/kc", "/data/raw", "/data/warehouse", "/opt/airflow")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dockerfile_env() -> dict[str, str]:
    """The ENV the image's processes start with (the last instruction's view), PATH left out."""
    steps = resolved(dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8")))
    declared = {name for keyword, args, _ in steps if keyword == "ENV" for name in re.findall(r"(\w+)=", args)}
    return {k: v for k, v in steps[-1][2].items() if k in declared and k != "PATH"}


def compose_services(dotenv: dict[str, str]) -> dict:
    return interpolate(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), dotenv)["services"]


@dataclass
class AirflowServices:
    root: Path
    env: dict[str, str]
    api_port: int
    password: str
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    _token: str | None = None

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "data" / "warehouse"

    # ------------------------------------------------------------ start and stop

    @classmethod
    def start(cls, pg_port: int, root: Path, extra_env: dict[str, str] | None = None) -> AirflowServices:
        """Migrate, init and start the services on a PostgreSQL server at 127.0.0.1:`pg_port` (trust auth)."""
        password = base64.urlsafe_b64encode(os.urandom(12)).decode()
        dotenv = {  # what an operator writes into .env (.env.example's variables)
            "POSTGRES_USER": "kc_test_admin", "POSTGRES_PASSWORD": "trust-auth-ignores-it",
            "POSTGRES_DB": "airflow_meta", "KC_POSTGRES_DB": "warehouse",
            "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW_API_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(24)).decode(),
            "AIRFLOW_JWT_SECRET": base64.urlsafe_b64encode(os.urandom(36)).decode(),
            "AIRFLOW_ADMIN_USERNAME": "admin", "AIRFLOW_ADMIN_PASSWORD": password,
        }
        services = compose_services(dotenv)
        api_port = _free_port()
        places = {"/opt/kc": ROOT, "/data/raw": root / "data" / "raw", "/data/warehouse": root / "data" / "warehouse",
                  "/opt/airflow": root / "airflow"}
        hosts = {"postgres:5432": f"127.0.0.1:{pg_port}", "airflow-apiserver:8080": f"127.0.0.1:{api_port}"}

        def local(value: str) -> str:
            for image_path, here in places.items():
                if value == image_path or value.startswith(image_path + "/"):
                    return str(here) + value[len(image_path):]
            for host, here in hosts.items():
                value = value.replace(f"@{host}/", f"@{here}/").replace(f"//{host}/", f"//{here}/")
            return value

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KC_", "DBT_"))}
        env.update({k: local(v) for k, v in dockerfile_env().items()})
        env.update({k: local(v) for k, v in env_of(services["airflow-scheduler"]).items()})
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra_env or {})
        for folder in places.values():
            Path(folder).mkdir(parents=True, exist_ok=True)
        _create_database(pg_port, dotenv["POSTGRES_DB"])
        logs = root / "service-logs"
        logs.mkdir(exist_ok=True)
        self = cls(root=root, env=env, api_port=api_port, password=password, logs=logs)
        self._init(services["airflow-init"], dotenv)
        for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"):
            self.start_service(name, services[name]["command"])
        self._wait_healthy()
        return self

    def _init(self, init: dict, dotenv: dict[str, str]) -> None:
        """airflow-init's steps: migrate, create the warehouse database, write the admin password file."""
        script = init["command"][-1]
        assert "airflow db migrate" in script and "ensure_database" in script and "passwords.json" in script, script
        self.run(["airflow", "db", "migrate"], timeout=600)
        self.run([sys.executable, "-c", "from khuyencong.warehouse.postgres import ensure_database; ensure_database()"])
        auth = Path(self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
        auth.parent.mkdir(parents=True, exist_ok=True)
        auth.write_text(json.dumps({dotenv["AIRFLOW_ADMIN_USERNAME"]: self.password}), encoding="utf-8")
        auth.chmod(0o600)

    def run(self, argv: list[str], timeout: float = 300) -> str:
        proc = subprocess.run(argv, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              check=False)
        assert proc.returncode == 0, f"{argv}: {proc.returncode}\n{(proc.stdout + proc.stderr)[-4000:]}"
        return proc.stdout

    def start_service(self, name: str, command: list[str], extra_env: dict[str, str] | None = None) -> None:
        argv = list(command)
        if argv[:2] == ["airflow", "api-server"]:  # loopback only, on our port; one worker on 2 cores
            argv += ["--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(argv, env={**self.env, **(extra_env or {})}, cwd=self.root,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop_service(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        try:  # the task processes the scheduler started live in its group too
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_service(name)

    def _wait_healthy(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._assert_running()
            try:
                with urllib.request.urlopen(f"{self.base}/api/v2/monitor/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise AssertionError("the API server did not become healthy\n" + self.log_tail())

    def _assert_running(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"services ended: {dead}\n{self.log_tail()}"

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-chars:]}" for p in sorted(self.logs.glob("*.log")))

    # ------------------------------------------------------------ the REST API

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: HTTP {exc.code} {exc.read()[:2000]!r}") from exc

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        if self._token is None:
            self._token = self._request("POST", "/auth/token", {"username": "admin", "password": self.password}
                                        )["access_token"]
        return self._request(method, path, body, self._token)

    def wait_for_dag(self, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._assert_running()
            try:
                return self.api("GET", f"/api/v2/dags/{DAG_ID}")
            except AssertionError as exc:
                if "HTTP 404" not in str(exc):
                    raise
            time.sleep(2)
        raise AssertionError(f"{DAG_ID} was never parsed\n" + self.log_tail())

    def runs(self) -> list[dict]:
        return self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns?order_by=run_after")["dag_runs"]

    def trigger(self, conf: dict | None = None) -> str:
        run = self.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def wait_for_run(self, run_id: str, timeout: float = 1200) -> dict:
        deadline = time.monotonic() + timeout
        quoted = urllib.parse.quote(run_id, safe="")
        while time.monotonic() < deadline:
            self._assert_running()
            run = self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(2)
        raise AssertionError(f"run {run_id} did not finish\n" + self.log_tail())

    def task_instances(self, run_id: str) -> dict[str, dict]:
        quoted = urllib.parse.quote(run_id, safe="")
        tis = self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in tis}

    def xcom(self, run_id: str, task_id: str) -> object:
        quoted = urllib.parse.quote(run_id, safe="")
        entry = self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/{task_id}"
                                "/xcomEntries/return_value?deserialize=true")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) else value

    def task_log(self, run_id: str, task_id: str) -> str:
        """Every try's log of one task of a run (the end of each)."""
        folder = Path(self.env["AIRFLOW_HOME"]) / "logs"
        found = [p for p in folder.rglob("*.log") if f"run_id={run_id}" in str(p) and f"task_id={task_id}" in str(p)]
        return "\n".join(p.read_text(errors="replace")[-6000:] for p in sorted(found))


def _create_database(pg_port: int, name: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://kc_test_admin@127.0.0.1:{pg_port}/postgres", autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            con.execute(f'CREATE DATABASE "{name}"')

