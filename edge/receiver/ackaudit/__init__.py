"""The acknowledgement audit: a hash chain of every acknowledgement, kept in the store (so
several receivers on one PostgreSQL keep one history), signed with each receiver's own
Ed25519 key (checkpoints in the chain, a signed head beside it), and checked row by row
against the ``acks`` table (``edge receive audit verify``, ``/admin``)."""
