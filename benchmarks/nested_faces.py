"""A face found twice: how far the default detector's extra boxes lie inside a better one.

On large faces CenterFace can report a second box shifted by a third of the face (IoU with the
first about 0.3, so its NMS keeps both); ``protect`` then cloaked one face twice, the second
cloak on top of the first. :func:`facecloak.models.detect` now drops a box with
``NESTED_SHARE`` of its area inside a better-scored one. This script shows, for every pair of
overlapping boxes the raw detector gives on the shared photos, that share, and checks on dlib's
43 labelled faces that no real face is lost (recall at IoU 0.5, raw vs ``detect``).

    python benchmarks/nested_faces.py --lfw 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section
from facecloak.evaluate.detection import read_box_labels
from facecloak.geometry import box_iou, share_inside
from facecloak.images import load_image
from facecloak.models import detect, get_detector
from facecloak.models.detect import DEFAULT_DETECTOR, NESTED_SHARE


def overlapping_pairs(photo: Path, group: str) -> tuple[list[dict], list, list]:
    """Each overlapping pair of the raw detector's boxes, and the raw and kept boxes."""
    rgb = load_image(photo)
    raw = get_detector(DEFAULT_DETECTOR)(rgb)
    kept = [face.box for face in detect(rgb, landmarks=False)]
    pairs = []
    for i, a in enumerate(raw):
        for b in raw[i + 1 :]:
            weaker, better = (a, b) if a.score <= b.score else (b, a)
            share = share_inside(weaker.box, better.box)
            if share > 0.05:
                pairs.append(
                    {
                        "set": group,
                        "photo": photo.name,
                        "share": round(share, 2),
                        "iou": round(box_iou(a.box, b.box), 2),
                        "sides": [
                            round(weaker.box[2] - weaker.box[0]),
                            round(better.box[2] - better.box[0]),
                        ],
                        "scores": [round(weaker.score, 2), round(better.score, 2)],
                        "dropped": share >= NESTED_SHARE,
                    }
                )
    return pairs, [face.box for face in raw], kept


def labelled_recall(truth: dict[str, list], found: dict[str, dict[str, list]]) -> dict[str, float]:
    """Recall at IoU 0.5 of dlib's labelled faces: ``found[photo]["raw" | "detect"]`` boxes."""
    hits = {"raw": 0, "detect": 0}
    total = sum(len(boxes) for boxes in truth.values())
    for name, boxes in truth.items():
        for key in hits:
            predicted = found[name][key]
            hits[key] += sum(any(box_iou(t, p) >= 0.5 for p in predicted) for t in boxes)
    return {key: value / total for key, value in hits.items()} | {"faces": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=int, default=300, help="LFW photos (the first, sorted)")
    parser.add_argument("--publish", default="nested-faces", help="BENCHMARKS.md section")
    args = parser.parse_args()
    faces = require_shared_faces()
    groups = {
        "deepface": sorted((faces / "deepface").glob("*/*.jpg")),
        "dlib_faces": sorted((faces / "dlib_faces").glob("*.jpg")),
        "group_photos": sorted((faces / "group_photos").glob("*.jpg")),
        "lfw": sorted((faces / "lfw").glob("*/*.jpg"))[: args.lfw],
    }
    started = time.perf_counter()
    pairs, counts, boxes = [], {}, {}
    for group, photos in groups.items():
        raw = kept = 0
        for photo in photos:
            found, raw_boxes, kept_boxes = overlapping_pairs(photo, group)
            pairs += found
            raw, kept = raw + len(raw_boxes), kept + len(kept_boxes)
            if group == "dlib_faces":
                boxes[photo.name] = {"raw": raw_boxes, "detect": kept_boxes}
        counts[group] = {"photos": len(photos), "raw": raw, "kept": kept}
    recall = labelled_recall(read_box_labels(faces / "dlib_faces" / "boxes.csv"), boxes)
    seconds = time.perf_counter() - started
    save_json(args.publish, {"pairs": pairs, "counts": counts, "recall": recall})
    publish(args, pairs, counts, recall, seconds)


def publish(args, pairs: list[dict], counts: dict, recall: dict, seconds: float) -> None:
    rows = [
        [
            p["set"],
            p["photo"],
            p["share"],
            p["iou"],
            "x".join(map(str, p["sides"])),
            "/".join(map(str, p["scores"])),
            "dropped" if p["dropped"] else "kept",
        ]
        for p in sorted(pairs, key=lambda p: -p["share"])
    ]
    count_rows = [[g, c["photos"], c["raw"], c["kept"]] for g, c in counts.items()]
    text = (
        f"## A face found twice: `detect` keeps it once\n\n"
        f"`python benchmarks/nested_faces.py --lfw {args.lfw}` ({machine_line()}; "
        f"{seconds:.0f} s). The default detector ({DEFAULT_DETECTOR}) on the shared photos: every "
        f"pair of its boxes that overlap, with the share of the weaker box inside the better "
        f"one; `detect` drops the weaker at {NESTED_SHARE} or more.\n\n"
        + markdown_table(
            [
                "set",
                "photo",
                "share inside",
                "IoU",
                "box sides (weaker x better)",
                "scores",
                "detect",
            ],
            rows,
        )
        + "\n\n"
        + markdown_table(["set", "photos", "faces (raw detector)", "faces (detect)"], count_rows)
        + f"\n\ndlib's {recall['faces']} labelled faces, recall at IoU 0.5: raw detector "
        f"{recall['raw']:.3f}, `detect` {recall['detect']:.3f}.\n"
    )
    write_section(args.publish, text)


if __name__ == "__main__":
    main()
