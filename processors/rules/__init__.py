"""Alert rules: the rule file schema, validation, translation into Elasticsearch query DSL,
candidate pre-selection, and the explanation of why an article matched.

A rule is a reviewed YAML file (the packaged defaults are in `streams/resources/alerts/`);
its id is the file name without `.yaml`.
Its `query` is either the simple form over canonical fields:

    query:
      countries: [KP]           # ISO 3166-1 alpha-2; any of them
      event_types: [SANCTION]   # PLOVER-aligned types of processors/data/events.yaml
      text: sanctions           # optional full text (simple_query_string, all words)

or raw Elasticsearch query DSL under `dsl:`. Fields of the simple form are ANDed; the values
inside one field are alternatives (any of them). Whether an article matches is always decided
by Elasticsearch running the rule's query; `required_terms` only skips rules that cannot
match an article (the same candidate selection the percolator does with query terms).

Modules: `schema` (Rule, RuleQuery, validation), `parsing` (rule file text to Rule),
`query` (translation, referenced fields), `candidates` (required terms), `explain`,
`alert` (the Alert model), `documents` (rules-index document, Kibana rule).

Pure: no Elasticsearch, no Kafka, no files. `streams/operations/rule_files.py` reads rule files,
`streams/stages/alerts.py` and `streams/operations/rules.py` do the rest of the I/O.
"""

from processors.rules.alert import Alert, Delivery, alert_id, make_alert, story_of
from processors.rules.candidates import Requirement, is_candidate, record_terms, required_terms
from processors.rules.documents import kibana_rule, rule_document, rule_from_document
from processors.rules.explain import MAX_SNIPPETS, Explanation, explain
from processors.rules.parsing import (
    check_fields,
    parse_rule,
    rule_from_text,
    rule_id_of,
    rules_from_texts,
)
from processors.rules.query import (
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
    TEXT_FIELDS,
    mapping_fields,
    match_request,
    referenced_fields,
    to_es_query,
    unknown_fields,
)
from processors.rules.schema import (
    ALWAYS_CHANNELS,
    FORBIDDEN_QUERY_KEYS,
    RULE_ID,
    Channel,
    Rule,
    RuleError,
    RuleQuery,
    Severity,
    known_event_types,
)

__all__ = [
    "ALWAYS_CHANNELS",
    "FORBIDDEN_QUERY_KEYS",
    "HIGHLIGHT_POST",
    "HIGHLIGHT_PRE",
    "MAX_SNIPPETS",
    "RULE_ID",
    "TEXT_FIELDS",
    "Alert",
    "Channel",
    "Delivery",
    "Explanation",
    "Requirement",
    "Rule",
    "RuleError",
    "RuleQuery",
    "Severity",
    "alert_id",
    "check_fields",
    "explain",
    "is_candidate",
    "kibana_rule",
    "known_event_types",
    "make_alert",
    "mapping_fields",
    "match_request",
    "parse_rule",
    "record_terms",
    "referenced_fields",
    "required_terms",
    "rule_document",
    "rule_from_document",
    "rule_from_text",
    "rule_id_of",
    "rules_from_texts",
    "story_of",
    "to_es_query",
    "unknown_fields",
]
