"""One ``Signer`` protocol for every signature the project makes (messages, manifests,
bundles, the node's and the receiver's audit checkpoints): defined once, in
``edge/evidence/signing.py``."""

from __future__ import annotations

import ast
from pathlib import Path

from edge.evidence.chain import checkpoint_message
from edge.evidence.keys import NodeKey
from edge.evidence.signing import Signer

PACKAGE = Path(__file__).resolve().parents[2] / "edge"


def test_signer_is_defined_once() -> None:
    """Exactly one class named Signer in the package, in edge/evidence/signing.py."""
    texts = {path: path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}
    where = [
        path.relative_to(PACKAGE.parent).as_posix()
        for path, text in texts.items()
        if "Signer" in text  # parse only the modules that name it
        for node in ast.walk(ast.parse(text, str(path)))
        if isinstance(node, ast.ClassDef) and node.name == "Signer"
    ]
    assert where == ["edge/evidence/signing.py"]


def _checkpoint_signature(key: Signer) -> bytes:
    """What the audit chains do with a Signer: sign a checkpoint message."""
    return key.sign(checkpoint_message("0" * 64, 1, 1.0, key.id))


def test_node_key_signs_a_checkpoint_through_the_protocol(tmp_path: Path) -> None:
    """A real NodeKey is a Signer: its checkpoint signature verifies with its public key."""
    key = NodeKey.create(tmp_path / "keys" / "node.key")
    signature = _checkpoint_signature(key)
    key.public.verify(signature, checkpoint_message("0" * 64, 1, 1.0, key.id))
