"""Starting a phr-server process for the standalone client checks
(smart_client.py, bulk_client.py): standard library only, so each check's
own virtualenv can import it."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time


def clean_env():
    """The environment without PHR_* settings (the server starts from its defaults and flags)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PHR_")}


def start_server(binary, data_dir, extra_args=()):
    """Starts `phr-server serve` on a free loopback port; returns the process
    and its base URL once it logs that it is listening."""
    proc = subprocess.Popen(
        [binary, "--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir, *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"server exited with {proc.wait()} before listening")
        try:
            fields = json.loads(line).get("fields", {})
        except json.JSONDecodeError:
            continue
        if fields.get("message") == "listening":
            # Keep reading the log so the server never blocks on a full pipe.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, "http://" + fields["addr"]
    proc.kill()
    raise AssertionError("server did not listen within 60 s")
