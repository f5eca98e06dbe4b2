"""The police access log: every access to shared material recorded in the receiver's
signed audit chain before it is served (:mod:`.record`), read back (:mod:`.log`) and
exported as a signed bundle that a third party checks offline (:mod:`.export`,
:mod:`.verify`)."""
