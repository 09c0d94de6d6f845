"""The preference centre's handler served on localhost: each HTTP request becomes the API
Gateway HTTP API (payload 2.0) event the Lambda receives in AWS."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def http_api_event(
    method: str, target: str, headers: dict[str, str], body: bytes, at: datetime | None = None
) -> dict[str, Any]:
    """The request as API Gateway's HTTP API hands it to Lambda (payload 2.0), received `at` (now)."""
    url = urlsplit(target)
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "queryStringParameters": query or None,
        "requestContext": {
            "http": {"method": method, "path": url.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "local",
            "timeEpoch": int((at or datetime.now(UTC)).timestamp() * 1000),
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


def serve(handler: Handler, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Starts serving in a background thread; returns the server and its base URL."""

    class Adapter(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            event = http_api_event(self.command, self.path, dict(self.headers), self.rfile.read(length))
            response = handler(event)
            body = response.get("body") or ""
            payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
            self.send_response(response["statusCode"])
            for name, value in (response.get("headers") or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:  # tokens are in the URLs: log nothing
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Adapter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"
