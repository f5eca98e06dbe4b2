"""Node keys, signed manifests, the audit chain and the verification the receiver shares."""
