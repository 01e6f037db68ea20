#!/usr/bin/python3
"""ch09_http.py PORT METHOD PATH [BODY] [HEADER:VALUE...] - one request with
Python's http.client to 127.0.0.1:PORT (the chapter-9 tests). Prints
"STATUS n", one "HEADER name: value" per response field, "BODY <text>" and,
if the body is JSON, "JSON <it re-serialised with sorted keys>".

ch09_http.py PORT many N PATH - N GETs of PATH, each on a new connection;
prints "STATUS n" for each distinct status with its count."""
import collections
import http.client
import json
import sys


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection('127.0.0.1', int(port), timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def main():
    port, method = sys.argv[1], sys.argv[2]
    if method == 'many':
        n, path = int(sys.argv[3]), sys.argv[4]
        seen = collections.Counter(request(port, 'GET', path)[0].status for _ in range(n))
        for status, count in sorted(seen.items()):
            print(f'STATUS {status} x{count}')
        return
    path = sys.argv[3]
    body = sys.argv[4].encode() if len(sys.argv) > 4 and sys.argv[4] != '-' else None
    headers = dict(h.split(':', 1) for h in sys.argv[5:])
    if body is not None:
        headers.setdefault('Content-Type', 'application/json')
    resp, data = request(port, method, path, body, headers)
    print(f'STATUS {resp.status}')
    for name, value in resp.getheaders():
        print(f'HEADER {name}: {value}')
    text = data.decode()
    print(f'BODY {text}')
    try:
        print('JSON ' + json.dumps(json.loads(text), sort_keys=True))
    except ValueError:
        pass


if __name__ == '__main__':
    main()
