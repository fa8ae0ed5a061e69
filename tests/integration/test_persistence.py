"""Snapshots of the local stack's data: complete, atomic, and cheap when little changed."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import boto3

from infra.local.persistence import StateStore


def test_a_second_snapshot_links_unchanged_objects_and_rereads_changed_ones(stack, tmp_path):
    # GIVEN two objects in the archives bucket and a first snapshot
    s3 = boto3.client("s3", endpoint_url=stack.endpoint_url)
    bucket = stack.names["ArchivesBucket"]
    prefix = f"persistence-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/same.bin", Body=b"unchanged")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/changed.bin", Body=b"first version")
    store = StateStore(tmp_path, "us-east-1")

    def export() -> None:
        store.export(stack, stack.provisioned.tables, [bucket])

    export()
    folder = store.snapshot / "s3" / bucket
    same, changed = folder / quote(f"{prefix}/same.bin", safe=""), folder / quote(f"{prefix}/changed.bin", safe="")
    first_inodes = (same.stat().st_ino, changed.stat().st_ino)

    # WHEN one object changes and a second snapshot is taken
    s3.put_object(Bucket=bucket, Key=f"{prefix}/changed.bin", Body=b"second version")
    export()

    # THEN the unchanged object is the same file (linked, not downloaded again) and the changed
    # one holds its new bytes; the previous snapshot is gone (swapped atomically)
    assert same.stat().st_ino == first_inodes[0]
    assert same.read_bytes() == b"unchanged"
    assert changed.stat().st_ino != first_inodes[1]
    assert changed.read_bytes() == b"second version"
    assert not (tmp_path / "snapshot.old").exists() and not (tmp_path / "snapshot.new").exists()
