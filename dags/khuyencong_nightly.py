"""Nightly khuyến công load: check and load -> dbt build -> mart gate -> publish -> summary.

This DAG is the one definition of the stage order; every task calls one function of
`khuyencong.run.pipeline`. Thin on purpose, and nothing heavy is imported at parse
time (no GX, dbt, pandas, duckdb). Settings come from the environment
(`khuyencong.config.Settings`); `kc run` passes its paths as params. Param
`rebuild=true` rebuilds the warehouse from raw/ alone. Stage results travel as XCom.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

from khuyencong.config import Settings

_PARSE_SETTINGS = Settings.from_env()  # retries only; each task builds its own from the run's params
# Transient errors only (a locked build database, a full disk being cleared).
RETRIES = {
    "retries": _PARSE_SETTINGS.task_retries,
    "retry_delay": timedelta(seconds=_PARSE_SETTINGS.retry_delay_seconds),
    "retry_exponential_backoff": True,
}
#: downstream DAGs can be scheduled on fresh marts
MARTS_ASSET = Asset("khuyencong://warehouse/marts")


def _blocked(fn, settings):
    """A blocked publication is a verdict, not a transient error: keep the reason for the summary, fail, no retry."""
    from airflow.sdk.exceptions import AirflowFailException

    from khuyencong.run.pipeline import PublicationBlocked

    try:
        return fn(settings)
    except PublicationBlocked as exc:
        get_current_context()["ti"].xcom_push(key="blocked", value=str(exc))
        raise AirflowFailException(str(exc)) from exc


def _on_failure(context):
    from khuyencong.run.alerts import notify_failure

    notify_failure(context, Settings.from_env().alert_webhook_url)


@dag(
    dag_id="khuyencong_nightly",
    schedule="0 1 * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    params={
        "rebuild": Param(False, type="boolean", description="rebuild the whole warehouse from raw/ alone"),
        "raw_dir": Param(None, type=["null", "string"], description="landing zone (default KC_RAW_DIR)"),
        "warehouse_dir": Param(None, type=["null", "string"], description="warehouse (default KC_WAREHOUSE_DIR)"),
    },
    default_args={**RETRIES, "on_failure_callback": _on_failure},
    tags=["khuyencong"],
    doc_md=__doc__,
)
def khuyencong_nightly():
    @task
    def prepare(params=None) -> dict:
        from khuyencong.run import pipeline

        settings = Settings.from_dict(params or {})
        if params and params.get("rebuild"):
            pipeline.reset_for_rebuild(settings)
        return settings.to_dict()

    @task(retries=0)  # a refused file is a finding, not an error; anything raised here is a bug
    def check_and_load(settings: dict) -> dict:
        from khuyencong.run.stage_process import run_stage

        return run_stage("check_and_load", Settings.from_dict(settings))

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def anything_to_build(settings: dict, loaded: dict) -> bool:
        from khuyencong.run import pipeline

        return pipeline.needs_build(Settings.from_dict(settings), loaded)

    @task
    def dbt_build(settings: dict) -> dict:
        from khuyencong.run import pipeline

        return _blocked(pipeline.build_marts, Settings.from_dict(settings))

    @task
    def mart_gate(settings: dict) -> dict:
        from functools import partial

        from khuyencong.run.stage_process import run_stage

        return _blocked(partial(run_stage, "gate_marts"), Settings.from_dict(settings))

    @task(outlets=[MARTS_ASSET])
    def publish(settings: dict) -> dict:
        from khuyencong.run import pipeline

        return pipeline.publish(Settings.from_dict(settings))

    @task(trigger_rule="all_done")  # also after a blocked or failed stage: the summary says why
    def summary(settings: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from khuyencong.run import pipeline

        ti = get_current_context()["ti"]
        stages = {name: ti.xcom_pull(task_ids=name)
                  for name in ("check_and_load", "dbt_build", "mart_gate", "publish")}
        blocked = [m for m in (ti.xcom_pull(task_ids=t, key="blocked") for t in ("dbt_build", "mart_gate")) if m]
        run_settings = Settings.from_dict(settings)
        # the summary is the DAG's only leaf, so it decides the run's state: failed unless every stage that
        # had to run did; after a good publication nothing is left to build
        missing = [name for name, result in stages.items() if result is None]
        failed = ("check_and_load" if stages["check_and_load"] is None
                  else missing[0] if missing and pipeline.needs_build(run_settings) else None)
        if blocked:
            stages["blocked"] = {"message": blocked[0]}
        elif failed:
            stages["failed"] = {"message": f"{failed} failed (not a refused file, not a gate verdict): see its log"}
        result = {**pipeline.summarise(run_settings, stages), **{k: v for k, v in stages.items() if v}}
        if blocked or failed:  # nothing new was published
            raise AirflowFailException(blocked[0] if blocked else stages["failed"]["message"])
        return result

    settings = prepare()
    loaded = check_and_load(settings)
    go = anything_to_build(settings, loaded)
    built = dbt_build(settings)
    gated = mart_gate(settings)
    published = publish(settings)
    go >> built >> gated >> published >> summary(settings)


khuyencong_nightly()
