"""Nightly khuyến công load: check and load -> dbt build -> mart gate -> publish -> summary.

This DAG is the one definition of the stage order; every task calls one function of
`khuyencong.run.pipeline`. Thin on purpose, and nothing heavy is imported at parse
time (no GX, dbt, pandas, duckdb). `prepare` reads the settings once (the environment,
`khuyencong.config.Settings`, and the run's params) and every later task gets them whole
as XCom. Param `rebuild=true` rebuilds the warehouse from raw/ alone; `allow_shrink=true`
lets a publication hold less than the published one. Runs at 01:00 Vietnam time.

Retry policy (`khuyencong.errors`): a transient error (busy warehouse, full disk) is retried;
a publication verdict fails the run at once and leaves the published warehouse as it was; a
bug fails at once. One alert per failed run (the DAG's failure callback).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from khuyencong.config import Settings, activate
from khuyencong.errors import kind_of

TIMEZONE = "Asia/Ho_Chi_Minh"
_PARSE_SETTINGS = Settings.from_env()  # retries and timeouts only; `prepare` reads the run's settings
TASK_DEFAULTS = {
    "retries": _PARSE_SETTINGS.task_retries,  # spent on transient errors only: see _stage
    "retry_delay": timedelta(seconds=_PARSE_SETTINGS.retry_delay_seconds),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(minutes=_PARSE_SETTINGS.task_timeout_minutes),
}
#: downstream DAGs can be scheduled on fresh marts
MARTS_ASSET = Asset("khuyencong://warehouse/marts")


def _settings(data: dict) -> Settings:
    """The run's settings, whole, installed for this task's process."""
    return activate(Settings.from_dict(data))


def _stage(fn, settings: dict):
    """Run a stage under the retry policy: transient errors raise as they are (Airflow retries them);
    a verdict or a bug fails the task without retries, a verdict's reason kept for the summary."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return fn(_settings(settings))
    except Exception as exc:
        kind = kind_of(exc)
        if kind == "transient":
            raise
        if kind == "verdict":
            get_current_context()["ti"].xcom_push(key="blocked", value=str(exc))
        raise AirflowFailException(str(exc)) from exc


def _on_failure(context):
    from khuyencong.run import pipeline
    from khuyencong.run.alerts import notify_failure

    settings = Settings.from_dict(pipeline.run_settings(dict(context.get("params") or {})))
    notify_failure(context, settings.alert_webhook_url, settings.runs_dir)


@dag(
    dag_id="khuyencong_nightly",
    description="Nightly at 01:00 Vietnam time (Asia/Ho_Chi_Minh = 18:00 UTC the day before)",
    schedule=CronTriggerTimetable("0 1 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2025, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=_PARSE_SETTINGS.dagrun_timeout_minutes),
    params={
        "rebuild": Param(False, type="boolean", description="rebuild the whole warehouse from raw/ alone"),
        "allow_shrink": Param(False, type="boolean",
                              description="publish even if the marts would hold fewer accepted reports or no rows"),
        "raw_dir": Param(None, type=["null", "string"], description="landing zone (default KC_RAW_DIR)"),
        "warehouse_dir": Param(None, type=["null", "string"], description="warehouse (default KC_WAREHOUSE_DIR)"),
    },
    default_args=TASK_DEFAULTS,
    on_failure_callback=_on_failure,  # the run's, once: not each task's
    tags=["khuyencong"],
    doc_md=__doc__,
)
def khuyencong_nightly():
    @task
    def prepare(params=None) -> dict:
        from khuyencong.run import pipeline

        settings = pipeline.run_settings(params or {})
        if params and params.get("rebuild"):
            _stage(pipeline.reset_for_rebuild, settings)
        return settings

    @task
    def check_and_load(settings: dict) -> dict:
        from functools import partial

        from khuyencong.run.stage_process import run_stage

        return _stage(partial(run_stage, "check_and_load"), settings)

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def anything_to_build(settings: dict, loaded: dict) -> bool:
        from khuyencong.run import pipeline

        return pipeline.needs_build(_settings(settings), loaded)

    @task
    def dbt_build(settings: dict) -> dict:
        from khuyencong.run import pipeline

        return _stage(pipeline.build_marts, settings)

    @task
    def mart_gate(settings: dict) -> dict:
        from functools import partial

        from khuyencong.run.stage_process import run_stage

        return _stage(partial(run_stage, "gate_marts"), settings)

    @task(outlets=[MARTS_ASSET])
    def publish(settings: dict) -> dict:
        from khuyencong.run import pipeline

        return _stage(pipeline.publish, settings)

    @task(trigger_rule="all_done")  # also after a blocked or failed stage: the summary says why
    def summary(settings: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from khuyencong.run import pipeline

        context = get_current_context()
        ti = context["ti"]
        stages = {name: ti.xcom_pull(task_ids=name) for name in pipeline.STAGES}
        blocked = [m for m in (ti.xcom_pull(task_ids=t, key="blocked") for t in pipeline.STAGES) if m]
        result, failure = pipeline.finish_run(_settings(settings), stages, blocked, context["run_id"])
        if failure:  # nothing new was published: the summary is the DAG's only leaf, so it fails the run
            raise AirflowFailException(failure)
        return result

    settings = prepare()
    loaded = check_and_load(settings)
    go = anything_to_build(settings, loaded)
    built = dbt_build(settings)
    gated = mart_gate(settings)
    published = publish(settings)
    go >> built >> gated >> published >> summary(settings)


khuyencong_nightly()
