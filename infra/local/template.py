"""template.yaml as the local stack sees it: resources, SAM Globals, and intrinsics.

Physical names are deterministic (stack name + logical id) so that a restarted stack
finds the data it persisted. The only ids the emulator chooses itself (Cognito) are
bound once they exist, via `bind`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ACCOUNT_ID = "123456789012"
PARTITION = "aws"

# Which types the local stack creates, and which it leaves out on purpose, is listed in
# infra/local/provision.py (RESOURCE_TYPES, IGNORED_TYPES).
FUNCTION = "AWS::Serverless::Function"
STATE_MACHINE = "AWS::Serverless::StateMachine"
RESOLVED_INTRINSICS = frozenset({"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select"})
# Chalice's APIs, merged in by `chalice package` and served locally by api_server.py and
# ws_gateway.py: a reference to one resolves to this id, which names no API; the settings
# built from it (PUBLIC_API_URL) are set by the local stack itself (stack.py).
CHALICE_API_IDS = {"RestAPI": "local-rest-api", "WebsocketAPI": "local-websocket-api"}


class UnsupportedTemplate(ValueError):
    """The template asks for something the local stack does not do: refused at start,
    so the stack never runs a silently different platform."""


@dataclass
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]  # a function's are merged over Globals.Function
    physical_id: str = ""  # what Ref returns
    attributes: dict[str, Any] = field(default_factory=dict)  # what GetAtt returns


class Template:
    def __init__(self, path: Path, *, stack_name: str, region: str, endpoint_url: str):
        self.path = path
        self.endpoint_url = endpoint_url
        self.root = path.parent
        self.stack_name = stack_name
        self.region = region
        raw = cfn_yaml.load(str(path))
        self.document = raw  # as written (before Globals are merged), for the support check
        self.parameters = {name: _parameter_default(spec) for name, spec in (raw.get("Parameters") or {}).items()}
        self.function_globals: dict[str, Any] = (raw.get("Globals") or {}).get("Function") or {}
        self.resources: dict[str, Resource] = {}
        for logical_id, spec in raw["Resources"].items():
            if "Type" not in spec:
                continue  # a part of a resource Chalice adds when packaging (provision.CHALICE_RESOURCES)
            props = copy.deepcopy(dict(spec.get("Properties") or {}))
            if spec["Type"] == FUNCTION:
                props = _merge(copy.deepcopy(dict(self.function_globals)), props)
            self.resources[logical_id] = Resource(logical_id, spec["Type"], props)
        for resource in self.resources.values():
            self._assign_names(resource)

    # ------------------------------------------------------------------ naming
    def _assign_names(self, r: Resource) -> None:
        name = f"{self.stack_name}-{r.logical_id}"
        arn = f"arn:{PARTITION}:{{service}}:{self.region}:{ACCOUNT_ID}:{{rest}}"
        if r.type == "AWS::DynamoDB::Table":
            r.physical_id = r.properties.get("TableName") or name
            r.attributes["Arn"] = arn.format(service="dynamodb", rest=f"table/{r.physical_id}")
        elif r.type == "AWS::S3::Bucket":
            explicit = r.properties.get("BucketName")
            r.physical_id = self.resolve(explicit) if explicit else name.lower()
            r.attributes["Arn"] = f"arn:{PARTITION}:s3:::{r.physical_id}"
        elif r.type == "AWS::SQS::Queue":
            queue_name = r.properties.get("QueueName") or name
            r.physical_id = f"{self.endpoint_url}/{ACCOUNT_ID}/{queue_name}"
            r.attributes["QueueName"] = queue_name
            r.attributes["Arn"] = arn.format(service="sqs", rest=queue_name)
        elif r.type == FUNCTION:
            r.physical_id = r.properties.get("FunctionName") or name
            r.attributes["Arn"] = arn.format(service="lambda", rest=f"function:{r.physical_id}")
        elif r.type == STATE_MACHINE:
            sm_name = self.resolve(r.properties["Name"]) if "Name" in r.properties else name
            r.physical_id = arn.format(service="states", rest=f"stateMachine:{sm_name}")
            r.attributes["Name"] = sm_name
            r.attributes["Arn"] = r.physical_id

    def bind(self, logical_id: str, physical_id: str, **attributes: Any) -> None:
        resource = self.resources[logical_id]
        resource.physical_id = physical_id
        resource.attributes.update(attributes)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type in types]

    # ------------------------------------------------------------------ intrinsics
    def resolve(self, value: Any) -> Any:
        """Resolve Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select against this stack; refuse
        any other intrinsic rather than pass it on unresolved."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.resources[logical_id].attributes[attribute]
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key.startswith("Fn::") and key not in RESOLVED_INTRINSICS:
                raise UnsupportedTemplate(f"{self.path.name}: the local stack does not resolve {key}")
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": self.region,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in CHALICE_API_IDS and name not in self.resources:
            return CHALICE_API_IDS[name]
        return self.resources[name].physical_id

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token in variables:
                return str(variables[token])
            if "." in token and token.split(".", 1)[0] in self.resources:
                return str(self.resolve({"Fn::GetAtt": token}))
            return str(self._ref(token))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def _parameter_default(spec: dict) -> Any:
    default = spec.get("Default")
    if spec.get("Type") == "CommaDelimitedList" and isinstance(default, str):
        return [item.strip() for item in default.split(",")]
    return default


def _merge(base: dict, override: dict) -> dict:
    """SAM Globals semantics: maps merge, everything else is replaced by the resource's value."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base
