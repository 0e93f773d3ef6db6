"""Getting articles onto the raw topic: the publisher, feed following, its state."""
