"""The local Kafka broker and Elasticsearch node started from Maven-resolved jars."""
