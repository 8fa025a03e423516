"""A stand-in for 企业微信/钉钉 robot webhooks on 127.0.0.1: it keeps every request (path, query, JSON body, whether
it came through as a proxy request) and answers `{"errcode": 0}`, or the errors queued in `answers`."""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    query: dict[str, str]
    body: dict
    proxied: bool  # the request line held an absolute URL: the client sent it to us as its proxy
    host: str


@dataclass
class Robot:
    requests: list[Request] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)  # answered (and dropped) before the default errcode 0
    url: str = ""


def start() -> tuple[Robot, ThreadingHTTPServer]:
    robot = Robot()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            robot.requests.append(Request(url.path, query, json.loads(raw.decode("utf-8")),
                                          self.path.startswith("http://"), self.headers.get("Host", "")))
            answer = robot.answers.pop(0) if robot.answers else {"errcode": 0, "errmsg": "ok"}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    robot.url = f"http://127.0.0.1:{server.server_address[1]}"
    return robot, server
