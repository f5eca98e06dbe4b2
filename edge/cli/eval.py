"""``edge eval``: precision and recall of the detector on a MOT sequence."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    SubParsers,
    add_detector_args,
    detector_config,
)


def register(sub: SubParsers) -> None:
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
    add_detector_args(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the detector over the sequence and print its scores against the ground truth."""
    from edge.analysis.detect.factory import build_detector
    from edge.analysis.detect.onnx import ModelError
    from edge.analysis.evaluate import SequenceError, evaluate

    dcfg = detector_config(args)
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
