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
    from edge.config.loader import ConfigError, load

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
    from edge.capture.privacy import mask_problems

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
    from edge.core import logs
    from edge.node.node import Node
    from edge.node.notify import Notifier
    from edge.node.watchdog import run_until

    cfg = _load_or_exit(args.config)
    logs.configure(cfg.logging.level, args.log_format or cfg.logging.format)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logs.get_logger(__name__).info("node.signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    node = Node(cfg)
    signal.signal(signal.SIGUSR1, lambda _s, _f: node.reset_sirens())  # silence the siren
    run_until(node, stop, Notifier())
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from edge.core import logs
    from edge.demo.run import run_demo

    logs.configure("warning" if not args.verbose else "info", "console")
    return run_demo(args.video, model=args.model, realtime=args.realtime, as_json=args.json)


def _load_or_exit(path: Path) -> Any:
    from edge.config.loader import ConfigError, load

    try:
        return load(path)
    except ConfigError as e:
        for problem in e.problems:
            print(f"{e.source}: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from e


def _snapshot(args: argparse.Namespace) -> int:
    import cv2

    from edge.capture.preview import SnapshotError, draw_overlay, grab
    from edge.capture.privacy import PrivacyError

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


def _detector_config(args: argparse.Namespace) -> Any:
    """[detector] from --config, overridden by --model/--backend/--head/--score."""
    from edge.config.detection import DetectorConfig

    base = _load_or_exit(args.config).detector if args.config else DetectorConfig()
    changes = {
        k: v
        for k, v in (
            ("model", args.model),
            ("backend", args.backend),
            ("head", args.head),
            ("score", args.score),
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


def _add_detector_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", type=Path, help="take [detector] from this node config")
    p.add_argument("--model", help="model file (overrides the config)")
    p.add_argument("--backend", choices=["onnx", "ultralytics"], help="detector backend")
    p.add_argument(
        "--head", choices=["auto", "yolox", "yolov8", "fastestdet"], help="onnx output layout"
    )
    p.add_argument("--score", type=float, help="lowest detector score kept")
    p.add_argument("--json", action="store_true", help="machine-readable figures")


def _eval(args: argparse.Namespace) -> int:
    from edge.analysis.detect.factory import build_detector
    from edge.analysis.detect.onnx import ModelError
    from edge.analysis.evaluate import SequenceError, evaluate

    dcfg = _detector_config(args)
    try:
        detector = build_detector(dcfg)
        if detector is None:
            print(
                "eval: no detector configured (give --model or a config with [detector])",
                file=sys.stderr,
            )
            return EXIT_USAGE
        scores = evaluate(detector, args.gt, min_height=args.min_height, iou=args.iou)
    except (ModelError, SequenceError) as e:
        print(f"eval: {e}", file=sys.stderr)
        return EXIT_FAILED
    result = {
        "sequence": str(args.gt),
        "detector": detector.name,
        "min_height": args.min_height,
        "iou": args.iou,
        **scores.as_dict(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.gt}: {detector.name}, IoU >= {args.iou:g}, min height "
            f"{args.min_height:g} px\n  precision {scores.precision:.3f}  recall "
            f"{scores.recall:.3f}  (TP {scores.tp}, FP {scores.fp}, FN {scores.fn}, "
            f"{scores.frames} frames, {scores.ms_per_frame:.1f} ms/frame)"
        )
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    if args.what == "sensors":
        from edge.bench.sensors import bench_sensors, format_sensors

        result = bench_sensors(edges=args.edges)
        print(json.dumps(result, indent=2) if args.json else format_sensors(result))
        return EXIT_OK
    if args.what == "delivery":
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
    if args.what == "clips":
        from edge.bench.clips import bench_clips, format_clips

        result = bench_clips(str(args.video), seconds=args.seconds, repeat=args.repeat)
        print(json.dumps(result, indent=2) if args.json else format_clips(result))
        return EXIT_OK
    if args.what == "vision":
        from edge.bench.vision import bench_vision, format_vision

        result = bench_vision(str(args.video), _detector_config(args), fps=args.fps)
        print(json.dumps(result, indent=2) if args.json else format_vision(result))
        return EXIT_OK
    if args.what == "capture":
        from edge.bench.capture import bench_capture, format_capture

        result = bench_capture(
            str(args.source), fps=args.fps, limit_s=args.limit, repeat=args.repeat
        )
        print(json.dumps(result, indent=2) if args.json else format_capture(result))
        return EXIT_OK
    print(f"unknown benchmark {args.what!r}", file=sys.stderr)
    return EXIT_USAGE


def _sensor_table(rows: list[dict[str, Any]]) -> str:
    import datetime as dt

    lines = [
        f"{'sensor':<18}{'kind':<8}{'pin':>4}  {'state':<9}{'contact':<8}{'changes':>8}"
        f"{'edges':>7}  last change"
    ]
    for r in rows:
        when = (
            dt.datetime.fromtimestamp(r["last_change"]).strftime("%H:%M:%S")
            if r["last_change"]
            else "-"
        )
        state = "FLAPPING" if r["flapping"] else ("ACTIVE" if r["active"] else "idle")
        lines.append(
            f"{r['name']:<18}{r['kind']:<8}{r['pin']:>4}  {state:<9}"
            f"{r['contact']:<8}{r['changes']:>8}{r['edges']:>7}  {when}"
        )
    return "\n".join(lines)


def _sensors(args: argparse.Namespace) -> int:
    import time

    from edge.events.context import EventFactory
    from edge.sensors.contacts import ContactInput
    from edge.sensors.pins import make_pin_factory

    cfg = _load_or_exit(args.config)
    if not cfg.sensors:
        print(f"{args.config}: no sensors configured", file=sys.stderr)
        return EXIT_USAGE
    factory = make_pin_factory(cfg)
    try:
        inputs = [
            ContactInput(
                s, EventFactory(cfg.node.id, cfg.node.site), lambda _e: None, pin_factory=factory
            )
            for s in cfg.sensors
        ]
    except Exception as e:  # gpiozero: no GPIO chip, pin in use by the running daemon
        print(
            f"sensors: cannot open the pins ({type(e).__name__}: {e}); is the node "
            "service running? stop it first",
            file=sys.stderr,
        )
        return EXIT_FAILED
    for i in inputs:
        i.start()
    try:
        if args.json:
            print(json.dumps([i.status() for i in inputs]))
            return EXIT_OK
        while True:
            table = _sensor_table([i.status() for i in inputs])
            if args.once:
                print(table)
                return EXIT_OK
            print("\x1b[2J\x1b[H" + table + "\n\n(Ctrl-C to stop)", flush=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        for i in inputs:
            i.close()


def _keys(args: argparse.Namespace) -> int:
    from edge.evidence.keys import NodeKey, SigningKeyError, public_pem

    cfg = _load_or_exit(args.config)
    try:
        key = NodeKey(cfg.key_path)
    except (SigningKeyError, OSError) as e:
        print(f"keys: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(
            json.dumps(
                {
                    "node": cfg.node.id,
                    "site": cfg.node.site,
                    "key_id": key.id,
                    "alg": "Ed25519",
                    "public_key_pem": public_pem(key.public),
                }
            )
        )
    else:
        print(f"# warehouse-edge node {cfg.node.id} at {cfg.node.site}, Ed25519 key id {key.id}")
        print(public_pem(key.public), end="")
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    from edge.evidence.audit import verify_log

    try:
        check = verify_log(args.path)
    except OSError as e:
        print(f"audit: cannot read {args.path}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                {
                    "ok": check.ok,
                    "records": check.records,
                    "head": check.head,
                    "bad_line": check.bad_line,
                    "reason": check.reason,
                }
            )
        )
    elif check.ok:
        print(f"{args.path}: OK, {check.records} records, head {check.head}")
    else:
        print(
            f"{args.path}:{check.bad_line}: {check.reason} (after {check.records} good records)",
            file=sys.stderr,
        )
    return EXIT_OK if check.ok else EXIT_FAILED


def _cmd_run(sub: Any) -> None:
    """Add `edge run`."""
    p = sub.add_parser("run", help="run the node daemon (under systemd: Type=notify)")
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument(
        "--log-format",
        choices=["auto", "console", "json", "journal"],
        help="override logging.format",
    )
    p.set_defaults(func=_run)


def _cmd_demo(sub: Any) -> None:
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
    p.set_defaults(func=_demo)


def _cmd_snapshot(sub: Any) -> None:
    """Add `edge snapshot`."""
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


def _cmd_check_config(sub: Any) -> None:
    """Add `edge check-config`."""
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


def _cmd_bench(sub: Any) -> None:
    """Add `edge bench`."""
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
    _add_detector_args(b)
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
    b = bench.add_parser("sensors", help="pin edge to outbox-accepted latency")
    b.add_argument("--edges", type=int, default=400, help="edges to drive")
    b.add_argument("--json", action="store_true", help="machine-readable figures")
    p.set_defaults(func=_bench)


def _cmd_sensors(sub: Any) -> None:
    """Add `edge sensors`."""
    p = sub.add_parser("sensors", help="live table of every GPIO input, for wiring (Ctrl-C)")
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument("--json", action="store_true", help="print one snapshot as JSON")
    p.add_argument("--once", action="store_true", help="print the table once")
    p.set_defaults(func=_sensors)


def _cmd_keys(sub: Any) -> None:
    """Add `edge keys`."""
    p = sub.add_parser("keys", help="the node's evidence-signing key")
    keys = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    k = keys.add_parser("export", help="print the public key (the private key never leaves)")
    k.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    k.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(func=_keys)


def _cmd_audit(sub: Any) -> None:
    """Add `edge audit`."""
    p = sub.add_parser("audit", help="the hash-chained log of what was shared")
    audit = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    a = audit.add_parser("verify", help="check the chain; exit 1 naming the first bad record")
    a.add_argument("path", type=Path, help="audit log (DATA_DIR/audit.log)")
    a.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(func=_audit)


def _cmd_eval(sub: Any) -> None:
    """Add `edge eval`."""
    p = sub.add_parser("eval", help="precision and recall of the detector on a MOT sequence")
    p.add_argument(
        "--gt",
        type=Path,
        required=True,
        metavar="SEQ_DIR",
        help="MOT-format sequence: img1/ and gt/gt.txt",
    )
    p.add_argument(
        "--min-height",
        type=float,
        default=0.0,
        metavar="PX",
        help="leave out boxes (truth and detections) shorter than this",
    )
    p.add_argument("--iou", type=float, default=0.5, help="overlap that counts as a match")
    _add_detector_args(p)
    p.set_defaults(func=_eval)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="edge",
        description="warehouse-edge: privacy-masked CCTV analysis, GPIO sensors and durable "
        "evidence delivery for election-logistics warehouses.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _cmd_run(sub)
    _cmd_demo(sub)
    _cmd_check_config(sub)
    _cmd_snapshot(sub)
    _cmd_bench(sub)
    _cmd_sensors(sub)
    _cmd_keys(sub)
    _cmd_audit(sub)
    _cmd_eval(sub)
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
        from edge.core import logs

        logs.configure("warning", "console")  # tools print results; only problems are logged
    return func(args)
