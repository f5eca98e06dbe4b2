"""The node's sharing report (issue 26): what the node delivered to whom in a period, the
cameras kept private and the masks in force, the changes to what is shared, as a signed
bundle (:mod:`edge.report.write`) that anyone checks offline with the node's public key
(:mod:`edge.report.check`)."""
