"""Keeps the emulator's data across restarts of the local stack.

Tables and buckets are exported and re-imported through the public APIs (items as
DynamoDB-JSON lines, objects as files with a metadata sidecar). Cognito has no API that
reveals password hashes or lets a sub be chosen, so its user pools are pickled from
moto's backend: private state, kept to the one function pair below and covered by a
round-trip test. Executions and queued messages are transient and not kept.

A snapshot is written to a fresh folder and swapped in, so a crash mid-export leaves
the previous snapshot whole.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from infra.local.template import ACCOUNT_ID

log = logging.getLogger("lectern.local")


class StateStore:
    def __init__(self, directory: Path, region: str):
        self.directory = directory
        self.region = region

    @property
    def snapshot(self) -> Path:
        return self.directory / "snapshot"

    # ------------------------------------------------------------------ export
    def export(self, clients: Any, tables: list[str], buckets: list[str]) -> None:
        staging = self.directory / "snapshot.new"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "dynamodb").mkdir(parents=True)
        (staging / "s3").mkdir(parents=True)
        for table in tables:
            self._export_table(clients.client("dynamodb"), table, staging / "dynamodb" / f"{table}.jsonl")
        for bucket in buckets:
            self._export_bucket(clients.client("s3"), bucket, staging / "s3" / bucket, self.snapshot / "s3" / bucket)
        (staging / "cognito.pickle").write_bytes(_dump_cognito(self.region))
        previous = self.directory / "snapshot.old"
        shutil.rmtree(previous, ignore_errors=True)
        if self.snapshot.exists():
            self.snapshot.rename(previous)
        staging.rename(self.snapshot)
        shutil.rmtree(previous, ignore_errors=True)

    @staticmethod
    def _export_table(ddb: Any, table: str, path: Path) -> None:
        # A whole-table read is the point of an export (local tooling, never a request path).
        with path.open("w") as out:
            for page in ddb.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    out.write(json.dumps(item) + "\n")

    @staticmethod
    def _export_bucket(s3: Any, bucket: str, folder: Path, previous: Path) -> None:
        """Objects whose ETag is unchanged since the previous snapshot are hard-linked from it,
        so a periodic snapshot of a bucket full of video costs a listing, not a download."""
        folder.mkdir(parents=True)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                name = quote(entry["Key"], safe="")
                kept = previous / f"{name}.meta.json"
                if kept.is_file() and json.loads(kept.read_text()).get("etag") == entry["ETag"]:
                    os.link(previous / name, folder / name)
                    os.link(kept, folder / f"{name}.meta.json")
                    continue
                obj = s3.get_object(Bucket=bucket, Key=entry["Key"])
                (folder / name).write_bytes(obj["Body"].read())
                meta = {
                    "key": entry["Key"],
                    "etag": entry["ETag"],
                    "content_type": obj.get("ContentType"),
                    "metadata": obj.get("Metadata", {}),
                }
                (folder / f"{name}.meta.json").write_text(json.dumps(meta))

    # ------------------------------------------------------------------ restore
    def restore_identities(self) -> bool:
        """Before provisioning: the user pool, its clients and users keep their ids."""
        path = self.snapshot / "cognito.pickle"
        if not path.exists():
            return False
        _load_cognito(self.region, path.read_bytes())
        return True

    def restore_data(self, clients: Any, tables: list[str], buckets: list[str]) -> None:
        """After tables and buckets exist, before S3 notifications are enabled."""
        if not self.snapshot.exists():
            return
        ddb, s3 = clients.client("dynamodb"), clients.client("s3")
        for table in tables:
            path = self.snapshot / "dynamodb" / f"{table}.jsonl"
            if path.exists():
                items = [json.loads(line) for line in path.read_text().splitlines() if line]
                for start in range(0, len(items), 25):
                    requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                    ddb.batch_write_item(RequestItems={table: requests})
        for bucket in buckets:
            folder = self.snapshot / "s3" / bucket
            for meta_path in sorted(folder.glob("*.meta.json")) if folder.exists() else []:
                meta = json.loads(meta_path.read_text())
                body = (folder / meta_path.name[: -len(".meta.json")]).read_bytes()
                extra = {"ContentType": meta["content_type"]} if meta.get("content_type") else {}
                s3.put_object(Bucket=bucket, Key=meta["key"], Body=body, Metadata=meta.get("metadata") or {}, **extra)
        log.info("restored local data from %s", self.snapshot)


# ---------------------------------------------------------------------- Cognito (private moto state)
def _cognito_backend(region: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[ACCOUNT_ID][region]


class _Pickler(pickle.Pickler):
    # moto's signing key does not pickle; it is a fixed resource, re-read on load.
    def persistent_id(self, obj: Any) -> str | None:
        from joserfc import jwk

        return "moto-signing-key" if isinstance(obj, jwk.RSAKey) else None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        from joserfc import jwk
        from moto.utilities.utils import load_resource

        if pid != "moto-signing-key":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def _dump_cognito(region: str) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(_cognito_backend(region).user_pools)
    return buffer.getvalue()


def _load_cognito(region: str, data: bytes) -> None:
    _cognito_backend(region).user_pools.update(_Unpickler(io.BytesIO(data)).load())
