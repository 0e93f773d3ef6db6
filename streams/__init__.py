"""The I/O shell of wirewatch: Faust app, topics, agents, Elasticsearch writer, CLI."""
