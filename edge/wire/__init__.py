"""What the node and the receiver share on the wire: topics, message ids, TLS contexts and
the certificates' days left."""
