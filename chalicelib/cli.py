"""Lectern commands: `python -m chalicelib.cli promote-admin EMAIL`, `... upload FILE`.

Operator commands (promote-admin, set-role) use the same Settings as the API, so they act
on whatever stack the environment names (the local emulator when AWS_ENDPOINT_URL is set).
`upload` is a client of the HTTP API (chalicelib/uploads/client.py): it needs only the API's URL
and LECTERN_TOKEN, or LECTERN_EMAIL and LECTERN_PASSWORD.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chalicelib.core.roles import PLATFORM_ROLES, UPLOAD_PURPOSES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    promote = commands.add_parser("promote-admin", help="make an existing account a platform admin")
    promote.add_argument("email")
    role = commands.add_parser("set-role", help="set an account's platform role")
    role.add_argument("email")
    role.add_argument("role", choices=PLATFORM_ROLES)
    reprocess = commands.add_parser("reprocess", help="run the video pipeline again for a video")
    reprocess.add_argument("video_id")
    send = commands.add_parser(
        "upload",
        help="upload a video with a progress bar; run it again to resume an interrupted upload",
        description="Upload FILE to Lectern (LECTERN_TOKEN, or LECTERN_EMAIL and LECTERN_PASSWORD).",
    )
    send.add_argument("file", type=Path)
    send.add_argument("--purpose", required=True, choices=UPLOAD_PURPOSES)
    send.add_argument("--org", dest="org_id", help="the organization the video belongs to")
    send.add_argument("--api", dest="api_url", default=None, help="API base URL (default http://127.0.0.1:8000)")
    send.add_argument("--jobs", type=int, default=4, choices=range(1, 7), metavar="1-6", help="parallel parts")
    send.add_argument("--content-type", help="default: guessed from the file name")
    send.add_argument("--state", dest="state_file", type=Path, help="resume state file (default: under ~/.cache)")
    send.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    args = parser.parse_args(argv)
    if args.command == "reprocess":
        return reprocess_video(args.video_id)
    if args.command == "upload":
        return upload_file(args)

    # Imported here: `upload` is an HTTP client and must not need AWS settings or clients.
    from chalicelib.identity import service as identity

    new_role = "admin" if args.command == "promote-admin" else args.role
    user_id = identity.user_id_for_email(args.email)
    if user_id is None:
        sys.stderr.write(f"No account with the email {args.email}.\n")
        return 1
    identity.set_role(user_id, new_role)
    sys.stdout.write(f"{args.email} ({user_id}) is now {new_role}.\n")
    return 0


def upload_file(args: argparse.Namespace) -> int:
    from chalicelib.uploads import client as uploader

    return uploader.run(
        uploader.Options(
            path=args.file,
            purpose=args.purpose,
            org_id=args.org_id,
            api_url=args.api_url or uploader.DEFAULT_API,
            jobs=args.jobs,
            state_file=args.state_file,
            content_type=args.content_type,
            progress=args.progress,
        )
    )


def reprocess_video(video_id: str) -> int:
    from chalicelib.core.errors import LecternError
    from chalicelib.video import service as videos

    try:
        started = videos.reprocess_video(video_id)
    except LecternError as exc:
        sys.stderr.write(f"{exc.message}\n")
        return 1
    sys.stdout.write(f"Video {video_id}: attempt {started.attempt} started ({started.status}).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
