"""``edge eval``: precision and recall of the detector on a MOT sequence, and with identities
in its truth the track measures of the node's tracker."""

from __future__ import annotations

import argparse
import json
import sys
import typing
from pathlib import Path

if typing.TYPE_CHECKING:
    from edge.analysis.detect.base import Detector
    from edge.analysis.evaluate import DetectorRun

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

With ids in gt/gt.txt (not every id -1), the detector's boxes also go, through a camera's
default box filter, into the node's tracker, frame by frame at --fps, and the tracks are
scored with motmetrics (the 'eval' extra): IDF1 (identity F1), ID switches (a person's track
changes id), fragmentations (a person's track lost and found again), MOTA, and events per true
person: each person START put on the identity its track overlaps most, divided by the people
who got one (1.0: one alarm per person; the people who got none, and STARTs on nobody, are
counted apart). Reported boxes matched to an ignore region, or short and matching nothing, are
dropped first, as above. --compare prints the old tracker (iou) first, then the other one.
With --as-node the images go through a camera's analysis as the daemon runs it instead (one
in five at --analysis-fps 5 of a 25 fps sequence; motion gate, detector schedule, box
filter, tracker, static-object rule): the detector runs only where a node would run it, and
the tracks are scored on those frames.

Exit status: 0 scored; 1 not a sequence (no gt/gt.txt) or the model cannot be used;
2 a malformed sequence (no images, a name without digits, two images of one frame, an
unreadable image, a gt.txt line that does not parse or names a frame without an image),
or no detector configured. Without motmetrics the box scores print and a note says the track
measures were skipped (exit 1 if --tracker or --compare asked for them).
"""


def _tracker_kinds() -> tuple[str, ...]:
    """The matchers the ``tracker`` camera setting can name, today's (``iou``) first."""
    from edge.config.detection import CameraDetectionConfig

    setting = CameraDetectionConfig.model_fields.get("tracker")
    kinds = typing.get_args(setting.annotation) if setting is not None else ()
    return ("iou", *(str(k) for k in kinds if k != "iou"))


def _default_tracker() -> str:
    """The matcher a camera runs when its config does not say."""
    from edge.config.detection import CameraDetectionConfig

    return str(getattr(CameraDetectionConfig(), "tracker", "iou"))


