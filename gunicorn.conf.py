"""gunicorn's settings for the portal's web processes (the Procfile's ``web``, which
``python3 dev.py prod`` runs). gunicorn also reads this file by itself when started in this
folder. Options given on gunicorn's command line win over these.

    BIND               where to listen, e.g. 127.0.0.1:8000 or unix:/run/portal.sock; without it
                       0.0.0.0:$PORT when PORT is set (platforms that read Procfiles set it),
                       else 127.0.0.1:8000 (the TLS proxy on the same host)
    WEB_CONCURRENCY    worker processes (default: 2 per CPU + 1)
    GUNICORN_THREADS   threads per worker (default 1: sync workers; more: gthread workers)
    GUNICORN_TIMEOUT   seconds a request may take before its worker is restarted (default 30)

Each thread keeps its own database connection for CONN_MAX_AGE seconds: PostgreSQL sees up to
WEB_CONCURRENCY × GUNICORN_THREADS connections from each web host.
"""
import os


def _positive(name: str, default: int) -> int:
    value = int(os.environ.get(name) or default)
    if value < 1:
        raise ValueError(f"{name} must be 1 or more, not {value}.")
    return value


bind = [os.environ.get("BIND") or (f"0.0.0.0:{os.environ['PORT']}" if os.environ.get("PORT") else "127.0.0.1:8000")]
workers = _positive("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)
threads = _positive("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"

timeout = _positive("GUNICORN_TIMEOUT", 30)
# On SIGTERM, requests under way get this long to finish; less than the 20 s after which
# dev.py's supervisor kills what is left.
graceful_timeout = 15
keepalive = 5  # behind the proxy, which reuses its connections

# The access log and gunicorn's own log on standard output and error; the request's time in
# milliseconds ends each access line.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

# No control socket (gunicornc): dev.py's supervisor and process managers use signals, and its
# default path ($HOME/.gunicorn/gunicorn.ctl) would be shared by every gunicorn of the user.
control_socket_disable = True
