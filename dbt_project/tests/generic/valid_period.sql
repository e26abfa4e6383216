{#-
    The column holds a valid period code (`kc_period_codes`); NULL passes, as with
    accepted_values. One test for every period column, so the list lives in one place.
-#}
{% test valid_period(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} not in {{ kc_period_codes() }}

{% endtest %}
