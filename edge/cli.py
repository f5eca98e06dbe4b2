"""The ``edge`` command line. Each sub-command lives in a small function; ``main`` wires them."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from edge import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Command = Callable[[argparse.Namespace], int]


def _check_config(args: argparse.Namespace) -> int:
    from edge.config import ConfigError, load

    env = None
    if args.credentials:
        env = {**os.environ, "CREDENTIALS_DIRECTORY": str(args.credentials)}
    try:
        cfg = load(args.path, env=env)
    except ConfigError as e:
        if args.json:
            print(json.dumps({"ok": False, "file": e.source, "problems": e.problems}))
        else:
            for problem in e.problems:
                print(f"{e.source}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from edge.privacy import mask_problems

    problems = mask_problems(cfg.cameras)
    if problems:
        if args.json:
            print(json.dumps({"ok": False, "file": str(args.path), "problems": problems}))
        else:
            for problem in problems:
                print(f"{args.path}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    summary = {
        "ok": True,
        "file": str(args.path),
        "node": cfg.node.id,
        "site": cfg.node.site,
        "cameras": [c.name for c in cfg.cameras],
        "sensors": [s.name for s in cfg.sensors],
        "destinations": [d.name for d in cfg.destinations],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{args.path}: OK: node {cfg.node.id} at {cfg.node.site}, "
            f"{len(cfg.cameras)} camera(s), {len(cfg.sensors)} sensor(s), "
            f"{len(cfg.destinations)} destination(s)"
        )
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from edge import logs
    from edge.app import Node, run_until
    from edge.health import Notifier

    cfg = _load_or_exit(args.config)
    logs.configure(cfg.logging.level, args.log_format or cfg.logging.format)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logs.get_logger(__name__).info("node.signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    run_until(Node(cfg), stop, Notifier())
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from edge import logs
    from edge.demo.run import run_demo

    logs.configure("warning" if not args.verbose else "info", "console")
    return run_demo(args.video, realtime=args.realtime, as_json=args.json)


def _load_or_exit(path: Path) -> Any:
    from edge.config import ConfigError, load

    try:
        return load(path)
    except ConfigError as e:
        for problem in e.problems:
            print(f"{e.source}: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from e


def _snapshot(args: argparse.Namespace) -> int:
    import cv2

    from edge.privacy import PrivacyError
    from edge.snapshot import SnapshotError, draw_overlay, grab

    cfg = _load_or_exit(args.config)
    cams = {c.name: c for c in cfg.cameras}
    cam = cams.get(args.camera)
    if cam is None:
        print(
            f"no camera {args.camera!r} in {args.config} (cameras: {', '.join(cams) or 'none'})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        frame = grab(cam, args.timeout)
    except (SnapshotError, PrivacyError) as e:
        print(f"snapshot: {e}", file=sys.stderr)
        return EXIT_FAILED
    image = draw_overlay(frame.image, cam) if args.overlay else frame.image
    out = args.overlay or args.output
    if not cv2.imwrite(str(out), image):
        print(f"snapshot: cannot write {out}", file=sys.stderr)
        return EXIT_FAILED
    h, w = frame.image.shape[:2]
    print(
        f"{out}: camera {cam.name}, {w}x{h}, {len(cam.privacy_masks)} privacy mask(s)"
        + (" drawn" if args.overlay else "")
    )
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    if args.what == "capture":
        from edge.bench.capture import bench_capture, format_capture

        result = bench_capture(
            str(args.source), fps=args.fps, limit_s=args.limit, repeat=args.repeat
        )
        print(json.dumps(result, indent=2) if args.json else format_capture(result))
        return EXIT_OK
    print(f"unknown benchmark {args.what!r}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="edge",
        description="warehouse-edge: privacy-masked CCTV analysis, GPIO sensors and durable "
        "evidence delivery for election-logistics warehouses.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run the node daemon (under systemd: Type=notify)")
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument(
        "--log-format",
        choices=["auto", "console", "json", "journal"],
        help="override logging.format",
    )
    p.set_defaults(func=_run)

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
    p.add_argument("--realtime", action="store_true", help="play at the video's own speed")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--verbose", "-v", action="store_true", help="show the node's log events")
    p.set_defaults(func=_demo)

    p = sub.add_parser("check-config", help="validate a node config; exit 2 naming each fault")
    p.add_argument("path", type=Path, help="config file (TOML)")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.add_argument(
        "--credentials",
        type=Path,
        metavar="DIR",
        help="resolve credential:NAME paths in DIR (as systemd's $CREDENTIALS_DIRECTORY would)",
    )
    p.set_defaults(func=_check_config)

    p = sub.add_parser(
        "snapshot",
        help="save one current frame of a camera as shared, privacy masks drawn with --overlay",
    )
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument("--camera", required=True, help="camera name")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument(
        "--overlay",
        type=Path,
        metavar="OUT.png",
        help="write the frame with the privacy masks drawn on it",
    )
    out.add_argument("--output", type=Path, metavar="OUT.jpg", help="write the frame as shared")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a frame")
    p.set_defaults(func=_snapshot)

    p = sub.add_parser("bench", help="measure a stage and print figures")
    bench = p.add_subparsers(dest="what", metavar="STAGE", required=True)
    b = bench.add_parser("capture", help="decode cost for analysis and the record role")
    b.add_argument("source", help="video file or rtsp:// URL")
    b.add_argument("--fps", type=float, default=5.0, help="analysis rate to compare")
    b.add_argument("--limit", type=float, default=600.0, help="stop after this many video s")
    b.add_argument("--repeat", type=int, default=3, help="runs per mode; the least CPU is kept")
    b.add_argument("--json", action="store_true", help="machine-readable figures")
    p.set_defaults(func=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edge`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command not in ("run", "demo"):
        from edge import logs

        logs.configure("warning", "console")  # tools print results; only problems are logged
    return func(args)
