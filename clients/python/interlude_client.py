"""A small Python client for Interlude's daemon: capture, list and watch, over the Unix socket.

The stubs are generated from the repository's protos by grpcio-tools (`generate_stubs`), so they
never drift from the daemon. Same-uid callers on the socket need no token (as the CLI); pass one
for anything else (`interlude token create`).

    import interlude_client as ic
    ic.generate_stubs("gen")                      # once, into a directory of your choice
    client = ic.connect("/run/user/1000/interlude/interluded.sock", stubs="gen")
    added = client.capture("The lake breath helped", feeling=("calm", 40), tags=["walk"])
    for r in client.list(limit=10):
        print(r.id, r.text)

Why `grpc.default_authority`: grpcio sends the socket's path as the HTTP/2 `:authority` of a
`unix:` target, which is not a valid authority, and the daemon's HTTP/2 server (hyper's h2)
resets every such stream (`StatusCode.INTERNAL` or `UNAVAILABLE`, "RST_STREAM ... PROTOCOL_ERROR").
grpc-go and tonic send `localhost`; `connect` does the same. See docs/API.md, "Where to connect".
"""

import importlib
import pathlib
import sys

import grpc

PROTOS = pathlib.Path(__file__).resolve().parents[2] / "proto" / "proto"
# What grpc-go and tonic send for a Unix socket; any valid host name would do.
AUTHORITY = "localhost"


def generate_stubs(out_dir, protos=PROTOS):
    """Writes the `interlude.v1` Python stubs for every proto into `out_dir`."""
    from grpc_tools import protoc
    import grpc_tools

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p) for p in (pathlib.Path(protos) / "interlude" / "v1").glob("*.proto"))
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{protos}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc could not generate the stubs from {protos}")


class Client:
    """One channel to the daemon and the stubs it uses."""

    def __init__(self, channel, token=None):
        self.channel = channel
        self._metadata = [("authorization", f"Bearer {token}")] if token else []
        pb = _module
        self.pb = {name: pb(name) for name in ("timeline", "checkins", "daemon")}
        self.timeline = pb("timeline", "_grpc").TimelineStub(channel)
        self.checkins = pb("checkins", "_grpc").CheckInsStub(channel)
        self.daemon = pb("daemon", "_grpc").DaemonStub(channel)

    def info(self):
        """The daemon's version and protocol number (no vault needed)."""
        return self.daemon.Info(self.pb["daemon"].InfoRequest(), metadata=self._metadata)

    def capture(self, text, feeling=None, tags=(), bring_to_session=False, private=False):
        """Adds a reflection; `feeling` is (word, intensity 0-100). Returns AddReflectionResponse:
        when `safety` is set, show it before anything else (the crisis check fired)."""
        t = self.pb["timeline"]
        request = t.AddReflectionRequest(
            text=text, tags=list(tags), bring_to_session=bring_to_session, private=private
        )
        if feeling:
            request.emotions.append(t.Emotion(name=feeling[0], intensity=feeling[1]))
        return self.timeline.AddReflection(request, metadata=self._metadata)

    def list(self, limit=50):
        """The newest reflections first, up to `limit`."""
        request = self.pb["timeline"].ListReflectionsRequest(limit=limit)
        return list(self.timeline.ListReflections(request, metadata=self._metadata).reflections)

    def watch(self):
        """The daemon's events (check-ins due, reflections added, vault state) as they happen; the
        returned iterator's `cancel()` stops it."""
        return self.checkins.Watch(self.pb["checkins"].WatchRequest(), metadata=self._metadata)

    def close(self):
        self.channel.close()


def connect(socket_path, stubs, token=None):
    """A client on the daemon's Unix socket; `stubs` is the directory `generate_stubs` wrote."""
    if str(stubs) not in sys.path:
        sys.path.insert(0, str(stubs))
    channel = grpc.insecure_channel(f"unix:{socket_path}", options=[("grpc.default_authority", AUTHORITY)])
    return Client(channel, token)


def _module(name, suffix=""):
    return importlib.import_module(f"interlude.v1.{name}_pb2{suffix}")


__all__ = ["AUTHORITY", "Client", "connect", "generate_stubs"]
