"""The server computes with one BLAS thread per call (app/main.py's lifespan, issue 17)."""

import json
import os
import subprocess
import sys

from conftest import REPO

# In a process of its own (the setting is process-wide), with OpenBLAS asked for two threads
# as on a 2-core machine: the lifespan brings the event loop's thread and a worker's to one.
SCRIPT = """
import json, threading
from fastapi.testclient import TestClient
from threadpoolctl import threadpool_info
from app.main import create_app

def threads():
    return sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})

seen = {"before": threads()}
with TestClient(create_app()) as client:
    client.get("/api/health")
    seen["loop"] = threads()
    worker = threading.Thread(target=lambda: seen.update(worker=threads()))
    worker.start()
    worker.join()
print(json.dumps(seen))
"""


def test_the_server_computes_with_one_blas_thread():
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen == {"before": [2], "loop": [1], "worker": [1]}
