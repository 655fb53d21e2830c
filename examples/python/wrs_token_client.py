#!/usr/bin/env python3
"""A reference client for the wrs-tokend socket in JSON mode.

No third-party packages: a Unix socket and the json module are all an IDE
plugin or a script needs. See docs/protocol.md for the contract.

    python3 wrs_token_client.py [PROFILE]          # prints an access token
    python3 wrs_token_client.py --status           # prints the status report

As a library:

    from wrs_token_client import WrsTokenClient
    token = WrsTokenClient().get_token("plm", min_ttl_secs=60)["access_token"]
"""

import json
import os
import socket
import sys
import tempfile

PROTOCOL_VERSION = 2
MAX_LINE = 64 * 1024


class WrsTokenError(Exception):
    """An error answer from the daemon: `kind` is one of docs/protocol.md's error kinds."""

    def __init__(self, error):
        self.kind = error.get("kind")
        self.hint = error.get("hint")
        self.oauth_error = error.get("oauth_error")
        super().__init__(error.get("message", "unknown error"))


def default_socket_path():
    """Where the daemon listens, as docs/protocol.md describes (Linux)."""
    explicit = os.environ.get("WRS_TOKEN_SOCKET")
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "wrs-token", "agent.sock")
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(tmp, "wrs-token-%d" % os.getuid(), "agent.sock")


class WrsTokenClient:
    """One connection to the daemon; requests are answered in order."""

    def __init__(self, path=None, timeout=35.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path or default_socket_path())
        self.reader = self.sock.makefile("rb")

    def close(self):
        self.reader.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, name, fields=None):
        """Sends {"version":2,"request":{name:fields}} and returns the answer's body."""
        line = json.dumps({"version": PROTOCOL_VERSION, "request": {name: fields or {}}})
        self.sock.sendall(line.encode("utf-8") + b"\n")
        answer = self.reader.readline(MAX_LINE + 2)
        if not answer.endswith(b"\n"):
            raise WrsTokenError({"kind": "bad_request", "message": "the daemon closed the connection"})
        (kind, body), = json.loads(answer).items()
        if kind == "error":
            raise WrsTokenError(body)
        return kind, body

    def get_token(self, profile=None, min_ttl_secs=None):
        """A token: {profile, access_token, token_type, expires_at, lifetime_secs,
        min_ttl_secs, min_ttl_met, warning}. Without min_ttl_secs the profile's
        min_ttl or the daemon's default applies. A minimum longer than the
        server's tokens allow is not met: min_ttl_met is false and warning says
        why; the token is still the best there is."""
        fields = {"profile": profile}
        if min_ttl_secs is not None:
            fields["min_ttl_secs"] = min_ttl_secs
        kind, body = self.request("get_token", fields)
        assert kind == "token", kind
        return body

    def invalidate(self, profile=None, token=None):
        """Call after the server answered 401 with `token`; then ask again."""
        return self.request("invalidate", {"profile": profile, "token": token})[1]

    def status(self):
        return self.request("status")[1]


def main(argv):
    try:
        with WrsTokenClient() as client:
            if argv[1:2] == ["--status"]:
                print(json.dumps(client.status(), indent=2))
            else:
                profile = argv[1] if len(argv) > 1 else None
                print(client.get_token(profile)["access_token"])
        return 0
    except WrsTokenError as e:
        print("wrs-token: %s (%s)" % (e, e.kind), file=sys.stderr)
        if e.hint:
            print("hint: %s" % e.hint, file=sys.stderr)
        return 3 if e.kind == "login_required" else 1
    except OSError as e:
        print("wrs-token: daemon unreachable: %s (run `wrs-token daemon start`)" % e, file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv))
