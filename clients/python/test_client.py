"""The Python client against a real daemon: `INTERLUDE_SOCKET` names its socket (a fresh data
directory, no vault yet). Run by the Rust e2e test `python_client` (tests/tests/e2e/), or by hand:

    INTERLUDE_SOCKET=/path/to/interluded.sock python -m unittest test_client.py
"""

import os
import queue
import sys
import tempfile
import threading
import unittest

import grpc

import interlude_client as ic

SOCKET = os.environ["INTERLUDE_SOCKET"]
STUBS = tempfile.mkdtemp(prefix="interlude-stubs-")
ic.generate_stubs(STUBS)
sys.path.insert(0, STUBS)
from interlude.v1 import daemon_pb2, daemon_pb2_grpc  # noqa: E402


class PythonClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = ic.connect(SOCKET, STUBS)
        daemon = cls.client.daemon
        if daemon.Status(daemon_pb2.StatusRequest()).vault == daemon_pb2.VAULT_STATE_UNINITIALISED:
            daemon.Init(daemon_pb2.InitRequest(passphrase="a long enough passphrase", country="GB"))
        daemon.Unlock(daemon_pb2.UnlockRequest(passphrase="a long enough passphrase"))

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_grpcio_defaults_are_refused_and_the_documented_authority_works(self):
        # grpcio sends the socket path as :authority, which the daemon's HTTP/2 server resets.
        plain = grpc.insecure_channel(f"unix:{SOCKET}")
        with self.assertRaises(grpc.RpcError) as refused:
            daemon_pb2_grpc.DaemonStub(plain).Info(daemon_pb2.InfoRequest(), timeout=10)
        plain.close()
        self.assertIn(refused.exception.code(), (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE))
        self.assertIn("RST_STREAM", refused.exception.details())
        self.assertEqual(self.client.info().protocol_version, 1)

    def test_a_captured_reflection_is_listed_with_its_feeling_and_tags(self):
        added = self.client.capture("Walked to the lake before work", feeling=("calm", 40), tags=["walk"])
        self.assertTrue(added.id)
        self.assertFalse(added.HasField("safety"))
        listed = {r.id: r for r in self.client.list(limit=20)}
        self.assertIn(added.id, listed)
        reflection = listed[added.id]
        self.assertEqual(reflection.text, "Walked to the lake before work")
        self.assertEqual([(e.name, e.intensity) for e in reflection.emotions], [("calm", 40)])
        self.assertEqual(list(reflection.tags), ["walk"])

    def test_watching_sees_a_reflection_added_by_another_client(self):
        events = self.client.watch()
        seen = queue.Queue()

        def read():
            try:
                for event in events:
                    if event.WhichOneof("kind") == "reflection_added":
                        seen.put(event.reflection_added.id)
            except grpc.RpcError as stopped:
                if stopped.code() != grpc.StatusCode.CANCELLED:
                    seen.put(stopped)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        other = ic.connect(SOCKET, STUBS)
        # The watch may start after the first write: write until one is seen.
        written = set()
        try:
            for _ in range(50):
                written.add(other.capture("Tea with Sam, easier than I feared").id)
                try:
                    got = seen.get(timeout=0.2)
                except queue.Empty:
                    continue
                if isinstance(got, Exception):
                    raise got
                self.assertIn(got, written)
                break
            else:
                self.fail("no reflection_added event arrived")
        finally:
            events.cancel()
            other.close()

    def test_a_crisis_payload_comes_back_with_the_acknowledgement(self):
        added = self.client.capture("I have the pills counted out and tonight is the night")
        self.assertTrue(added.HasField("safety"))
        self.assertTrue(added.safety.lines)


if __name__ == "__main__":
    unittest.main()
