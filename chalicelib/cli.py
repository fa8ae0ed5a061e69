"""Operator commands: `python -m chalicelib.cli promote-admin EMAIL`.

Uses the same Settings as the API, so it acts on whatever stack the environment names
(the local emulator when AWS_ENDPOINT_URL is set).
"""

from __future__ import annotations

import argparse
import sys

from chalicelib.services import identity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    promote = commands.add_parser("promote-admin", help="make an existing account a platform admin")
    promote.add_argument("email")
    role = commands.add_parser("set-role", help="set an account's platform role")
    role.add_argument("email")
    role.add_argument("role", choices=identity.ROLES)
    args = parser.parse_args(argv)

    new_role = "admin" if args.command == "promote-admin" else args.role
    user_id = identity.user_id_for_email(args.email)
    if user_id is None:
        sys.stderr.write(f"No account with the email {args.email}.\n")
        return 1
    identity.set_role(user_id, new_role)
    sys.stdout.write(f"{args.email} ({user_id}) is now {new_role}.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
