"""The seed's discovery in-process: times Registry.discover_services() of our
stdlib peer of lwgray/marcus src/core/service_registry.py
(test/fixtures/marcus_service_registry.py; psutil when it imports) over
$HOME/.marcus/services. Usage: python-discover.py PEER_PATH ITERATIONS EXPECTED
Prints one line per iteration: milliseconds."""
import importlib.util
import sys
import time

peer_path, iterations, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spec = importlib.util.spec_from_file_location("marcus_peer", peer_path)
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)
for _ in range(iterations):
    t0 = time.perf_counter()
    found = peer.Registry.discover_services()
    elapsed = (time.perf_counter() - t0) * 1000
    if len(found) != expected:
        sys.exit(f"discovered {len(found)}, expected {expected}")
    print(f"{elapsed:.4f}")
