"""A person uploads a 1080p clip through the upload page and watches it on the player page.

Real parts only: Debian's headless Chromium (driven by Playwright), the pages served by the
local stack, presigned S3 uploads, the Step Functions pipeline with FFmpeg, hls.js playback.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests

from chalicelib.adapters.ffmpeg import ffmpeg_binary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip_1080p(tmp_path_factory) -> str:
    """6 s of 1920x1080 with a tone: enough for 360p/720p/1080p rungs and two HLS segments."""
    path = tmp_path_factory.mktemp("clips") / "lecture-1080p.mp4"
    subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=6",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
        timeout=120,
        env={**os.environ, "GCONV_PATH": "/nonexistent"},
    )
    return str(path)


def sign_in(page, account) -> None:
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    page.click("#sign-in")
    page.wait_for_selector("#signed-in", state="visible")


def test_upload_page_to_player_page(stack, accounts, browser, clip_1080p, api):
    tutor = accounts.create(role="tutor")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # GIVEN a signed-in tutor on the upload page
    page.goto(f"{stack.web_url}/upload.html")
    sign_in(page, tutor)

    # WHEN they choose the 1080p clip and upload it
    page.set_input_files("#file", clip_1080p)
    page.select_option("#purpose", "course_video")
    page.click("#start")

    # THEN the page shows the upload finishing and the processing status arriving until READY
    page.wait_for_function("window.__upload.phase === 'processing' || window.__upload.phase === 'done'", timeout=60_000)
    page.wait_for_function("window.__upload.status === 'READY'", timeout=240_000)
    upload_state = page.evaluate("window.__upload")
    assert upload_state["sentBytes"] == upload_state["totalBytes"] == os.path.getsize(clip_1080p)
    assert page.inner_text("#video-status").strip().upper().startswith("READY")
    video_id = upload_state["videoId"]
    assert not errors, errors

    # AND the master playlist lists every rung up to the source's, 16:9, nothing upscaled
    play = api.get(f"/videos/{video_id}/play", headers=tutor.headers).json()
    master = requests.get(play["master_url"], timeout=10).text
    resolutions = [line.split("RESOLUTION=")[1].split(",")[0] for line in master.splitlines() if "RESOLUTION=" in line]
    assert resolutions == ["640x360", "1280x720", "1920x1080"]

    # WHEN the tutor opens the player page
    page.click("#player-link")
    page.wait_for_url(f"**/player.html?video={video_id}")
    page.wait_for_function("window.__player.ready === true", timeout=60_000)

    # THEN hls.js knows the three qualities and playback advances
    levels = page.evaluate("window.__player.levels")
    assert sorted((lvl["width"], lvl["height"]) for lvl in levels) == [(640, 360), (1280, 720), (1920, 1080)]
    page.evaluate("document.getElementById('video').muted = true; document.getElementById('video').play()")
    page.wait_for_function("window.__player.currentTime > 1.5", timeout=60_000)

    # AND switching to a fixed quality keeps playing from there
    page.evaluate("window.__player.setQuality('360p')")
    started = page.evaluate("window.__player.currentTime")
    deadline = time.monotonic() + 30
    while page.evaluate("window.__player.currentTime") <= started + 0.5:
        assert time.monotonic() < deadline, "playback stalled after switching quality"
        page.wait_for_timeout(200)
    assert page.evaluate("window.__player.levels")[page.evaluate("window.__player.currentLevel")]["height"] == 360
    assert not page.evaluate("window.__player.errors")
    assert not errors, errors
    context.close()


def test_an_interrupted_upload_resumes_after_a_reload_sending_only_the_missing_part(
    stack, accounts, browser, tmp_path, api
):
    # GIVEN a 9 MiB file (two parts: 8 MiB + 1 MiB) and a network that drops part 1's request
    path = tmp_path / "long-lecture.mp4"
    path.write_bytes(os.urandom(9 * 1024 * 1024))
    student = accounts.create()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{stack.web_url}/upload.html")
    sign_in(page, student)
    page.route("**/*partNumber=1*", lambda route: route.abort("connectionreset"))

    # WHEN the upload starts, part 2 arrives, and the person reloads the page mid-upload
    page.set_input_files("#file", str(path))
    page.click("#start")
    page.wait_for_function("window.__upload.partsSent.includes(2)", timeout=60_000)
    upload_id = page.evaluate("window.__upload.uploadId")
    assert 1 not in page.evaluate("window.__upload.partsSent")
    page.reload()  # the old page, and any retry of part 1 it had scheduled, is gone
    page.unroute("**/*partNumber=1*")
    page.wait_for_selector("#signed-in", state="visible")

    # ... and chooses the same file again
    page.set_input_files("#file", str(path))
    page.click("#start")
    page.wait_for_function("['processing', 'done', 'failed'].includes(window.__upload.phase)", timeout=60_000)

    # THEN the page resumed the same upload and sent only the missing part
    state = page.evaluate("window.__upload")
    assert state["uploadId"] == upload_id
    assert state["resumed"] is True
    assert state["partsSent"] == [1]
    assert state["skippedBytes"] == 1024 * 1024
    # AND the server holds the whole file, verified
    upload = api.get(f"/uploads/{upload_id}", headers=student.headers).json()
    assert upload["state"] == "COMPLETED"
    context.close()
