"""``edge snapshot``: save one current frame of a camera, privacy masks applied or drawn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.cli.asservice import node_config
from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers


def register(sub: SubParsers) -> None:
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
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Grab a frame of --camera and write it to --output, or with the masks to --overlay."""
    import cv2

    from edge.capture.preview import SnapshotError, draw_overlay, grab
    from edge.capture.privacy import PrivacyError

    cfg = node_config(args.config)
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
