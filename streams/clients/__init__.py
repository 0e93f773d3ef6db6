"""Clients of the outside world, made in one place: Kafka (admin, topics), Elasticsearch
(client factory, templates, the bulk writer), Kibana saved objects, the alert webhook."""
