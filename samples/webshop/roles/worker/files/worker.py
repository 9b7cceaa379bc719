#!/usr/bin/env python3
"""Webshop queue worker: takes jobs from Redis lists and runs them.

Jobs are JSON objects pushed by the API with LPUSH onto `webshop:queue:<name>`:
  {"type": "order.created", "order_id": 1042, "email": "a@example.com", "total_cents": 3700}
  {"type": "stock.sync", "sku": "MUG-001"}
An order is spooled to $WEBSHOP_DATA_DIR/orders/ for the nightly report and confirmed by mail
(when SMTP_HOST is set). A job that fails goes to `webshop:queue:dead`.

The worker starts and keeps running when the broker is down: it logs each failed attempt and
retries with exponential backoff (with jitter), capped at WORKER_MAX_BACKOFF seconds. SIGTERM
stops it within a couple of seconds. Only the standard library is used.

Settings: REDIS_URL (redis://[:password@]host[:port][/db]), WORKER_QUEUES (comma-separated,
or --queues), WORKER_MAX_BACKOFF, WEBSHOP_DATA_DIR, SMTP_HOST, SMTP_PORT, SMTP_USER,
SMTP_PASSWORD, MAIL_FROM, EMAIL_SUBJECT (may contain `{{ order_id }}`), LOG_LEVEL, APP_ENV.
"""

import argparse
import json
import logging
import os
import random
import signal
import smtplib
import socket
import sys
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

QUEUE_PREFIX = "webshop:queue:"
DEAD_LETTER = QUEUE_PREFIX + "dead"
POP_TIMEOUT = 2  # seconds BRPOP blocks; bounds how long SIGTERM waits

log = logging.getLogger("webshop.worker")
stopping = threading.Event()


class BrokerError(Exception):
    """The broker answered with an error, or the connection broke mid-reply."""


class Redis:
    """Just enough of the Redis protocol (RESP2) for a queue consumer."""

    def __init__(self, url, timeout=POP_TIMEOUT + 3):
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "") or not parts.hostname:
            raise ValueError("REDIS_URL must look like redis://[:password@]host[:port][/db]")
        self.host = parts.hostname
        self.port = parts.port or 6379
        self.password = unquote(parts.password) if parts.password else None
        self.db = int(parts.path.lstrip("/") or 0)
        self.timeout = timeout
        self.sock = None
        self.reader = None

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.reader = self.sock.makefile("rb")
        if self.password:
            self.command("AUTH", self.password)
        if self.db:
            self.command("SELECT", str(self.db))

    def close(self):
        for closable in (self.reader, self.sock):
            try:
                if closable is not None:
                    closable.close()
            except OSError:
                pass
        self.sock = self.reader = None

    def command(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _line(self):
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise BrokerError("connection closed by the broker")
        return line[:-2]

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise BrokerError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)
            if len(data) != size + 2:
                raise BrokerError("connection closed by the broker")
            return data[:-2]
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._reply() for _ in range(size)]
        raise BrokerError(f"unexpected reply from the broker: {line[:40]!r}")

    def pop(self, queues, timeout):
        """(queue, payload) of the next job, or None after `timeout` seconds."""
        reply = self.command("BRPOP", *[QUEUE_PREFIX + q for q in queues], str(timeout))
        if reply is None:
            return None
        return reply[0].decode(), reply[1]

    def push(self, queue, payload):
        self.command("LPUSH", queue, payload)


def spool_order(job):
    day_dir = os.path.join(os.environ.get("WEBSHOP_DATA_DIR", "/var/lib/webshop"), "orders")
    os.makedirs(day_dir, exist_ok=True)
    path = os.path.join(day_dir, f"{int(job['order_id'])}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(job, f, sort_keys=True)
    os.replace(path + ".tmp", path)


def send_confirmation(job):
    subject = os.environ.get("EMAIL_SUBJECT", "Your order {{ order_id }}")
    subject = subject.replace("{{ order_id }}", str(job["order_id"]))
    host = os.environ.get("SMTP_HOST", "")
    if not host:
        log.info("SMTP_HOST not set; not mailing order %s", job["order_id"])
        return
    message = EmailMessage()
    message["From"] = os.environ.get("MAIL_FROM", "shop@webshop.example.com")
    message["To"] = job["email"]
    message["Subject"] = subject
    message.set_content(f"Thank you! Order {job['order_id']} total: {job.get('total_cents', 0) / 100:.2f} EUR")
    with smtplib.SMTP(host, int(os.environ.get("SMTP_PORT", "587")), timeout=10) as smtp:
        smtp.starttls()
        if os.environ.get("SMTP_USER"):
            smtp.login(os.environ["SMTP_USER"], os.environ.get("SMTP_PASSWORD", ""))
        smtp.send_message(message)


def handle(queue, payload):
    job = json.loads(payload)
    kind = job.get("type")
    if kind == "order.created":
        spool_order(job)
        send_confirmation(job)
    elif kind == "stock.sync":
        log.info("stock sync requested for %s", job.get("sku", "?"))
    else:
        raise ValueError(f"unknown job type {kind!r}")
    log.info("done %s from %s", kind, queue)


def run(queues, url, max_backoff):
    broker = Redis(url)
    attempt = 0
    log.info("worker starting (env %s), queues %s, broker %s",
             os.environ.get("APP_ENV", "development"), ",".join(queues), broker.address)
    while not stopping.is_set():
        try:
            if broker.sock is None:
                broker.connect()
                log.info("connected to broker %s", broker.address)
                attempt = 0
            job = broker.pop(queues, POP_TIMEOUT)
            if job is None:
                continue
            queue, payload = job
            try:
                handle(queue, payload)
            except Exception as error:  # a bad job must not stop the worker
                log.error("job from %s failed (%s); moved to %s", queue, error, DEAD_LETTER)
                broker.push(DEAD_LETTER, payload)
        except (OSError, BrokerError) as error:
            broker.close()
            attempt += 1
            delay = min(max_backoff, 2 ** min(attempt - 1, 16)) * random.uniform(0.5, 1.0)
            log.warning("broker %s unavailable (%s); retry %d in %.1fs", broker.address, error, attempt, delay)
            stopping.wait(delay)
    broker.close()
    log.info("worker stopped")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Webshop queue worker")
    parser.add_argument("--queues", default=os.environ.get("WORKER_QUEUES", "orders,emails"))
    parser.add_argument("--check-config", action="store_true", help="validate the settings and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stdout,
    )
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        Redis(url)
        max_backoff = float(os.environ.get("WORKER_MAX_BACKOFF", "30"))
    except ValueError as error:
        log.error("bad configuration: %s", error)
        return 2
    if not queues:
        log.error("bad configuration: no queues")
        return 2
    if args.check_config:
        print("configuration complete")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    return run(queues, url, max_backoff)


if __name__ == "__main__":
    sys.exit(main())
