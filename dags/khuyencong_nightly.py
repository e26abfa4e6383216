"""Nightly khuyến công load: discover -> check and load -> dbt build -> mart gate -> publish -> summary.

Thin on purpose: every task calls `khuyencong.pipeline`, which is tested without
Airflow. Nothing heavy is imported at parse time (no GX, dbt, pandas, duckdb).
Paths come from KC_RAW_DIR / KC_WAREHOUSE_DIR. Param `rebuild=true` rebuilds the
warehouse from raw/ alone.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

# Transient errors only (a locked file, a full disk being cleared); `kc run` shortens the delay.
RETRIES = {
    "retries": int(os.environ.get("KC_TASK_RETRIES", "2")),
    "retry_delay": timedelta(seconds=int(os.environ.get("KC_RETRY_DELAY_SECONDS", "60"))),
    "retry_exponential_backoff": True,
}


def _settings():
    from khuyencong.pipeline import Settings

    return Settings.from_env()


def _blocked(fn, settings, run_id):
    """A blocked publication is a verdict, not a transient error: record it, fail at once, no retry."""
    from airflow.sdk.exceptions import AirflowFailException

    from khuyencong.pipeline import PublicationBlocked, record_stage

    try:
        return fn(settings)
    except PublicationBlocked as exc:
        record_stage(settings, run_id, "blocked", {"message": str(exc)})
        raise AirflowFailException(str(exc)) from exc


def _on_failure(context):
    from khuyencong.alerts import notify_failure

    notify_failure(context)


@dag(
    dag_id="khuyencong_nightly",
    schedule="0 1 * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    params={"rebuild": Param(False, type="boolean", description="rebuild the whole warehouse from raw/ alone")},
    default_args={**RETRIES, "on_failure_callback": _on_failure},
    tags=["khuyencong"],
    doc_md=__doc__,
)
def khuyencong_nightly():
    @task
    def prepare(params=None) -> dict:
        from khuyencong import pipeline

        settings = _settings()
        if params and params.get("rebuild"):
            pipeline.reset_for_rebuild(settings)
        return settings.to_dict()

    @task
    def discover(_settings_dict: dict) -> dict:
        from khuyencong import pipeline

        return pipeline.discover(_settings())

    @task(retries=0)  # a refused file is a finding, not an error; anything raised here is a bug
    def check_and_load(discovered: dict) -> dict:
        from khuyencong import pipeline

        return pipeline.check_and_load(_settings(), discovered)

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def anything_to_build(loaded: dict) -> bool:
        from khuyencong import pipeline

        return pipeline.needs_build(_settings(), loaded)

    @task
    def dbt_build(run_id=None) -> dict:
        from khuyencong import pipeline

        settings = _settings()
        return pipeline.record_stage(settings, run_id, "dbt_build", _blocked(pipeline.build_marts, settings, run_id))

    @task
    def mart_gate(run_id=None) -> dict:
        from khuyencong import pipeline

        settings = _settings()
        return pipeline.record_stage(settings, run_id, "mart_gate", _blocked(pipeline.gate_marts, settings, run_id))

    @task
    def publish(run_id=None) -> dict:
        from khuyencong import pipeline

        return pipeline.record_stage(_settings(), run_id, "publish", pipeline.publish(_settings()))

    @task(trigger_rule="all_done")  # also after a blocked publication: the summary says why
    def summary(discovered: dict, loaded: dict, run_id=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from khuyencong import pipeline

        settings = _settings()
        stages = {"discover": discovered, "check_and_load": loaded, **pipeline.recorded_stages(settings, run_id)}
        result = {**pipeline.summarise(settings, stages), **stages}
        if "blocked" in stages:  # keep the run failed: publication did not happen
            raise AirflowFailException(stages["blocked"]["message"])
        return result

    prepared = prepare()
    discovered = discover(prepared)
    loaded = check_and_load(discovered)
    go = anything_to_build(loaded)
    built = dbt_build()
    gated = mart_gate()
    published = publish()
    go >> built >> gated >> published >> summary(discovered, loaded)


khuyencong_nightly()
