"""``edge demo``: replay a sample video against a real broker and show what the police see."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli.common import SubParsers


def register(sub: SubParsers) -> None:
    """Add `edge demo`."""
    p = sub.add_parser(
        "demo",
        help="replay a sample video with a simulated door and a real "
        "broker; print what the police side receives",
    )
    p.add_argument(
        "video",
        nargs="?",
        type=Path,
        help="video to replay (default: the "
        "one-by-one-person-detection sample from ../shared/data)",
    )
    p.add_argument(
        "--model",
        type=Path,
        help="ONNX person detector (default: yolox_nano from ../shared/models)",
    )
    p.add_argument("--realtime", action="store_true", help="play at the video's own speed")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--verbose", "-v", action="store_true", help="show the node's log events")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the demo; its exit status is the demo's."""
    from edge.core import logs
    from edge.demo.run import run_demo

    logs.configure("warning" if not args.verbose else "info", "console")
    return run_demo(args.video, model=args.model, realtime=args.realtime, as_json=args.json)
