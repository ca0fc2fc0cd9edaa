#!/usr/bin/python3
"""A local HTTP listener that records every request, for the tests of
contrib/notify: one JSON object a line in LOG (method, path, headers with
their names in lower case, body as text), answered with STATUS and a small
JSON body. Prints "listening on 127.0.0.1:PORT" once it listens.

    listener.py LOG [STATUS]
"""
import http.server
import json
import sys


class Recorder(http.server.BaseHTTPRequestHandler):
    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        record = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        with open(self.server.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        answer = json.dumps({"id": 1} if self.server.status < 300 else {"message": "refused"})
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    do_GET = do_POST = do_PUT = handle_any

    def log_message(self, *args):
        pass


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    server.log = sys.argv[1]
    server.status = int(sys.argv[2]) if len(sys.argv) > 2 else 201
    print("listening on 127.0.0.1:%d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
