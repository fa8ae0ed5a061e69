"""The deployable artifact: `python -m infra.package build [--out DIR]` (`make package`).

Produces in DIR (default build/):
  sam.json               Chalice's REST and websocket APIs merged into template.yaml
  deployment.zip         app.py, chalicelib/ and functions/: the code of every function
                         (template Globals CodeUri), a few hundred KB
  layer-deployment.zip   the Python requirements, as Chalice's managed layer, which
                         every function gets (Chalice's own and those in template.yaml)
  ffmpeg-layer/          the FFmpeg layer's content (FfmpegLayer ContentUri)

then `sam deploy` (or `aws cloudformation package` + `deploy`) takes sam.json; see
docs/deploy.md. Chalice caches both zips in .chalice/deployments/ (the layer by the
requirements' hash), so repackaging after a code change takes seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGE = "prod"
TEMPLATE = "sam.json"
FUNCTION = "AWS::Serverless::Function"
# The managed policy in template.yaml that Chalice's roles get (docs/deploy.md says why).
API_POLICY = "ApiAccessPolicy"
# Chalice's layer of requirements (config.json: automatic_layer).
DEPS_LAYER = "ManagedLayer"
CHALICE_TAG = "aws-chalice"
# Chalice's REST API and the function behind it.
REST_API, API_HANDLER = "RestAPI", "APIHandler"
# The handler's name, fixed here so the API can name it without referring to it (at most
# 64 characters: stack names up to 60).
API_HANDLER_NAME = "${AWS::StackName}-api"
# Lambda's limit on a function's code plus all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 262_144_000


def build(out: Path) -> Path:
    """Build the artifact into `out`; returns the path of the deployable template."""
    _build_layer()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    artifacts = (TEMPLATE, "deployment.zip", "layer-deployment.zip", "ffmpeg-layer")
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as tmp:
        staged = Path(tmp) / "out"
        _chalice_package(staged)
        if not (staged / "deployment.zip").exists():
            raise SystemExit("chalice package produced no deployment.zip: the app declares no route or handler.")
        _add_functions(staged / "deployment.zip")
        template = _load_template(staged)
        _attach_api_policy(template)
        _share_deps_layer(template)
        _explicit_code_uri(template)
        _api_calls_its_handler_by_name(template)
        for name in artifacts:
            _remove(out / name)
        for name in ("deployment.zip", "layer-deployment.zip"):
            shutil.move(str(staged / name), out / name)
    _copy_layer(out / "ffmpeg-layer")
    _check_sizes(template, out)
    (out / TEMPLATE).write_text(json.dumps(template, indent=2) + "\n")
    return out / TEMPLATE


def _build_layer() -> None:
    # Idempotent and instant once built; `make package` has run it already.
    subprocess.run(["bash", str(ROOT / "layers" / "ffmpeg" / "build.sh")], check=True)


def _chalice_package(staged: Path) -> None:
    env = dict(os.environ)
    # Chalice builds a boto3 session even to package; the region is not baked into the
    # template (it uses AWS::Region), so any default will do.
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    # Packaging imports app.py: it must see AWS, not a local emulator left in the shell.
    env.pop("AWS_ENDPOINT_URL", None)
    command = [
        sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
        "--project-dir", str(ROOT),
        "package", "--stage", STAGE,
        "--merge-template", str(ROOT / "template.yaml"),
        "--template-format", "json",
        str(staged),
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def _load_template(staged: Path) -> dict[str, Any]:
    # Chalice writes the merged template in the merge template's format (sam.yaml here),
    # in long-form intrinsics (`Ref:`, `Fn::GetAtt:`), so plain YAML reads it.
    json_path, yaml_path = staged / "sam.json", staged / "sam.yaml"
    if json_path.exists():
        return json.loads(json_path.read_text())
    import yaml

    return yaml.safe_load(yaml_path.read_text())


def _add_functions(zip_path: Path) -> None:
    """Append functions/**.py so SAM functions (Handler functions/<name>/app.handler) share the zip."""
    with zipfile.ZipFile(zip_path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        present = set(zf.namelist())
        for path in sorted((ROOT / "functions").rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            name = path.relative_to(ROOT).as_posix()
            if name in present:
                continue
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # stable bytes, as Chalice's
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())


def chalice_roles(template: dict[str, Any]) -> list[str]:
    """Logical ids of the IAM roles of Chalice's functions (one per handler: REST, websocket)."""
    roles = []
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        if CHALICE_TAG not in (props.get("Tags") or {}):
            continue
        role = props.get("Role")
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            logical_id = role["Fn::GetAtt"][0]
            if logical_id not in roles and template["Resources"].get(logical_id, {}).get("Type") == "AWS::IAM::Role":
                roles.append(logical_id)
    return roles


def _attach_api_policy(template: dict[str, Any]) -> None:
    policy = template["Resources"].get(API_POLICY)
    if policy is None or policy.get("Type") != "AWS::IAM::ManagedPolicy":
        raise SystemExit(f"template.yaml must define the managed policy {API_POLICY}.")
    roles = chalice_roles(template)
    if not roles:
        raise SystemExit("No Chalice function role found in the packaged template.")
    policy["Properties"]["Roles"] = [{"Ref": role} for role in roles]


def _share_deps_layer(template: dict[str, Any]) -> None:
    """Give template.yaml's functions the requirements layer that Chalice's functions have."""
    resources = template["Resources"]
    layer = resources.get(DEPS_LAYER)
    if layer is None:
        raise SystemExit(f"chalice package made no {DEPS_LAYER}: set automatic_layer in .chalice/config.json.")
    # Chalice names it "<app>-<stage>-managed-layer"; per stack, so two stacks never share versions.
    layer["Properties"]["LayerName"] = {"Fn::Sub": "${AWS::StackName}-python-requirements"}
    ref = {"Ref": DEPS_LAYER}
    for resource in resources.values():
        if resource.get("Type") != FUNCTION:
            continue
        props = resource.setdefault("Properties", {})
        layers = props.get("Layers") or []
        if ref not in layers:
            props["Layers"] = [ref, *layers]


def _explicit_code_uri(template: dict[str, Any]) -> None:
    """Move the Globals CodeUri onto each function: `aws cloudformation package` uploads
    the artifacts that resources name, and may not look into SAM's Globals."""
    code_uri = template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    if code_uri is None:
        return
    for resource in template["Resources"].values():
        if resource.get("Type") == FUNCTION:
            resource.setdefault("Properties", {}).setdefault("CodeUri", code_uri)


def _api_calls_its_handler_by_name(template: dict[str, Any]) -> None:
    """The REST API's integrations name its handler by a fixed function name instead of
    Chalice's `${APIHandler.Arn}`.

    Every function's environment refers to the API (PUBLIC_API_URL, template.yaml Globals):
    with the API also referring to the handler, CloudFormation would refuse the cycle
    API -> handler -> API. API Gateway resolves the name only when it invokes the handler;
    the invoke permission (Chalice's) refers to both, so it is created after both.
    """
    resources = template["Resources"]
    resources[API_HANDLER]["Properties"]["FunctionName"] = {"Fn::Sub": API_HANDLER_NAME}
    arn = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + API_HANDLER_NAME
    body = json.dumps(resources[REST_API]["Properties"]["DefinitionBody"]).replace(f"${{{API_HANDLER}.Arn}}", arn)
    if API_HANDLER in body:
        raise SystemExit(f"{REST_API} still refers to {API_HANDLER}: `chalice package` output changed.")
    resources[REST_API]["Properties"]["DefinitionBody"] = json.loads(body)


def _unzipped_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    with zipfile.ZipFile(path) as zf:
        return sum(info.file_size for info in zf.infolist())


def function_sizes(template: dict[str, Any], out: Path) -> dict[str, int]:
    """Unzipped bytes of each function's code plus its layers, as Lambda counts them."""
    resources = template["Resources"]
    code_uri = template.get("Globals", {}).get("Function", {}).get("CodeUri")
    sizes = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != FUNCTION:
            continue
        props = resource["Properties"]
        total = _unzipped_size(out / props.get("CodeUri", code_uri))
        for layer in props.get("Layers") or []:
            layer_id = layer.get("Ref") if isinstance(layer, dict) else None
            content = resources.get(layer_id, {}).get("Properties", {}).get("ContentUri")
            if isinstance(content, str):
                total += _unzipped_size(out / content)
        sizes[logical_id] = total
    return sizes


def _check_sizes(template: dict[str, Any], out: Path) -> None:
    too_big = {k: v for k, v in function_sizes(template, out).items() if v > LAMBDA_UNZIPPED_LIMIT}
    if too_big:
        detail = ", ".join(f"{k}: {v / 2**20:.0f} MiB" for k, v in too_big.items())
        raise SystemExit(f"Over Lambda's 250 MiB unzipped limit (code + layers): {detail}")


def _copy_layer(dest: Path) -> None:
    source = ROOT / "layers" / "ffmpeg" / "build"

    def link_or_copy(src: str, dst: str) -> None:
        # Hard links: the binaries are ~160 MB, and build.sh replaces them, never edits them.
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".*"), copy_function=link_or_copy)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description="Build the deployable template.")
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="package the app and merge it into template.yaml")
    build_cmd.add_argument("--out", type=Path, default=ROOT / "build", help="output directory (default: build/)")
    args = parser.parse_args(argv)
    build(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
