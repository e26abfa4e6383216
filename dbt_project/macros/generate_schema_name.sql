{#-
    Use a model's custom schema verbatim (`marts`, not `main_marts`), so BI tools
    always find the published tables in the schema named by the marts contract.
    Models without a custom schema go to the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
