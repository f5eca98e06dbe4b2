"""``edge model``: the technician's steps on the detector's model file (quantize, bench)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers

_QUANTIZE = """\
Write an INT8 copy of an ONNX detector (YOLOX, FastestDet, YOLOv8/11 exports) for the onnx
backend, calibrated on pictures this node saved: its snapshots (the clip store, searched
recursively) or any folder of JPEG/PNG frames of the camera's own view, day and night. The
weights are quantized per channel in QDQ format, activation ranges by percentile, and the
detection head stays float (each chosen by measurement, see docs/detector-int8.md). Then
point [detector] model at OUT and set model_sha256 to its `sha256sum`; check it first with
`edge model bench`.

exit status: 0 written; 1 the quantization failed; 2 a missing or unreadable model, an empty
calibration folder, or OUT exists already.
"""

_BENCH = """\
Run each ONNX model over the images of a MOT sequence with the same thread count and print
ms per detector call (process CPU, and wall) and box precision/recall (as `edge eval`, with
the node's default score 0.3 and NMS IoU 0.55). The first model is the reference. With
--input both, each model runs with the square input and then the rectangular one.
"""


def register(sub: SubParsers) -> None:
    """Add `edge model quantize` and `edge model bench`."""
    p = sub.add_parser("model", help="quantize and measure the detector's ONNX model")
    what = p.add_subparsers(dest="what", metavar="STEP", required=True)
    q = what.add_parser(
        "quantize",
        help="INT8 copy of an ONNX model, calibrated on the node's frames",
        description=_QUANTIZE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("--model", type=Path, required=True, metavar="IN.onnx", help="float model")
    q.add_argument(
        "--calibration",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder of JPEG/PNG frames from this camera (e.g. the node's snapshots)",
    )
    q.add_argument("--out", type=Path, required=True, metavar="OUT.onnx", help="model written")
    q.add_argument(
        "--imgsz",
        type=int,
        metavar="PX",
        help="write the model for this square input size (multiple of 32; default: the "
        "model's own): smaller is faster and misses small people sooner",
    )
    q.add_argument("--images", type=int, default=100, help="most calibration images used")
    q.add_argument(
        "--float-only",
        action="store_true",
        help="no quantization: only the --imgsz copy in float (to compare with bench)",
    )
    q.add_argument("--json", action="store_true", help="machine-readable result")
    q.set_defaults(handler=handle)
    b = what.add_parser(
        "bench",
        help="ms per call and precision/recall of ONNX models, side by side",
        description=_BENCH,
    )
    b.add_argument("models", type=Path, nargs="+", metavar="MODEL.onnx", help="models to compare")
    b.add_argument("--gt", type=Path, required=True, metavar="SEQ_DIR", help="MOT sequence")
    b.add_argument("--min-height", type=float, default=0.0, metavar="PX", help="as edge eval")
    b.add_argument("--threads", type=int, default=1, help="onnxruntime threads, every model")
    b.add_argument(
        "--score", type=float, default=0.3, help="lowest detector score kept (node default)"
    )
    b.add_argument("--passes", type=int, default=3, help="timed passes over the images")
    b.add_argument("--timing-images", type=int, default=20, help="images per timed pass")
    b.add_argument(
        "--input",
        choices=["square", "rect", "both"],
        default="square",
        help="detector input shape (detector.rect_input; rect: YOLOX only, a model that "
        "cannot take it stays square); both: each model square, then rect",
    )
    b.add_argument("--json", action="store_true", help="machine-readable figures")
    b.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the chosen step."""
    return handle_bench(args) if args.what == "bench" else handle_quantize(args)


def handle_quantize(args: argparse.Namespace) -> int:
    """Quantize --model into --out."""
    from edge.analysis.detect.quantize import QuantizeError, quantize_model

    try:
        r = quantize_model(
            args.model,
            args.calibration,
            args.out,
            imgsz=args.imgsz,
            limit=args.images,
            int8=not args.float_only,
        )
    except QuantizeError as e:
        print(f"model quantize: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # onnxruntime's quantizer raises what it likes
        print(f"model quantize: {args.model}: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED
    result = {
        "model": str(r.model),
        "out": str(r.out),
        "int8": not args.float_only,
        "size": r.size,
        "calibration_images": r.images,
        "skipped_images": r.skipped,
        "float_nodes": r.float_nodes,
        "seconds": round(r.seconds, 1),
    }
    if args.json:
        print(json.dumps(result))
    elif args.float_only:
        print(f"{r.out}: float copy of {r.model} at {r.size}x{r.size}")
    else:
        skipped = f", {r.skipped} unreadable skipped" if r.skipped else ""
        print(
            f"{r.out}: INT8 (QDQ, per-channel, percentile ranges) of {r.model} at "
            f"{r.size}x{r.size}, "
            f"calibrated on {r.images} images{skipped}; {r.float_nodes} head nodes kept "
            f"float; {r.seconds:.0f} s"
        )
    return EXIT_OK


def handle_bench(args: argparse.Namespace) -> int:
    """Print each model's ms per call and precision/recall."""
    from edge.analysis.detect.onnx import ModelError
    from edge.analysis.evaluate import SequenceError
    from edge.bench.detector import compare

    try:
        figures = compare(
            args.models,
            args.gt,
            threads=args.threads,
            score=args.score,
            min_height=args.min_height,
            passes=args.passes,
            timing_images=args.timing_images,
            inputs=("square", "rect") if args.input == "both" else (args.input,),
        )
    except (ModelError, SequenceError) as e:
        print(f"model bench: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps([f.as_dict() for f in figures]))
        return EXIT_OK
    base = figures[0]
    print(
        f"{args.gt}: {args.threads} thread(s), min height {args.min_height:g} px, "
        f"{base.calls} timed calls each"
    )
    for f in figures:
        faster = (1 - f.cpu_ms / base.cpu_ms) * 100 if base.cpu_ms > 0 else 0.0
        print(
            f"  {f.model} ({f.size}px {f.input}): {f.cpu_ms:.1f} ms CPU/call "
            f"({faster:.0f}% less than the first), "
            f"{f.wall_ms:.1f} ms wall; precision {f.precision:.3f} recall {f.recall:.3f} "
            f"(TP {f.tp}, FP {f.fp}, FN {f.fn})"
        )
    return EXIT_OK
