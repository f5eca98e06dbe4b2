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

_DESCRIPTION = """\
Run the detector on every image of a MOT sequence and score it against gt/gt.txt.

The sequence: img1/ with one image per frame (.jpg, .jpeg, .png), the frame number being
the last run of digits in the name (000001.jpg, frame_0001.jpg, img00001.png: frame 1), and
gt/gt.txt with rows frame,id,x,y,w,h[,conf,...] (conf 0: an ignore region).

Matching: IoU >= --iou, greedy by descending IoU, one detection per person. With
--min-height the benchmarks' "don't care" rule applies, so a box a few pixels either side
of the limit never counts against the detector:
  - truth at least --min-height tall is counted: a hit (TP) or a miss (FN);
  - shorter truth is an ignore region: never a miss;
  - a detection matching counted truth is a TP, whatever its own height; one matching an
    ignore region (of any height) is neither TP nor FP;
  - a detection matching nothing is a false positive if at least --min-height tall,
    otherwise ignored; a second detection of a counted person is a false positive.

Exit status: 0 scored; 1 not a sequence (no gt/gt.txt) or the model cannot be used;
2 a malformed sequence (no images, a name without digits, two images of one frame, an
unreadable image, a gt.txt line that does not parse or names a frame without an image),
or no detector configured.
"""


def register(sub: SubParsers) -> None:
    """Add `edge eval`."""
    p = sub.add_parser(
        "eval",
        help="precision and recall of the detector on a MOT sequence",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        help='boxes shorter than this are "don\'t care" (see below): truth shorter is an '
        "ignore region, never a miss; a detection matched to truth of any height is never a "
        "false positive; a shorter detection matching nothing is ignored",
    )
    p.add_argument("--iou", type=float, default=0.5, help="overlap that counts as a match")
    add_detector_args(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the detector over the sequence and print its scores against the ground truth."""
    from edge.analysis.detect.factory import build_detector
    from edge.analysis.detect.onnx import ModelError
    from edge.analysis.evaluate import MalformedSequenceError, SequenceError, evaluate

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
    except MalformedSequenceError as e:
        print(f"eval: {e}", file=sys.stderr)
        return EXIT_USAGE
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
            f"ignored: {scores.ignored} detections, {scores.gt_ignored} truth boxes; "
            f"{scores.frames} frames, {scores.ms_per_frame:.1f} ms/frame)"
        )
    return EXIT_OK
