"""The fleet's site PKI for technicians (``edge pki``): a site CA, node keys and CSRs made on
the node, certificates signed on the technician's controller, revocation and the CRL the
police broker checks.

A CA directory holds ``ca.key`` (0600, in a 0700 directory), ``ca.crt``, ``index`` (one JSON
object per line: every certificate issued and every revocation) and ``crl.pem``.
One module per concern: :mod:`.ca` (the CA and its files), :mod:`.csr` (key and request on
the node), :mod:`.sign` (roles and issuing), :mod:`.revoke` (revocation and the CRL).
"""
