"""Webshop API: a small WSGI application served by gunicorn (`webshop_api:application`).

Settings come from the environment (the systemd unit's Environment= lines and
/etc/webshop/app.env): DATABASE_URL, REDIS_URL, SECRET_KEY, STRIPE_SECRET_KEY,
STRIPE_PUBLISHABLE_KEY, SENTRY_DSN, JWT_PRIVATE_KEY_FILE, APP_ENV, APP_VERSION, LOG_LEVEL,
FEATURE_* flags. Secret values are never logged nor returned; /healthz only says whether
each setting is present.

    python3 webshop_api.py --check-config   exit 1 when a required setting is missing
    python3 webshop_api.py --serve [PORT]   run with wsgiref, for local development
"""

import json
import logging
import os
import socket
import sys
import time
from urllib.parse import parse_qs, urlsplit

REQUIRED_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
OPTIONAL_SETTINGS = ("STRIPE_SECRET_KEY", "SENTRY_DSN", "JWT_PRIVATE_KEY_FILE")

PRODUCTS = [
    {"id": 1, "sku": "MUG-001", "name": "Enamel mug", "price_cents": 1200},
    {"id": 2, "sku": "TEE-042", "name": "Organic T-shirt", "price_cents": 2500},
    {"id": 3, "sku": "BAG-007", "name": "Canvas tote bag", "price_cents": 1800},
]

STARTED = time.time()
log = logging.getLogger("webshop.api")
logging.basicConfig(
    level=os.environ.get("LOG_LEVEL", "info").upper(),
    format="%(asctime)s %(levelname)s %(name)s %(message)s",
)


def release():
    """The deployed version: APP_VERSION, else the RELEASE file Ansible writes, else `dev`."""
    if os.environ.get("APP_VERSION"):
        return os.environ["APP_VERSION"]
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "RELEASE")) as f:
            return f.read().strip() or "dev"
    except OSError:
        return "dev"


def flag(name):
    return os.environ.get(name, "false").strip().lower() in ("1", "true", "yes", "on")


def endpoint(url):
    """(host, port) of a URL, without its credentials."""
    parts = urlsplit(url)
    default_port = {"postgresql": 5432, "postgres": 5432, "redis": 6379}.get(parts.scheme, 0)
    return parts.hostname or "", parts.port or default_port


def reachable(url, timeout=1.0):
    host, port = endpoint(url)
    if not host or not port:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def healthz(query):
    settings = {name: bool(os.environ.get(name)) for name in REQUIRED_SETTINGS + OPTIONAL_SETTINGS}
    body = {
        "status": "ok",
        "env": os.environ.get("APP_ENV", "development"),
        "version": release(),
        "uptime_seconds": int(time.time() - STARTED),
        "settings": settings,
        "database_host": endpoint(os.environ.get("DATABASE_URL", ""))[0],
    }
    # ?deep=1 also opens a TCP connection to the database and Redis; the plain check never
    # depends on them so a load balancer keeps the instance while a backend is down.
    if query.get("deep") == ["1"]:
        body["database_reachable"] = reachable(os.environ.get("DATABASE_URL", ""))
        body["redis_reachable"] = reachable(os.environ.get("REDIS_URL", ""))
    return "200 OK", body


def products(query):
    items = PRODUCTS
    if flag("FEATURE_RECOMMENDATIONS"):
        items = [dict(p, recommended=p["id"] == 2) for p in items]
    return "200 OK", {"items": items, "count": len(items)}


def product(product_id):
    for p in PRODUCTS:
        if str(p["id"]) == product_id:
            return "200 OK", p
    return "404 Not Found", {"error": "no such product"}


def config(query):
    return "200 OK", {
        "new_checkout": flag("FEATURE_NEW_CHECKOUT"),
        "stripe_publishable_key": os.environ.get("STRIPE_PUBLISHABLE_KEY", ""),
    }


def route(method, path, query):
    if method not in ("GET", "HEAD"):
        return "405 Method Not Allowed", {"error": "method not allowed"}
    if path == "/healthz":
        return healthz(query)
    if path == "/api/products":
        return products(query)
    if path.startswith("/api/products/"):
        return product(path[len("/api/products/"):])
    if path == "/api/config":
        return config(query)
    return "404 Not Found", {"error": "not found"}


def application(environ, start_response):
    started = time.monotonic()
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/") or "/"
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        status, body = route(method, path, query)
    except Exception:  # one bad request must not take the worker down
        log.exception("error handling %s %s", method, path)
        status, body = "500 Internal Server Error", {"error": "internal error"}
    payload = json.dumps(body, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    log.debug("%s %s %s %.1fms", method, path, status.split()[0], (time.monotonic() - started) * 1000)
    return [b"" if method == "HEAD" else payload]


def check_config():
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    for name in missing:
        print(f"missing setting: {name}", file=sys.stderr)
    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(name) and not endpoint(os.environ[name])[0]:
            print(f"{name} has no host", file=sys.stderr)
            missing.append(name)
    if not missing:
        print("configuration complete")
    return 1 if missing else 0


def main(argv):
    if argv[1:2] == ["--check-config"]:
        return check_config()
    if argv[1:2] == ["--serve"]:
        from wsgiref.simple_server import make_server

        port = int(argv[2]) if len(argv) > 2 else int(os.environ.get("PORT", "8000"))
        log.info("serving on 127.0.0.1:%d", port)
        make_server("127.0.0.1", port, application).serve_forever()
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
