"""docker-compose.yml and the Dockerfile read as Docker would, without Docker.

Shared by the file checks (test_docker_compose.py) and the scheduler test, which starts the
Airflow services with the compose environment (airflow_services.py): one reading of both files.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; "$$" is a literal "$".
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


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


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    return instructions


def resolved(instructions: list[tuple[str, str]]) -> list[tuple[str, str, dict[str, str]]]:
    """Each instruction with ${VAR} expanded from the ARG defaults and ENV values set before it."""
    variables: dict[str, str] = {}
    out = []
    for keyword, args in instructions:
        expanded = re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), m.group(0)), args)
        if keyword == "ARG" and "=" in args:
            name, value = args.split("=", 1)
            variables[name] = value.strip('"')
        elif keyword == "ENV":
            for name, value in re.findall(r'(\w+)=("[^"]*"|\S+)', expanded):
                variables[name] = value.strip('"')
        out.append((keyword, expanded, dict(variables)))
    return out
