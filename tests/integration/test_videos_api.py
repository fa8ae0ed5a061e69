"""GET /videos/{id}, signed playback (/play and /hls/{name}) and reprocessing.

The pipeline is not run here: videos are written as the pipeline leaves them (a Video item
through the model layer, media objects through boto3), with a tiny real HLS rendition
made by ffmpeg, so that playback is tested against real playlists and segments.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from chalicelib.cli import main
from chalicelib.core.config import get_settings
from chalicelib.uploads.models import Upload
from chalicelib.video import layout
from chalicelib.video.models import Failure, Video
from chalicelib.video.service import signed_file_url

ROOT = Path(__file__).resolve().parents[2]
FFMPEG = ROOT / "layers" / "ffmpeg" / "build" / "bin" / "ffmpeg"
SPRITE = b"\xff\xd8\xff\xe0sprite-bytes"
POSTER = b"\xff\xd8\xff\xe0poster-bytes"


# ------------------------------------------------------------------ media made once


@dataclass
class Rendition:
    files: dict[str, bytes]  # name under the rung's folder -> bytes (index.m3u8, seg_*.ts)
    mp4: bytes


@pytest.fixture(scope="module")
def rendition(tmp_path_factory) -> Rendition:
    """A 4 s, 320x180 clip with audio, as HLS (2 s segments) and as a faststart MP4."""
    out = tmp_path_factory.mktemp("hls")
    source = ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=10:duration=4"]
    source += ["-f", "lavfi", "-i", "sine=frequency=440:duration=4"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-c:a", "aac", "-shortest"]
    hls = ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    hls += ["-hls_segment_filename", str(out / "seg_%05d.ts"), str(out / "index.m3u8")]
    subprocess.run([str(FFMPEG), "-v", "error", *source, *codecs, *hls], check=True, timeout=120)
    mp4 = out / "out.mp4"
    subprocess.run(
        [str(FFMPEG), "-v", "error", *source, *codecs, "-movflags", "+faststart", str(mp4)], check=True, timeout=120
    )
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".m3u8", ".ts")}
    assert sum(name.endswith(".ts") for name in files) >= 2
    return Rendition(files=files, mp4=mp4.read_bytes())


def master_playlist(rungs: list[str]) -> str:
    sizes = {"360p": (640, 360, 800_000), "720p": (1280, 720, 2_500_000)}
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in rungs:
        width, height, bandwidth = sizes[rung]
        lines.append(
            f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},CODECS="avc1.42c01e,mp4a.40.2"'
        )
        lines.append(f"{rung}/index.m3u8")
    return "\n".join(lines) + "\n"


STORYBOARD_VTT = (
    "WEBVTT\n\n"
    "00:00.000 --> 00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n\n"
    "00:02.000 --> 00:04.000\nstoryboard.jpg#xywh=160,0,160,90\n"
)


@dataclass
class World:
    owner: object
    member: object
    stranger: object
    admin: object
    org_id: str


@pytest.fixture(scope="module")
def world(api, stack) -> World:
    from tests.fixtures.accounts import Accounts

    accounts = Accounts(api)
    owner, member, stranger = accounts.create("tutor"), accounts.create(), accounts.create()
    admin = accounts.create("admin")
    org_id = api.post("/orgs", json={"name": "Video org"}, headers=owner.headers).json()["org_id"]
    accounts.join(org_id, member, by=owner)
    return World(owner, member, stranger, admin, org_id)


@pytest.fixture(scope="module")
def media(stack, rendition):
    """Writes a video as the pipeline leaves it: the item and, when published, its objects."""

    s3 = boto3.client("s3", endpoint_url=stack.endpoint_url)
    bucket = stack.names["MediaBucket"]

    def make(owner_id: str, *, status: str, org_id: str | None = None, published: tuple[str, ...] = ()) -> Video:
        video_id = str(uuid.uuid4())
        prefix = layout.media_prefix(video_id, 1)
        rungs = {
            "PROCESSING": {"360p": "ENCODING", "720p": "PENDING"},
            "PLAYABLE": {"360p": "PACKAGED", "720p": "ENCODING"},
            "READY": {"360p": "PACKAGED", "720p": "PACKAGED"},
        }.get(status, {"360p": "PENDING", "720p": "PENDING"})
        video = Video(
            video_id,
            owner_id=owner_id,
            org_id=org_id,
            title="Clip",
            status=status,
            attempt=1,
            progress={"PROCESSING": 40, "PLAYABLE": 70, "READY": 100}.get(status, 0),
            rungs=rungs,
            probe={"duration": 4.0, "width": 1280, "height": 720, "rotation": 0, "fps": 10, "has_audio": True},
            playable_rungs=dict.fromkeys(published, True),
            assets_prefix=prefix if published else None,
            renditions=(
                {r: {"width": 640, "height": 360, "bitrate": 800_000, "bytes": len(rendition.mp4)} for r in published}
                if status == "READY"
                else None
            ),
        )
        if status == "FAILED":
            video.failure = Failure(step="Probe", reason="The file is not a video.", error="MediaRejected")
        video.save()
        for rung in published:
            for name, data in rendition.files.items():
                s3.put_object(Bucket=bucket, Key=f"{prefix}/{rung}/{name}", Body=data)
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{rung}.mp4", Body=rendition.mp4)
        if published:
            s3.put_object(Bucket=bucket, Key=f"{prefix}/master.m3u8", Body=master_playlist(list(published)).encode())
            s3.put_object(Bucket=bucket, Key=f"{prefix}/poster.jpg", Body=POSTER)
            s3.put_object(Bucket=bucket, Key=f"{prefix}/storyboard.jpg", Body=SPRITE)
            s3.put_object(Bucket=bucket, Key=f"{prefix}/storyboard.vtt", Body=STORYBOARD_VTT.encode())
        return video

    return make


def uri_lines(playlist: str) -> list[str]:
    """Every URI a playlist holds: URI lines and URI="..." attributes of tags."""
    uris = []
    for line in playlist.splitlines():
        if line.startswith("#"):
            uris += re.findall(r'URI="([^"]*)"', line)
        elif line.strip():
            uris.append(line.strip())
    return uris


def is_presigned_s3(url: str, stack) -> bool:
    query = parse_qs(urlsplit(url).query)
    return url.startswith(stack.endpoint_url + "/") and "X-Amz-Signature" in query


def is_signed_playlist(url: str, stack, video_id: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return url.startswith(f"{stack.api_url}/videos/{video_id}/hls/") and {"expires", "signature"} <= set(query)


# ------------------------------------------------------------------ status


def test_status_is_visible_to_owner_org_members_and_admins_only(api, world, media):
    # GIVEN a ready video of the owner, in the owner's organization
    video = media(world.owner.user_id, status="READY", org_id=world.org_id, published=("360p", "720p"))

    # WHEN each kind of caller asks for it
    answers = {
        who: api.get(f"/videos/{video.video_id}", headers=account.headers)
        for who, account in (
            ("owner", world.owner),
            ("member", world.member),
            ("admin", world.admin),
            ("stranger", world.stranger),
        )
    }
    anonymous = api.get(f"/videos/{video.video_id}")

    # THEN the owner, the org member and the admin see it; a stranger gets the 404 of a missing video
    for who in ("owner", "member", "admin"):
        assert answers[who].status_code == 200, (who, answers[who].text)
    assert answers["stranger"].status_code == 404
    assert answers["stranger"].json()["error"]["code"] == "video_not_found"
    missing = api.get(f"/videos/{uuid.uuid4()}", headers=world.owner.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == answers["stranger"].json()["error"]["message"]
    assert anonymous.status_code == 401

    body = answers["owner"].json()
    assert body["status"] == "READY" and body["progress"] == 100
    assert body["rungs"] == {"360p": "PACKAGED", "720p": "PACKAGED"}
    assert body["playable_qualities"] == ["360p", "720p"]
    assert (body["duration"], body["width"], body["height"], body["has_audio"]) == (4.0, 1280, 720, True)
    assert [r["quality"] for r in body["renditions"]] == ["360p", "720p"]
    assert all(r["bytes"] > 0 for r in body["renditions"])
    assert body["failure"] is None
    assert body["poster_available"] and body["storyboard_available"]


def test_a_video_without_org_is_private_to_its_owner(api, world, media):
    # GIVEN a video outside any organization
    video = media(world.owner.user_id, status="PROCESSING")

    # WHEN an org member of the owner asks for it, THEN it does not exist for them
    assert api.get(f"/videos/{video.video_id}", headers=world.member.headers).status_code == 404
    assert api.get(f"/videos/{video.video_id}", headers=world.owner.headers).status_code == 200


def test_processing_video_shows_progress_and_cannot_be_played(api, world, media):
    # GIVEN a video halfway through processing
    video = media(world.owner.user_id, status="PROCESSING")

    # WHEN its status and playback are asked for
    status = api.get(f"/videos/{video.video_id}", headers=world.owner.headers).json()
    play = api.get(f"/videos/{video.video_id}/play", headers=world.owner.headers)

    # THEN the status shows progress per rung, and playback is refused with a clear code
    assert status["status"] == "PROCESSING" and status["progress"] == 40
    assert status["rungs"] == {"360p": "ENCODING", "720p": "PENDING"}
    assert not status["poster_available"]
    assert play.status_code == 409
    assert play.json()["error"]["code"] == "video_not_playable"
    assert play.json()["error"]["details"]["status"] == "PROCESSING"


def test_failed_video_names_the_step_and_reason(api, world, media):
    video = media(world.owner.user_id, status="FAILED")

    body = api.get(f"/videos/{video.video_id}", headers=world.owner.headers).json()
    play = api.get(f"/videos/{video.video_id}/play", headers=world.owner.headers)

    assert body["status"] == "FAILED"
    assert body["failure"] == {"step": "Probe", "reason": "The file is not a video.", "error": "MediaRejected"}
    assert play.status_code == 409 and play.json()["error"]["code"] == "video_not_playable"


# ------------------------------------------------------------------ playback


def test_play_answers_signed_absolute_urls_that_cover_every_fetch(api, stack, world, media, rendition):
    # GIVEN a ready video with two rungs, seen by an org member
    video = media(world.owner.user_id, status="READY", org_id=world.org_id, published=("360p", "720p"))

    # WHEN the member asks to play it
    response = api.get(f"/videos/{video.video_id}/play", headers=world.member.headers)

    # THEN every quality is offered, with URLs that expire
    assert response.status_code == 200, response.text
    play = response.json()
    assert play["qualities"] == ["auto", "360p", "720p", "mp4", "mp4-360p", "mp4-720p"]
    assert [(v["quality"], v["width"], v["height"], v["bandwidth"]) for v in play["variants"]] == [
        ("360p", 640, 360, 800_000),
        ("720p", 1280, 720, 2_500_000),
    ]
    assert is_signed_playlist(play["master_url"], stack, video.video_id)
    expires = int(parse_qs(urlsplit(play["master_url"]).query)["expires"][0])
    assert expires > time.time()

    # AND the master playlist is served without a token, every URI in it signed and absolute
    master = requests.get(play["master_url"], timeout=10)
    assert master.status_code == 200, master.text
    assert master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    max_age = int(re.fullmatch(r"private, max-age=(\d+)", master.headers["Cache-Control"]).group(1))
    assert 0 < max_age < expires - time.time()
    variants = uri_lines(master.text)
    assert len(variants) == 2
    assert all(is_signed_playlist(uri, stack, video.video_id) for uri in variants)
    assert all(parse_qs(urlsplit(uri).query)["expires"] == [str(expires)] for uri in variants)

    # AND each variant playlist's segments are presigned S3 GETs that return the segment's bytes
    for uri in variants:
        variant = requests.get(uri, timeout=10)
        assert variant.status_code == 200, variant.text
        segments = uri_lines(variant.text)
        assert len(segments) >= 2
        assert all(is_presigned_s3(segment, stack) for segment in segments)
    fetched = requests.get(segments[0], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == rendition.files["seg_00000.ts"]

    # AND the MP4s, poster and storyboard are fetchable with their signed URLs
    assert [m["quality"] for m in play["mp4"]] == ["360p", "720p"]
    assert requests.get(play["mp4"][0]["url"], timeout=10).content == rendition.mp4
    assert play["mp4"][0]["bytes"] == len(rendition.mp4)
    assert requests.get(play["poster_url"], timeout=10).content == POSTER
    track = requests.get(play["storyboard"]["vtt_url"], timeout=10)
    assert track.status_code == 200 and track.headers["Content-Type"].startswith("text/vtt")
    cues = [line for line in track.text.splitlines() if "#xywh=" in line]
    assert len(cues) == 2 and all(is_presigned_s3(cue.split("#")[0], stack) for cue in cues)
    assert requests.get(cues[0].split("#")[0], timeout=10).content == SPRITE
    assert requests.get(play["storyboard"]["sprite_url"], timeout=10).content == SPRITE


def test_a_chosen_quality_narrows_the_answer(api, stack, world, media):
    video = media(world.owner.user_id, status="READY", published=("360p", "720p"))
    url = f"/videos/{video.video_id}/play"

    # WHEN one rung is chosen, THEN its own playlist is the one to play
    rung = api.get(url, params={"quality": "720p"}, headers=world.owner.headers).json()
    assert "/hls/720p.m3u8?" in rung["master_url"]
    assert [v["quality"] for v in rung["variants"]] == ["720p"] and [m["quality"] for m in rung["mp4"]] == ["720p"]
    playlist = requests.get(rung["master_url"], timeout=10)
    assert playlist.status_code == 200 and all(is_presigned_s3(u, stack) for u in uri_lines(playlist.text))

    # WHEN the MP4s are chosen, THEN there is no playlist, only MP4s
    mp4 = api.get(url, params={"quality": "mp4"}, headers=world.owner.headers).json()
    assert mp4["master_url"] is None and mp4["variants"] == [] and len(mp4["mp4"]) == 2

    # WHEN a quality the video lacks, or one that does not exist, is asked for
    missing = api.get(url, params={"quality": "1080p"}, headers=world.owner.headers)
    unknown = api.get(url, params={"quality": "4k"}, headers=world.owner.headers)

    # THEN 404 names what is available; 400 names the query field
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "quality_not_available"
    assert missing.json()["error"]["details"]["available"] == ["360p", "720p"]
    assert unknown.status_code == 400
    assert "query.quality" in {d["field"] for d in unknown.json()["error"]["details"]}


def test_a_playable_video_offers_only_what_is_published(api, world, media):
    # GIVEN a video whose lowest rung is published while the rest still encodes
    video = media(world.owner.user_id, status="PLAYABLE", published=("360p",))

    play = api.get(f"/videos/{video.video_id}/play", headers=world.owner.headers)
    higher = api.get(f"/videos/{video.video_id}/play?quality=720p", headers=world.owner.headers)

    assert play.status_code == 200, play.text
    assert play.json()["qualities"] == ["auto", "360p", "mp4", "mp4-360p"]
    assert higher.status_code == 404
    master = requests.get(play.json()["master_url"], timeout=10)
    assert master.status_code == 200 and len(uri_lines(master.text)) == 1


def test_play_is_hidden_from_strangers(api, world, media):
    video = media(world.owner.user_id, status="READY", published=("360p",))
    assert api.get(f"/videos/{video.video_id}/play", headers=world.stranger.headers).status_code == 404


def test_playlists_refuse_bad_signatures(api, stack, world, media):
    # GIVEN two playable videos and a signed master URL of the first
    first = media(world.owner.user_id, status="READY", published=("360p",))
    second = media(world.owner.user_id, status="READY", published=("360p",))
    master_url = api.get(f"/videos/{first.video_id}/play", headers=world.owner.headers).json()["master_url"]
    parts = urlsplit(master_url)
    query = parse_qs(parts.query)
    signature, expires = query["signature"][0], query["expires"][0]
    base = f"{stack.api_url}/videos"

    attempts = {
        "tampered": f"{base}/{first.video_id}/hls/master.m3u8?expires={expires}&signature={'0' * 64}",
        "other name": f"{base}/{first.video_id}/hls/360p.m3u8?expires={expires}&signature={signature}",
        "later expiry": f"{base}/{first.video_id}/hls/master.m3u8?expires={int(expires) + 60}&signature={signature}",
        "other video": f"{base}/{second.video_id}/hls/master.m3u8?expires={expires}&signature={signature}",
        "unsigned": f"{base}/{first.video_id}/hls/master.m3u8",
        "expired": signed_file_url(base.removesuffix("/videos"), first.video_id, "master.m3u8", int(time.time()) - 5),
    }

    # WHEN each is fetched
    answers = {name: requests.get(url, timeout=10) for name, url in attempts.items()}

    # THEN every one is a JSON 403, and the genuine URL still works
    for name, response in answers.items():
        assert response.status_code == 403, (name, response.text)
        assert response.json()["error"]["code"] in ("invalid_signature", "signature_expired"), name
    assert answers["expired"].json()["error"]["code"] == "signature_expired"
    assert requests.get(master_url, timeout=10).status_code == 200


def test_unknown_playlist_names_are_rejected(api, world, media):
    video = media(world.owner.user_id, status="READY", published=("360p",))
    response = requests.get(f"{api.base_url}/videos/{video.video_id}/hls/..%2Fsecret.m3u8?expires=1&signature=a")
    assert response.status_code in (400, 404)


# ------------------------------------------------------------------ reprocess


def test_reprocess_is_for_the_owner_and_admins(api, world, media):
    # GIVEN a ready video in the owner's organization
    video = media(world.owner.user_id, status="READY", org_id=world.org_id, published=("360p",))
    url = f"/videos/{video.video_id}/reprocess"

    # WHEN others ask to reprocess it, THEN a stranger does not see it and a member may not
    stranger = api.post(url, headers=world.stranger.headers)
    member = api.post(url, headers=world.member.headers)
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "video_not_found"
    assert member.status_code == 403 and member.json()["error"]["code"] == "not_video_owner"
    assert api.post(url).status_code == 401


def test_owner_and_admin_reprocess_while_the_last_attempt_keeps_playing(api, stack, world, media, rendition):
    # GIVEN a ready video whose original is still in the uploads bucket

    video = media(world.owner.user_id, status="READY", org_id=world.org_id, published=("360p",))
    source_key = Upload.object_key(world.owner.user_id, video.video_id)
    boto3.client("s3", endpoint_url=stack.endpoint_url).put_object(
        Bucket=stack.names["UploadsBucket"], Key=source_key, Body=rendition.mp4, ContentType="video/mp4"
    )
    video.update(actions=[Video.source_bucket.set(stack.names["UploadsBucket"]), Video.source_key.set(source_key)])
    url = f"/videos/{video.video_id}/reprocess"

    # WHEN the owner, then a platform admin, reprocess it
    by_owner = api.post(url, headers=world.owner.headers)
    still_playing = api.get(f"/videos/{video.video_id}/play", headers=world.owner.headers)
    by_admin = api.post(url, headers=world.admin.headers)

    # THEN each starts a new attempt, and the published attempt plays meanwhile
    assert by_owner.status_code == 202, by_owner.text
    assert by_owner.json() == {"video_id": video.video_id, "attempt": 2, "status": "PROCESSING"}
    assert still_playing.status_code == 200, still_playing.text
    assert by_admin.status_code == 202, by_admin.text
    assert by_admin.json()["attempt"] == 3

    # AND the last attempt runs to the end (nothing is left running)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body = api.get(f"/videos/{video.video_id}", headers=world.owner.headers).json()
        if body["status"] in ("READY", "FAILED"):
            break
        time.sleep(0.5)
    assert body["status"] == "READY", body
    assert body["attempt"] == 3
    play = api.get(f"/videos/{video.video_id}/play", headers=world.owner.headers).json()
    assert requests.get(play["master_url"], timeout=10).status_code == 200


def test_reprocess_of_a_video_without_its_original_is_a_conflict(api, world, media):
    video = media(world.owner.user_id, status="READY", published=("360p",))
    response = api.post(f"/videos/{video.video_id}/reprocess", headers=world.admin.headers)
    assert response.status_code == 409, response.text


@pytest.mark.parametrize(
    "forged",
    [
        {"Host": "evil.example", "X-Forwarded-Proto": "javascript"},
        {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "evil.example"},
        {"Host": "evil.example:443/x?"},
    ],
)
def test_forged_host_headers_do_not_change_signed_links(api, stack, world, media, forged):
    # GIVEN a ready video
    video = media(world.owner.user_id, status="READY", published=("360p",))

    # WHEN its links are asked for, and its playlist fetched, with forged Host / proto headers
    play = api.get(f"/videos/{video.video_id}/play", headers={**world.owner.headers, **forged})
    assert play.status_code == 200, play.text
    links = [play.json()["master_url"], *(v["playlist_url"] for v in play.json()["variants"])]
    master = requests.get(play.json()["master_url"], headers=forged, timeout=10)

    # THEN every signed link starts with the configured public URL (PUBLIC_API_URL), as do the
    # URIs inside the playlist; nothing of the forged headers appears
    assert get_settings().public_api_url == stack.api_url
    assert master.status_code == 200, master.text
    for link in [*links, *uri_lines(master.text)]:
        assert is_signed_playlist(link, stack, video.video_id), link
    assert "evil" not in play.text + master.text and "javascript" not in play.text + master.text


def test_the_pages_are_served_with_the_stacks_urls(stack):
    # GIVEN the local web server for web/, told the stack's URLs
    from infra.local.stack import free_port
    from infra.local.web_server import WebServer

    server = WebServer("127.0.0.1", free_port(), ROOT / "web", {"api_url": stack.api_url, "ws_url": stack.ws_url})
    server.start()
    try:
        # WHEN the pages and their config are fetched
        config = requests.get(f"{server.url}/config.json", timeout=10)
        page = requests.get(f"{server.url}/player.html", timeout=10)
        module = requests.get(f"{server.url}/player.js", timeout=10)
        listing = requests.get(f"{server.url}/", timeout=10)
        escape = requests.get(f"{server.url}/../app.py", timeout=10)
    finally:
        server.stop()

    # THEN config.json names this stack, modules are JavaScript, and nothing else leaks
    assert config.json() == {"api_url": stack.api_url, "ws_url": stack.ws_url}
    assert page.status_code == 200 and 'id="video"' in page.text
    assert module.headers["Content-Type"].startswith("text/javascript")
    assert listing.status_code == 404
    assert escape.status_code == 404


def test_operators_reprocess_from_the_command_line(world, media, capsys):
    # GIVEN a video with no original on record, WHEN an operator reprocesses it
    video = media(world.owner.user_id, status="READY", published=("360p",))
    code = main(["reprocess", video.video_id])

    # THEN the command fails with the reason, and so it does for a video that does not exist
    assert code == 1
    assert "not been uploaded" in capsys.readouterr().err
    assert main(["reprocess", str(uuid.uuid4())]) == 1
    assert "no such video" in capsys.readouterr().err.lower()
