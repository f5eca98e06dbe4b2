"""What the command modules share: exit codes, the command interface, config loading and the
detector options of ``edge eval`` and ``edge bench vision``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from edge.config.detection import DetectorConfig
    from edge.config.root import EdgeConfig

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
"""A configuration problem: the file, or what it names (certificates, directories, model)."""
EXIT_STATE = 3
"""A problem with the node's own state an operator must fix (signing key, audit log, outbox)."""

Handler: TypeAlias = Callable[[argparse.Namespace], int]
"""What ``register`` stores as ``handler`` in the parsed arguments."""

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The ``COMMAND`` sub-parsers of ``edge``, to which each command adds its own."""


class Command(Protocol):
    """One command module of ``edge``: its parser set-up beside its handler."""

    def register(self, sub: SubParsers) -> None:
        """Add the command's sub-parser to *sub*, with ``handler=handle`` as a default."""

    def handle(self, args: argparse.Namespace) -> int:
        """Carry out the command; return the exit status."""


def load_or_exit(path: Path) -> EdgeConfig:
    """The config at *path*, or exit 2 after printing each fault on a line of stderr."""
    from edge.config.loader import ConfigError, load

    try:
        return load(path)
    except ConfigError as e:
        exit_if(e.source, e.problems, EXIT_USAGE)
        raise  # a ConfigError always names at least one problem


def exit_if(source: str | Path, problems: Sequence[str], code: int) -> None:
    """With *problems*: print each as one line of stderr naming *source*, and exit *code*."""
    if problems:
        for problem in problems:
            print(f"{source}: {' '.join(problem.split())}", file=sys.stderr)
        raise SystemExit(code)


def add_detector_args(p: argparse.ArgumentParser) -> None:
    """Add --config, --model, --backend, --head, --score, --threads, --tiles, --input and
    --json to *p*."""
    p.add_argument("--config", "-c", type=Path, help="take [detector] from this node config")
    p.add_argument("--model", help="model file (overrides the config)")
    p.add_argument("--backend", choices=["onnx", "ultralytics"], help="detector backend")
    p.add_argument(
        "--head", choices=["auto", "yolox", "yolov8", "fastestdet"], help="onnx output layout"
    )
    p.add_argument("--score", type=float, help="lowest detector score kept")
    p.add_argument("--threads", type=int, help="onnxruntime threads per detector call (onnx)")
    p.add_argument(
        "--tiles",
        action="store_true",
        default=None,
        help="also run the detector on tiles at its input size (onnx; about 5x the CPU)",
    )
    p.add_argument(
        "--input",
        choices=["square", "rect"],
        help="onnx YOLOX: square or rectangular detector input (detector.rect_input)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable figures")


def detector_config(args: argparse.Namespace) -> DetectorConfig:
    """[detector] from --config, overridden by --model/--backend/--head/--score/--threads/
    --tiles/--input."""
    from edge.config.detection import DetectorConfig

    base = load_or_exit(args.config).detector if args.config else DetectorConfig()
    changes = {
        k: v
        for k, v in (
            ("model", args.model),
            ("backend", args.backend),
            ("head", args.head),
            ("score", args.score),
            ("threads", getattr(args, "threads", None)),
            ("tiles", args.tiles),
            ("rect_input", None if args.input is None else args.input == "rect"),
        )
        if v is not None
    }
    if args.model and not args.backend and base.backend == "none":
        changes["backend"] = (
            "ultralytics" if Path(args.model).suffix in {".pt", ".engine"} else "onnx"
        )
    try:
        return DetectorConfig.model_validate({**base.model_dump(), **changes})
    except ValueError as e:
        print(f"detector: {e}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from e
