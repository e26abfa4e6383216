"""Running the nightly job: the stages the DAG calls, in-process Airflow for `kc run`, alerts."""
