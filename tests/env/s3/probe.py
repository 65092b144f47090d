"""Exit 0 when every server listed in servers.json accepts TCP connections.

Only connects: an HTTP request would spend one of the auth server's unsigned actions."""
import json
import socket
import sys
from urllib.parse import urlsplit

with open(sys.argv[1]) as f:
    servers = json.load(f)
for url in (servers["http"], servers["https"], servers["auth"]["endpoint"]):
    u = urlsplit(url)
    socket.create_connection((u.hostname, u.port), timeout=2).close()
