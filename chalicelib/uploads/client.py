"""The command-line uploader: `python -m chalicelib.cli upload FILE --purpose course_video`.

Computes the file's SHA-256, creates the upload, PUTs the parts in parallel straight to
S3 with a progress bar on stderr, and completes it. The upload id is remembered in a small
state file (default: ~/.cache/lectern/uploads/<hash of the file's path>.json) so that running
the same command again after an interruption resumes: GET /uploads/{id} says which parts S3
already holds and only the others are sent. A summary is printed as one JSON line on stdout.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chalicelib.adapters.lectern_api import ApiError, LecternApi

DEFAULT_API = "http://127.0.0.1:8000"
ATTEMPTS = 4  # per part; a part is small enough to resend whole


class UploadFailed(Exception):
    """Reported to the user as one line; the exit status is 1."""


@dataclass
class Options:
    path: Path
    purpose: str
    org_id: str | None = None
    api_url: str = DEFAULT_API
    jobs: int = 4
    state_file: Path | None = None
    content_type: str | None = None
    progress: bool = True


# ------------------------------------------------------------------ entry point


def run(options: Options, environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    try:
        summary = upload(options, connect(options.api_url, environ))
    except UploadFailed as exc:
        sys.stderr.write(f"\nupload failed: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted; run the same command again to resume.\n")
        return 130
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


def connect(api_url: str, environ: dict[str, str]) -> LecternApi:
    """An API client signed in from LECTERN_TOKEN, or LECTERN_EMAIL + LECTERN_PASSWORD."""
    api = LecternApi(api_url, environ.get("LECTERN_TOKEN") or None)
    if api.token:
        return api
    email, password = environ.get("LECTERN_EMAIL"), environ.get("LECTERN_PASSWORD")
    if not (email and password):
        raise UploadFailed("set LECTERN_TOKEN, or LECTERN_EMAIL and LECTERN_PASSWORD")
    try:
        api.login(email, password)
    except ApiError as exc:
        raise UploadFailed(f"could not sign in: {exc.message or exc.code}") from None
    return api


def upload(options: Options, api: LecternApi) -> dict[str, Any]:
    path = options.path
    if not path.is_file():
        raise UploadFailed(f"{path} is not a file")
    stat = path.stat()
    if stat.st_size == 0:
        raise UploadFailed(f"{path} is empty")
    state_file = options.state_file or default_state_file(path)
    state = _load_state(state_file)

    checksum = state.get("checksum_sha256") if _same_file(state, stat) else None
    if checksum is None:
        checksum = sha256_file(path, show=options.progress)

    current = _resumable(api, state, size=stat.st_size, checksum=checksum)
    resumed = current is not None
    if current is None:
        content_type = options.content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = {
            "filename": path.name,
            "size": stat.st_size,
            "content_type": content_type,
            "purpose": options.purpose,
            "checksum_sha256": checksum,
        }
        if options.org_id:
            body["org_id"] = options.org_id
        current = _api(api.create_upload, body)
        _save_state(
            state_file,
            {
                "upload_id": current["upload_id"],
                "api": api.base_url,
                "path": str(path.resolve()),
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "checksum_sha256": checksum,
            },
        )
    upload_id = current["upload_id"]

    if current.get("state") == "COMPLETED":
        _forget(state_file)
        return _summary(current, resumed=True, sent=[])

    sender = _Sender(api, path, upload_id, jobs=options.jobs, show=options.progress)
    if resumed:
        total_parts = current["part_count"]
        waiting = 1 if current.get("single_put_url") else len(current.get("missing", []))
        sys.stderr.write(f"resuming upload {upload_id}: {total_parts - waiting} of {total_parts} parts received\n")
    sent = sender.send(current, stat.st_size)
    try:
        result = api.complete_upload(upload_id)
    except ApiError as exc:
        if exc.code == "checksum_mismatch":
            _forget(state_file)
            raise UploadFailed(f"{exc.message} (the file changed while uploading?)") from None
        if exc.code == "upload_incomplete":
            # A part went missing between the GET and now: send what is missing, once more.
            sent += sender.send(_api(api.get_upload, upload_id), stat.st_size)
            result = _api(api.complete_upload, upload_id)
        else:
            raise UploadFailed(exc.message or exc.code) from None
    _forget(state_file)
    return _summary(result, resumed=resumed, sent=sent)


# ------------------------------------------------------------------ resume state


def default_state_file(path: Path) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return cache / "lectern" / "uploads" / f"{name}.json"


def _load_state(state_file: Path) -> dict[str, Any]:
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _save_state(state_file: Path, state: dict[str, Any]) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(state_file)


def _forget(state_file: Path) -> None:
    state_file.unlink(missing_ok=True)


def _same_file(state: dict[str, Any], stat: os.stat_result) -> bool:
    return state.get("size") == stat.st_size and state.get("mtime_ns") == stat.st_mtime_ns


def _resumable(api: LecternApi, state: dict[str, Any], *, size: int, checksum: str) -> dict | None:
    """The remembered upload, if it is still open (or done) and is this very file."""
    upload_id = state.get("upload_id")
    if not upload_id:
        return None
    try:
        current = api.get_upload(upload_id)
    except ApiError as exc:
        if exc.status in (400, 404):
            return None
        raise UploadFailed(exc.message or exc.code) from None
    if current["size"] != size or current["checksum_sha256"] != checksum:
        return None  # another file (or this one changed): start afresh
    return current if current["state"] in ("UPLOADING", "COMPLETED") else None


# ------------------------------------------------------------------ sending


class _Sender:
    def __init__(self, api: LecternApi, path: Path, upload_id: str, *, jobs: int, show: bool):
        self.api, self.path, self.upload_id = api, path, upload_id
        self.jobs = max(1, min(jobs, 8))
        self.show = show
        self._urls_lock = threading.Lock()
        self._urls: dict[int, str] = {}
        self._single_headers: dict[str, str] | None = None

    def send(self, current: dict, total: int) -> list[int]:
        """PUT what `current` (POST or GET /uploads answer) lists as missing; the numbers sent."""
        part_size = current["part_size"]
        if current.get("single_put_url"):
            todo = {1: (0, total)}
            self._urls = {1: current["single_put_url"]}
            self._single_headers = current.get("single_put_headers") or {}
        else:
            urls = {p["part_number"]: p["url"] for p in current.get("missing") or current.get("parts") or []}
            self._urls = urls
            todo = {n: ((n - 1) * part_size, min(part_size, total - (n - 1) * part_size)) for n in sorted(urls)}
        if not todo:
            return []
        already = total - sum(length for _, length in todo.values())
        progress = Progress(total, already, show=self.show)
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="part")
        try:
            futures = [
                pool.submit(self._send_part, n, offset, length, progress) for n, (offset, length) in todo.items()
            ]
            for future in as_completed(futures):
                future.result()
        except BaseException:
            # A failed part or Ctrl-C: start no more parts (S3 keeps the finished ones for a resume).
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            progress.finish()
        return sorted(todo)

    def _send_part(self, number: int, offset: int, length: int, progress: Progress) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            with self.path.open("rb") as f:
                reader = _PartReader(f, offset, length, progress)
                try:
                    self.api.put_presigned(self._urls[number], reader, self._single_headers)
                    return
                except ApiError as exc:
                    progress.add(-reader.sent)  # that attempt's bytes will be sent again
                    if attempt == ATTEMPTS:
                        raise UploadFailed(f"part {number}: {exc.message or exc.code}") from None
                    if exc.status == 403:  # the presigned URL expired: ask for fresh ones
                        self._refresh_urls()
                    time.sleep(2 ** (attempt - 1))

    def _refresh_urls(self) -> None:
        with self._urls_lock:
            current = _api(self.api.get_upload, self.upload_id)
            if current.get("single_put_url"):
                self._urls[1] = current["single_put_url"]
            for part in current.get("missing", []):
                self._urls[part["part_number"]] = part["url"]


class _PartReader:
    """A file slice that requests sends with a Content-Length, counting progress as it goes."""

    def __init__(self, f: IO[bytes], offset: int, length: int, progress: Progress):
        self._f, self._left, self._length, self._progress = f, length, length, progress
        self.sent = 0
        f.seek(offset)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._f.read(size)
        self._left -= len(data)
        self.sent += len(data)
        self._progress.add(len(data))
        return data


class Progress:
    """`\\r`-redrawn bar on stderr: bytes, percent, speed (this run) and ETA."""

    WIDTH = 28

    def __init__(self, total: int, already: int = 0, *, show: bool = True, label: str = "upload"):
        self.total, self.done, self.label, self.show = total, already, label, show
        self._start_done, self._started = already, time.monotonic()
        self._lock = threading.Lock()
        self._drawn = 0.0

    def add(self, n: int) -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            if self.show and now - self._drawn >= 0.2:
                self._drawn = now
                self._draw(now)

    def finish(self) -> None:
        if self.show:
            with self._lock:
                self._draw(time.monotonic())
                sys.stderr.write("\n")
                sys.stderr.flush()

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-6)
        speed = (self.done - self._start_done) / elapsed
        fraction = self.done / self.total if self.total else 1.0
        filled = int(self.WIDTH * fraction)
        eta = (self.total - self.done) / speed if speed > 0 else None
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:6.1%} "
            f"{_bytes(self.done)}/{_bytes(self.total)} {_bytes(speed)}/s ETA {_duration(eta)}  "
        )
        sys.stderr.flush()


def sha256_file(path: Path, *, show: bool = True, chunk: int = 1024 * 1024) -> str:
    """Base64 SHA-256 of the whole file (what POST /uploads expects), with its own bar."""
    digest = hashlib.sha256()
    progress = Progress(path.stat().st_size, show=show, label="sha256")
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
            progress.add(len(block))
    progress.finish()
    return base64.b64encode(digest.digest()).decode()


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _api(call, *args):
    try:
        return call(*args)
    except ApiError as exc:
        details = f" {json.dumps(exc.details)}" if exc.details else ""
        raise UploadFailed(f"{exc.message or exc.code}{details}") from None


def _summary(result: dict, *, resumed: bool, sent: list[int]) -> dict[str, Any]:
    return {
        "upload_id": result["upload_id"],
        "state": result["state"],
        "key": result["key"],
        "size": result["size"],
        "video_id": result.get("video_id"),
        "resumed": resumed,
        "parts_sent": sent,
    }
