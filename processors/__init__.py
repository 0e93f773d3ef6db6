"""Pure enrichment logic for wirewatch: no Kafka, no Elasticsearch, no network."""
