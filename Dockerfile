# syntax=docker/dockerfile:1
# Image for every Airflow service of docker-compose.yml (api-server, scheduler, dag-processor,
# triggerer, init). It holds the project's *locked* environment: uv.lock via `uv sync --frozen`.
#
#   docker compose build           # or: docker build -t khuyencong-airflow .
#
# Layout inside the image:
#   /opt/kc            the project (pyproject.toml, uv.lock, src/, dags/, dbt_project/, expectations/)
#   /opt/kc/.venv      its virtual environment, first on PATH
#   /opt/airflow       AIRFLOW_HOME (logs, simple auth manager password file)
#   /data/raw          landing zone, mounted read-only by compose
#   /data/warehouse    build database, published marts, reports; mounted read-write

FROM python:3.11-slim

ARG UV_VERSION=0.13.9
ARG AIRFLOW_UID=50000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/kc/.venv

# uv from PyPI (no binary downloads from elsewhere).
RUN pip install "uv==${UV_VERSION}"

WORKDIR /opt/kc

# 1. Dependencies only, from the lock file: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
# The `docker` group adds the PostgreSQL metadata-database drivers (psycopg2 for Airflow's ORM,
# asyncpg for its async engine); the local run uses SQLite and does not need them.
RUN uv sync --frozen --no-dev --group docker --no-install-project

# 2. The project itself. Installed editable (uv's default) on purpose: khuyencong.config finds
#    dbt_project/ and expectations/ relative to src/, i.e. under /opt/kc.
COPY src ./src
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
RUN uv sync --frozen --no-dev --group docker

ENV PATH="/opt/kc/.venv/bin:${PATH}" \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/kc/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    KC_RAW_DIR=/data/raw \
    KC_WAREHOUSE_DIR=/data/warehouse \
    KC_BUILD_DB=/data/warehouse/build.duckdb \
    DBT_TARGET_PATH=/data/warehouse/dbt/target \
    DBT_LOG_PATH=/data/warehouse/dbt/logs \
    HOME=/opt/airflow \
    USER=airflow \
    LOGNAME=airflow

# Non-root runtime user. Group 0 owns the writable paths so that compose can run the
# containers as any UID (`user: "${AIRFLOW_UID}:0"`) matching the owner of ./warehouse.
# A UID without a passwd entry has no user name, and Airflow refuses to start without one
# ("has no username"): USER / LOGNAME above give it one whatever the UID (getpass reads them first).
RUN useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --no-create-home \
        --shell /usr/sbin/nologin airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/auth /data/raw /data/warehouse \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow /data \
    && chmod -R g+rwX /opt/airflow /data

USER ${AIRFLOW_UID}:0
WORKDIR /opt/airflow
EXPOSE 8080

CMD ["airflow", "version"]
