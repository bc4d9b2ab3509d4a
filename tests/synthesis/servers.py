"""Local HTTP servers for failure injection and replaying recorded replies (loopback only)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def reply(self, status, payload, headers=()):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        server = self.server
        with server.lock:
            server.calls += 1
            server.bodies.append(body)
            server.headers.append(dict(self.headers))
            call = server.calls
        server.behave(self, call, body)


def ok_body(text, tokens_in=7, tokens_out=3):
    return {"id": "x", "object": "chat.completion", "model": "scripted",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out}}


class ScriptedServer(ThreadingHTTPServer):
    """A chat-completions server whose `behave(handler, call_number, body)` decides each reply."""

    daemon_threads = True

    def __init__(self, behave):
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.behave = behave
        self.calls = 0
        self.bodies, self.headers = [], []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def close(self):
        self.shutdown()
        self.server_close()


def always(status, text=b'{"error": "boom"}'):
    def behave(handler, call, body):
        handler.reply(status, text)
    return behave


def fail_first(n, status=500):
    def behave(handler, call, body):
        if call <= n:
            handler.reply(status, {"error": {"message": "overloaded"}}, headers=[("Retry-After", "0")])
        else:
            handler.reply(200, ok_body(f"Reply after {call} calls?"))
    return behave


def sleep_for(seconds):
    def behave(handler, call, body):
        time.sleep(seconds)
        try:
            handler.reply(200, ok_body("Late?"))
        except OSError:  # the client gave up and closed the socket
            pass
    return behave


def malformed():
    def behave(handler, call, body):
        handler.reply(200, b"<html>not json")
    return behave


def echo():
    def behave(handler, call, body):
        handler.reply(200, ok_body(f"Echo: {body['messages'][-1]['content'][:20]}?"))
    return behave


def replay(replies):
    """Answer each call with the next recorded reply (cycling); like vLLM, a continued reply omits the prefill."""
    def behave(handler, call, body):
        reply = replies[(call - 1) % len(replies)]
        if body.get("continue_final_message"):
            prefill = body["messages"][-1]["content"]
            reply = reply[len(prefill):] if reply.startswith(prefill) else reply
        handler.reply(200, ok_body(reply))
    return behave