def register(sub: SubParsers) -> None:
    """Add `edge eval`."""
    p = sub.add_parser(
        "eval",
        help="precision and recall of the detector (and its tracks) on a MOT sequence",
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
    p.add_argument(
        "--tracker",
        choices=_tracker_kinds(),
        help="the tracker whose tracks are scored (default: a camera's default)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="score today's tracker (iou) first, then --tracker (default: every other one)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=0.0,
        metavar="S",
        help="feed the tracker only frames at least S seconds apart, as a node runs its "
        "detector (a camera's busy_interval_s: 0.4); tracks are scored on those frames "
        "(default 0: every frame)",
    )
    p.add_argument(
        "--as-node",
        action="store_true",
        help="hand the images to a camera's analysis as the daemon runs it, at --analysis-fps "
        "(motion gate, detector schedule, box filter, tracker, static-object rule): the "
        "detector runs only when a node would; tracks are scored on those frames",
    )
    p.add_argument(
        "--analysis-fps",
        type=float,
        default=5.0,
        metavar="F",
        help="with --as-node: the camera's analysis rate (a camera's fps: 5)",
    )
    p.add_argument(
        "--fps",
        type=float,
        default=25.0,
        help="frame rate of the sequence: frame n is at (n - first) / fps s (TUD-Campus: 25)",
    )
    add_detector_args(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the detector over the sequence and print its scores against the ground truth,
    then, with identities in the truth, the track measures of each tracker asked for."""
    from edge.analysis.detect.factory import build_detector
    from edge.analysis.detect.onnx import ModelError
    from edge.analysis.evaluate import (
        MalformedSequenceError,
        SequenceError,
        run_detector,
        score_boxes,
    )

    dcfg = detector_config(args)
    try:
        detector = build_detector(dcfg)
        if detector is None:
            print(
                "eval: no detector configured (give --model or a config with [detector])",
                file=sys.stderr,
            )
            return EXIT_USAGE
        run = run_detector(detector, args.gt)
    except MalformedSequenceError as e:
        print(f"eval: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (ModelError, SequenceError) as e:
        print(f"eval: {e}", file=sys.stderr)
        return EXIT_FAILED
    scores = score_boxes(run, min_height=args.min_height, iou=args.iou)
    result: dict[str, object] = {
        "sequence": str(args.gt),
        "detector": detector.name,
        "min_height": args.min_height,
        "iou": args.iou,
        **scores.as_dict(),
    }
    lines = [
        f"{args.gt}: {detector.name}, IoU >= {args.iou:g}, min height "
        f"{args.min_height:g} px\n  precision {scores.precision:.3f}  recall "
        f"{scores.recall:.3f}  (TP {scores.tp}, FP {scores.fp}, FN {scores.fn}, "
        f"ignored: {scores.ignored} detections, {scores.gt_ignored} truth boxes; "
        f"{scores.frames} frames, {scores.ms_per_frame:.1f} ms/frame)"
    ]
    status = EXIT_OK
    if run.gt.has_ids:
        status = _tracks(args, run, detector, result, lines)
    print(json.dumps(result) if args.json else "\n".join(lines))
    return status


def _trackers(args: argparse.Namespace) -> list[str]:
    """The trackers to score, today's first with --compare."""
    if not args.compare:
        return [args.tracker or _default_tracker()]
    others = [args.tracker] if args.tracker else list(_tracker_kinds())
    return ["iou", *(k for k in others if k != "iou")]


def _tracks(
    args: argparse.Namespace,
    run: DetectorRun,
    detector: Detector,
    result: dict[str, object],
    lines: list[str],
) -> int:
    """Add each tracker's track measures to *result* and *lines*; the exit status."""
    from edge.analysis.evaluate_node import eval_camera, run_as_node
    from edge.analysis.evaluate_tracks import (
        TrackMeasuresUnavailable,
        make_tracker,
        run_tracker,
        score_tracks,
    )
    from edge.config.detection import CameraDetectionConfig

    tracks: list[dict[str, object]] = []
    every = f", every {args.interval:g} s" if args.interval > 0 else ""
    if args.as_node:
        every = f", as a node: analysis {args.analysis_fps:g} fps"
    result["tracks"] = tracks
    for kind in _trackers(args):
        figures: dict[str, object] = {"fps": args.fps, "interval": args.interval}
        try:
            if args.as_node:
                node = run_as_node(
                    detector, args.gt, eval_camera(args.gt, kind, args.analysis_fps), args.fps
                )
                out = node.output
                figures = {
                    "fps": args.fps,
                    "analysis_fps": args.analysis_fps,
                    "analysed": node.analysed,
                    "detector_calls": node.detector_calls,
                }
            else:
                settings = CameraDetectionConfig.model_validate({"tracker": kind})
                tracker = make_tracker(settings)
                out = run_tracker(tracker, run, args.fps, settings, interval=args.interval)
            t = score_tracks(
                run.gt, out, out.frames, tracker=kind, min_height=args.min_height, iou=args.iou
            )
        except (TrackMeasuresUnavailable, ValueError) as e:  # ValueError: config refused
            print(f"eval: track measures skipped: {e}", file=sys.stderr)
            return EXIT_FAILED if args.tracker or args.compare else EXIT_OK
        tracks.append({**t.as_dict(), **figures})
        lines.append(
            f"  tracks ({kind}, {args.fps:g} fps{every}): IDF1 {t.idf1:.3f}  ID switches "
            f"{t.id_switches}  fragmentations {t.fragmentations}  MOTA {t.mota:.3f}\n"
            f"    events per true person {t.events_per_person:.2f} ({t.starts_on_people} "
            f"STARTs on {t.people_with_event} of {t.people} people; {t.starts_elsewhere} "
            f"on no one, {t.starts_ignored} ignored)"
            + (
                f"; detector on {figures['detector_calls']} of {figures['analysed']} frames"
                if args.as_node
                else ""
            )
        )
    return EXIT_OK
