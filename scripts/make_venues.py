#!/usr/bin/env python3
"""Writes the two venues the project ships under web/venues/: a hall of 502 seats and a stadium
of 49,400. Each row is a straight line of seats (a start point and a step), the format
docs/SEATING.md describes. The files are checked in; run this again only to change a layout,
and know that seat ids follow the file's order, so a changed layout changes what an id names.

    scripts/make_venues.py [--out web/venues]
"""

import argparse
import json
import os
import string

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hall():
    """A theatre: stalls of 16 rows of 22 seats facing the stage, a balcony of 6 rows of 25."""
    stage = {"x": 400, "y": 40}
    seat_step, row_step = 20, 24
    stalls = []
    for r in range(16):
        seats = 22
        stalls.append({
            "label": string.ascii_uppercase[r],
            "category": "premium" if r < 5 else "standard",
            "seats": seats,
            "x": stage["x"] - (seats - 1) * seat_step / 2,
            "y": 100 + r * row_step,
            "dx": seat_step,
            "dy": 0,
        })
    balcony = []
    balcony_y = 100 + 16 * row_step + 60
    for r in range(6):
        seats = 25
        balcony.append({
            "label": "B" + string.ascii_uppercase[r],
            "category": "balcony",
            "seats": seats,
            "x": stage["x"] - (seats - 1) * seat_step / 2,
            "y": balcony_y + r * row_step,
            "dx": seat_step,
            "dy": 0,
        })
    return {
        "id": "hall",
        "name": "The Small Hall",
        "stage": stage,
        "categories": [
            {"id": "premium", "name": "Front stalls", "price_cents": 9500},
            {"id": "standard", "name": "Stalls", "price_cents": 6500},
            {"id": "balcony", "name": "Balcony", "price_cents": 4500},
        ],
        "sections": [
            {"id": "stalls", "name": "Stalls", "rows": stalls},
            {"id": "balcony", "name": "Balcony", "rows": balcony},
        ],
    }


def stadium():
    """Four stands around a pitch with the stage in its middle, two tiers each; every section
    holds 38 rows of 25 seats. The long sides have 8 sections a tier, the ends 5."""
    seats, rows, seat_step, row_step, aisle = 25, 38, 5, 8, 10
    section_width = seats * seat_step + aisle
    half_length, half_width = 525, 340  # The pitch, in the map's units.
    tier_gap = 30
    sections = []
    stands = [("n", "North", 8), ("s", "South", 8), ("e", "East", 5), ("w", "West", 5)]
    for tier in ("lower", "upper"):
        tier_start = 20 if tier == "lower" else 20 + rows * row_step + tier_gap
        for key, name, count in stands:
            span = count * section_width
            for k in range(count):
                along = -span / 2 + k * section_width + aisle / 2
                section_rows = []
                for r in range(rows):
                    depth = tier_start + r * row_step
                    if key in "ns":
                        sign = -1 if key == "n" else 1
                        x, y, dx, dy = along, sign * (half_width + depth), seat_step, 0
                    else:
                        sign = 1 if key == "e" else -1
                        x, y, dx, dy = sign * (half_length + depth), along, 0, seat_step
                    if tier == "upper":
                        category = "upper"
                    else:
                        category = "lower" if key in "ns" else "ends"
                    section_rows.append({"label": str(r + 1), "category": category,
                                         "seats": seats, "x": x, "y": y, "dx": dx, "dy": dy})
                prefix = "u" if tier == "upper" else ""
                sections.append({"id": f"{prefix}{key}{k + 1}",
                                 "name": f"{name} {tier} {k + 1}", "rows": section_rows})
    return {
        "id": "stadium",
        "name": "The Stadium",
        "stage": {"x": 0, "y": 0},
        "categories": [
            {"id": "lower", "name": "Lower tier, sides", "price_cents": 12000},
            {"id": "ends", "name": "Lower tier, ends", "price_cents": 8500},
            {"id": "upper", "name": "Upper tier", "price_cents": 5500},
        ],
        "sections": sections,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "web", "venues"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for venue in (hall(), stadium()):
        path = os.path.join(args.out, venue["id"] + ".json")
        with open(path, "w", encoding="utf-8") as out:
            json.dump(venue, out, separators=(",", ":"))
            out.write("\n")
        total = sum(row["seats"] for section in venue["sections"] for row in section["rows"])
        print(f"{path}: {total} seats")


if __name__ == "__main__":
    main()
