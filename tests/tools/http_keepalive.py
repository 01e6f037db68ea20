# http_keepalive.py PORT - a tiny HTTP/1.1 keep-alive server for the loom-load tests:
# GET any path -> 200 with a 120-byte body; /missing -> 404.
# Prints "listening on 127.0.0.1:PORT" once it accepts (PORT 0 picks a free port).
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # head and body in one write: no Nagle/delayed-ACK stall

    def do_GET(self):
        body = b"hello world\n" * 10
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
