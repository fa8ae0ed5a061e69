"""`make run`: the whole platform on 127.0.0.1 with sample data; Ctrl-C stops it and saves the data."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

from infra.local.stack import ROOT, LocalStack, Ports


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("botocore", "pynamodb", "websockets", "werkzeug"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    data_dir = Path(os.environ.get("LECTERN_DATA_DIR", ROOT / ".data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(ports=Ports.from_env(), data_dir=data_dir).start()

    from infra.local.seed import ACCOUNTS, seed

    seed()
    stack.save()
    stack.write_env_file(data_dir / "local.env")
    _banner(stack, data_dir, ACCOUNTS)

    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    print("\nStopping; saving data to", data_dir, flush=True)  # noqa: T201 (a terminal program)
    stack.stop()


def _banner(stack: LocalStack, data_dir: Path, accounts) -> None:
    lines = [
        "",
        "Lectern is running locally.",
        f"  Upload a video  {stack.web_url}/upload.html",
        f"  API             {stack.api_url}",
        f"  API docs        {stack.api_url}/docs",
        f"  Health          {stack.api_url}/health",
        f"  WebSocket       {stack.ws_url}/?token=<access token>",
        f"  AWS emulator    {stack.endpoint_url}   (AWS_ENDPOINT_URL for the aws CLI / boto3)",
        f"  Data            {data_dir}",
        "",
        "Sample accounts (local only):",
        *[f"  {a.role:<8} {a.email:<24} {a.password}" for a in accounts],
        "",
        "Press Ctrl-C to stop (data is kept for the next `make run`).",
        "",
    ]
    print("\n".join(lines), flush=True)  # noqa: T201 (a terminal program)


if __name__ == "__main__":
    main()
