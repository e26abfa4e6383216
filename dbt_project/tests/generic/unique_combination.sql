{#-
    The combination of `combination_of_columns` is unique (no packages needed:
    the build runs without internet, so no dbt_utils).
-#}
{% test unique_combination(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
