"""`make package`: the deployable template and its artifacts, built for real and linted.

The first run on a machine downloads the manylinux wheels of requirements.txt (about a
minute); Chalice caches the result in .chalice/deployments/, so later runs take seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.package import LAMBDA_UNZIPPED_LIMIT, build, chalice_roles, function_sizes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    # GIVEN the project as it is, packaged the way `make package` does it
    out = tmp_path_factory.mktemp("package")
    template_path = build(out)
    return out, json.loads(template_path.read_text())


def test_cfn_lint_finds_nothing_in_the_merged_template(package):
    out, _ = package
    # WHEN cfn-lint (with every rule, warnings included) checks the deployable template
    lint = subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())", str(out / "sam.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # THEN it reports no finding at all
    assert lint.returncode == 0 and lint.stdout.strip() == "", lint.stdout + lint.stderr


def test_the_template_holds_the_apis_the_resources_and_both_kinds_of_function(package):
    _, template = package
    types = {logical_id: resource["Type"] for logical_id, resource in template["Resources"].items()}
    # THEN Chalice's REST API and its handler are merged in ...
    assert types["RestAPI"] == "AWS::Serverless::Api"
    assert types["APIHandler"] == "AWS::Serverless::Function"
    # ... next to template.yaml's tables, buckets, user pool, layer and functions
    for table in ("UsersTable", "OrgsTable", "ConnectionsTable"):
        assert types[table] == "AWS::DynamoDB::Table"
    for bucket in ("UploadsBucket", "MediaBucket", "ArchivesBucket"):
        assert types[bucket] == "AWS::S3::Bucket"
    assert types["UserPool"] == "AWS::Cognito::UserPool"
    assert types["FfmpegLayer"] == "AWS::Serverless::LayerVersion"
    assert types["ProcessAvatarFunction"] == "AWS::Serverless::Function"
    assert types["SweepExpiredInvitesFunction"] == "AWS::Serverless::Function"


def test_every_function_gets_the_settings_and_the_requirements(package):
    _, template = package
    # THEN the Globals (settings as environment) apply to Chalice's functions too ...
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {"USERS_TABLE_NAME", "ORGS_TABLE_NAME", "UPLOADS_BUCKET_NAME", "COGNITO_USER_POOL_ID"} <= set(env)
    functions = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    for logical_id, function in functions.items():
        props = function["Properties"]
        # ... none of them overrides the environment, so every one reads the same names ...
        assert "Variables" not in props.get("Environment", {}), logical_id
        # ... every one has the requirements layer ...
        assert {"Ref": "ManagedLayer"} in props["Layers"], logical_id
        # ... and names its code itself, so any packaging tool uploads it
        assert props["CodeUri"] == "./deployment.zip", logical_id


def test_chalice_functions_may_use_the_tables_buckets_pool_and_connections(package):
    _, template = package
    policy = template["Resources"]["ApiAccessPolicy"]["Properties"]
    # THEN every role Chalice made (REST and websocket handlers) has the API's policy
    roles = chalice_roles(template)
    assert "ApiHandlerRole" in roles
    assert policy["Roles"] == [{"Ref": role} for role in roles]
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in _as_list(s["Action"])}
    assert {
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "s3:PutObject",
        "cognito-idp:AdminConfirmSignUp",
        "cognito-idp:AdminUserGlobalSignOut",
        "execute-api:ManageConnections",
    } <= actions
    # ... and never a Scan: every read on a request path is a GetItem or a Query
    assert not any(a in ("dynamodb:Scan", "dynamodb:*", "*") for a in actions)


def test_unknown_routes_and_gateway_errors_leave_in_the_error_shape(package):
    _, template = package
    responses = template["Globals"]["Api"]["GatewayResponses"]
    # THEN an unknown route is a JSON 404 in the API's error shape
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["StatusCode"] == "404"
    body = json.loads(missing["ResponseTemplates"]["application/json"])
    assert body["error"]["code"] == "not_found" and body["error"]["details"] == {}
    # ... and API Gateway's other errors keep the same top-level shape
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert responses[kind]["ResponseTemplates"]["application/json"].startswith('{"error": {"code": ')


def test_the_artifacts_hold_every_handler_and_fit_in_lambda(package):
    out, template = package
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        names = set(zf.namelist())
    # THEN the shared code zip holds the Chalice app and each template function's handler
    assert {"app.py", "chalicelib/core/config.py"} <= names
    for resource in template["Resources"].values():
        handler = resource.get("Properties", {}).get("Handler", "")
        if resource["Type"] == "AWS::Serverless::Function" and handler.startswith("functions/"):
            assert handler.rsplit(".", 1)[0] + ".py" in names, handler
    # ... the FFmpeg layer has its executables where /opt/bin expects them
    for tool in ("ffmpeg", "ffprobe"):
        assert os.access(out / "ffmpeg-layer" / "bin" / tool, os.X_OK)
    # ... and no function with its layers exceeds Lambda's unzipped size limit
    for logical_id, size in function_sizes(template, out).items():
        assert size <= LAMBDA_UNZIPPED_LIMIT, (logical_id, size)


def _as_list(value):
    return value if isinstance(value, list) else [value]
