#!/usr/bin/env python3
"""Nightly sales report: sums yesterday's orders spooled by the worker into a CSV file.

Reads orders from $WEBSHOP_DATA_DIR/orders/*.json and writes $REPORT_DIR/sales-YYYY-MM-DD.csv,
then deletes reports older than $REPORT_KEEP_DAYS. Settings missing from the environment are
read from /etc/webshop/batch.env (cron starts jobs with an almost empty environment).
With --dry-run it only checks that it can read its inputs. Exits 0 when there is nothing to do.
"""

import csv
import datetime
import glob
import json
import os
import sys
import time

ENV_FILE = "/etc/webshop/batch.env"


def load_env_file(path):
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    name, value = line.split("=", 1)
                    os.environ.setdefault(name, value)
    except FileNotFoundError:
        pass


def log(message):
    print(f"{datetime.datetime.now().isoformat(timespec='seconds')} nightly_report: {message}", flush=True)


def main(argv):
    load_env_file(os.environ.get("BATCH_ENV_FILE", ENV_FILE))
    data_dir = os.environ.get("WEBSHOP_DATA_DIR", "/var/lib/webshop")
    report_dir = os.environ.get("REPORT_DIR", os.path.join(data_dir, "reports"))
    keep_days = int(os.environ.get("REPORT_KEEP_DAYS", "30"))
    day = datetime.date.today() - datetime.timedelta(days=1)

    orders = []
    for path in sorted(glob.glob(os.path.join(data_dir, "orders", "*.json"))):
        try:
            with open(path) as f:
                order = json.load(f)
        except (OSError, ValueError) as error:
            log(f"skipping unreadable order file {path}: {error}")
            continue
        if datetime.date.fromtimestamp(os.path.getmtime(path)) == day:
            orders.append(order)

    if "--dry-run" in argv:
        log(f"dry run: {len(orders)} orders for {day}, report dir {report_dir}")
        return 0

    os.makedirs(report_dir, exist_ok=True)
    out = os.path.join(report_dir, f"sales-{day}.csv")
    with open(out + ".tmp", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["order_id", "total_cents"])
        for order in orders:
            writer.writerow([order.get("order_id"), order.get("total_cents", 0)])
        writer.writerow(["total", sum(int(o.get("total_cents", 0)) for o in orders)])
    os.replace(out + ".tmp", out)
    log(f"wrote {out} ({len(orders)} orders)")

    cutoff = time.time() - keep_days * 86400
    for old in glob.glob(os.path.join(report_dir, "sales-*.csv")):
        if os.path.getmtime(old) < cutoff:
            os.remove(old)
            log(f"removed old report {old}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
