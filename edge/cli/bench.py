"""``edge bench``: measure one stage (capture, vision, clips, delivery, sensors), print figures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Handler,
    SubParsers,
    add_detector_args,
    detector_config,
)


def register(sub: SubParsers) -> None:
    """Add `edge bench` and its stages."""
    p = sub.add_parser("bench", help="measure a stage and print figures")
    bench = p.add_subparsers(dest="what", metavar="STAGE", required=True)
    b = bench.add_parser("capture", help="decode cost for analysis and the record role")
    b.add_argument("source", help="video file or rtsp:// URL")
    b.add_argument("--fps", type=float, default=5.0, help="analysis rate to compare")
    b.add_argument("--limit", type=float, default=600.0, help="stop after this many video s")
    b.add_argument("--repeat", type=int, default=3, help="runs per mode; the least CPU is kept")
    b.add_argument("--json", action="store_true", help="machine-readable figures")
    b = bench.add_parser(
        "vision", help="motion, detector and tracker on a video, as the daemon runs them"
    )
    b.add_argument("video", type=Path, help="video file")
    b.add_argument("--fps", type=float, default=5.0, help="analysis rate")
    b.add_argument(
        "--events",
        action="store_true",
        help="list every occurrence with its start and end stream time (always in --json)",
    )
    b.add_argument(
        "--tracker",
        choices=["iou", "bytetrack"],
        help="the camera's tracker setting (default: a camera's default), to compare them",
    )
    add_detector_args(b)
    b = bench.add_parser("clips", help="CPU per clip: remux versus re-encode")
    b.add_argument("video", type=Path, help="H.264 video file")
    b.add_argument("--seconds", type=float, default=15.0, help="clip length")
    b.add_argument("--repeat", type=int, default=20, help="remux runs to average")
    b.add_argument("--json", action="store_true", help="machine-readable figures")
    b = bench.add_parser("delivery", help="outbox + MQTT over mutual TLS to a local broker")
    b.add_argument("--rate", type=float, default=100.0, help="steady events per second")
    b.add_argument("--seconds", type=float, default=10.0, help="length of the steady run")
    b.add_argument("--burst", type=int, default=5000, help="events for the sustained rate")
    b.add_argument("--backlog", type=int, default=10_000, help="events queued while offline")
    b.add_argument("--clip-mb", type=float, default=20.0, help="clip size for throughput")
    b.add_argument("--json", action="store_true", help="machine-readable figures")
    _capacity_args(bench)
    b = bench.add_parser("sensors", help="pin edge to outbox-accepted latency")
    b.add_argument("--edges", type=int, default=400, help="edges to drive")
    b.add_argument("--json", action="store_true", help="machine-readable figures")
    p.set_defaults(handler=handle)


def _capacity_args(bench: SubParsers) -> None:
    """`edge bench capacity`'s arguments."""
    from edge.bench.capacity_parts import Options

    d = Options()
    b = bench.add_parser(
        "capacity",
        help="N real RTSP cameras on the real daemon: CPU, RSS, threads, drops per N",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    b.add_argument("cameras", type=int, nargs="+", metavar="N", help="camera counts to run")
    b.add_argument("--seconds", type=float, default=d.seconds, help="measured window (s)")
    b.add_argument("--warmup", type=float, default=d.warmup, help="warm-up before it (s)")
    b.add_argument("--fps", type=float, default=d.fps, help="analysis rate per camera")
    b.add_argument("--model", type=Path, default=d.model, help="ONNX detector")
    b.add_argument("--video", type=Path, default=d.video, help="video each camera loops")
    b.add_argument("--server", type=Path, default=d.server, help="RTSP test server script")
    b.add_argument(
        "--daemon-python",
        default=d.daemon_python,
        help="Python that runs the daemon",
    )
    b.add_argument(
        "--checkout", type=Path, help="run the daemon of this checkout (before/after tables)"
    )
    out = b.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="machine-readable figures")
    out.add_argument("--markdown", action="store_true", help="README's table of the figures")
    b.add_argument(
        "--before",
        type=Path,
        metavar="FILE",
        help="with --markdown: an earlier --json result; each cell 'before -> after'",
    )


def handle(args: argparse.Namespace) -> int:
    """Run the benchmark of the chosen stage."""
    stage = _STAGES.get(args.what)
    if stage is None:
        print(f"unknown benchmark {args.what!r}", file=sys.stderr)
        return EXIT_USAGE
    return stage(args)


def _capture(args: argparse.Namespace) -> int:
    """`edge bench capture`."""
    from edge.bench.capture import bench_capture, format_capture

    result = bench_capture(str(args.source), fps=args.fps, limit_s=args.limit, repeat=args.repeat)
    print(json.dumps(result, indent=2) if args.json else format_capture(result))
    return EXIT_OK


def _vision(args: argparse.Namespace) -> int:
    """`edge bench vision`."""
    from edge.bench.vision import bench_vision, format_vision

    result = bench_vision(
        str(args.video), detector_config(args), fps=args.fps, tracker=args.tracker
    )
    print(json.dumps(result, indent=2) if args.json else format_vision(result, events=args.events))
    return EXIT_OK


def _clips(args: argparse.Namespace) -> int:
    """`edge bench clips`."""
    from edge.bench.clips import bench_clips, format_clips

    result = bench_clips(str(args.video), seconds=args.seconds, repeat=args.repeat)
    print(json.dumps(result, indent=2) if args.json else format_clips(result))
    return EXIT_OK


def _delivery(args: argparse.Namespace) -> int:
    """`edge bench delivery`."""
    from edge.bench.delivery import bench_delivery, format_delivery

    result = bench_delivery(
        rate=args.rate,
        seconds=args.seconds,
        burst=args.burst,
        backlog=args.backlog,
        clip_mb=args.clip_mb,
    )
    print(json.dumps(result, indent=2) if args.json else format_delivery(result))
    return EXIT_OK


def _sensors(args: argparse.Namespace) -> int:
    """`edge bench sensors`."""
    from edge.bench.sensors import bench_sensors, format_sensors

    result = bench_sensors(edges=args.edges)
    print(json.dumps(result, indent=2) if args.json else format_sensors(result))
    return EXIT_OK


def _capacity(args: argparse.Namespace) -> int:
    """`edge bench capacity`."""
    from edge.bench.capacity import bench_capacity, format_capacity
    from edge.bench.capacity_parts import BenchError, Options
    from edge.bench.capacity_table import load_result, markdown

    opts = Options(
        seconds=args.seconds,
        warmup=args.warmup,
        fps=args.fps,
        model=args.model,
        video=args.video,
        server=args.server,
        daemon_python=args.daemon_python,
        checkout=args.checkout,
    )
    try:
        before = load_result(args.before) if args.before else None
        result = bench_capacity(args.cameras, opts)
    except BenchError as e:
        print(f"edge bench capacity: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.markdown:
        print(markdown(result, before))
    else:
        print(json.dumps(result, indent=2) if args.json else format_capacity(result))
    return EXIT_OK


_STAGES: dict[str, Handler] = {
    "capacity": _capacity,
    "capture": _capture,
    "vision": _vision,
    "clips": _clips,
    "delivery": _delivery,
    "sensors": _sensors,
}
