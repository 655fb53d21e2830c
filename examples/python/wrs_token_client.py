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
import stat
import struct
import sys

PROTOCOL_VERSION = 3
MAX_LINE = 64 * 1024


class WrsTokenError(Exception):
    """An error answer from the daemon: `kind` is one of docs/protocol.md's error kinds."""

    def __init__(self, error):
        self.kind = error.get("kind")
        self.hint = error.get("hint")
        self.oauth_error = error.get("oauth_error")
        super().__init__(error.get("message", "unknown error"))


class UntrustedSocketError(OSError):
    """The socket's directory or the process listening on it is not ours.
    Nothing was sent."""

    def __init__(self, path, problem):
        self.path = path
        super().__init__("refusing to use the daemon socket %s: %s; nothing was sent" % (path, problem))


def check_socket_directory(path):
    """Before connecting: the socket's directory must be a real directory
    owned by us and not writable by group or others, or else someone else
    could have put a listener there (under a shared /tmp anyone can create
    wrs-token-<uid>/ first). A missing directory means nobody listens."""
    directory = os.path.dirname(path) or "."
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UntrustedSocketError(path, "its directory %s is a symbolic link" % directory)
    if not stat.S_ISDIR(st.st_mode):
        raise UntrustedSocketError(path, "%s is not a directory" % directory)
    if st.st_uid != os.geteuid():
        raise UntrustedSocketError(
            path, "its directory %s belongs to uid %d, not to you (uid %d)" % (directory, st.st_uid, os.geteuid()))
    if st.st_mode & 0o022:
        raise UntrustedSocketError(
            path, "its directory %s has mode %04o: other users may create files in it"
            % (directory, stat.S_IMODE(st.st_mode)))


def peer_uid(sock):
    """The effective uid of the process listening at the other end, as the
    kernel recorded it (the listener cannot fake it)."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid
    if sys.platform == "darwin" or sys.platform.startswith("freebsd"):
        # getsockopt(SOL_LOCAL=0, LOCAL_PEERCRED=1): struct xucred
        # {u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]}
        # (what getpeereid(3) reads; not tried on this project's machines).
        size = struct.calcsize("IIh16I")
        version, uid = struct.unpack("IIh16I", sock.getsockopt(0, 1, size))[:2]
        if version == 0:  # XUCRED_VERSION
            return uid
    return None


def check_socket_peer(sock, path):
    """After connecting, before sending: the listener must run as our uid
    (root's daemon is not ours either)."""
    uid = peer_uid(sock)
    if uid is None:
        raise UntrustedSocketError(path, "cannot tell which user listens on it on this platform")
    if uid != os.geteuid():
        raise UntrustedSocketError(
            path, "the process listening on it runs as uid %d, not as you (uid %d)" % (uid, os.geteuid()))


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
        path = path or default_socket_path()
        # Trust runs both ways: check who answers before sending a byte
        # (docs/protocol.md, "Where the socket is").
        check_socket_directory(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
            check_socket_peer(self.sock, path)
        except BaseException:
            self.sock.close()
            raise
        self.reader = self.sock.makefile("rb")

    def close(self):
        self.reader.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, name, fields=None):
        """Sends {"version":3,"request":{name:fields}} and returns the answer's body."""
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
    except UntrustedSocketError as e:
        print("wrs-token: %s" % e, file=sys.stderr)
        print("hint: if it is not yours, have its owner or root remove it; or set XDG_RUNTIME_DIR "
              "to a directory only you can write, or WRS_TOKEN_SOCKET to a socket path in one",
              file=sys.stderr)
        return 4
    except OSError as e:
        print("wrs-token: daemon unreachable: %s (run `wrs-token daemon start`)" % e, file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv))
