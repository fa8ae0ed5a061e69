"""Creates the template's resources in the emulator through the public AWS APIs.

Idempotent: resources that exist are kept (with their data), so a restarted stack
provisions over restored state. Event sources are not handed to moto (it would invoke
functions inside the sender's request and drop their errors); they are returned for the
local pollers and scheduler, which use only public behaviour.

Nothing is skipped silently: RESOURCE_TYPES lists each type created and the properties it
honours, IGNORED_TYPES and each type's `ignores` say what is left out on purpose and why.
Anything else in the template stops the stack before it creates a thing.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.local.template import (
    ACCOUNT_ID,
    FUNCTION,
    RESOLVED_INTRINSICS,
    STATE_MACHINE,
    Resource,
    Template,
    UnsupportedTemplate,
)

LOCAL_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/lectern-local-functions"

# Properties passed through to the create call as they are (also what RESOURCE_TYPES honours).
USER_POOL_KEYS = ("Policies", "UsernameAttributes", "AutoVerifiedAttributes", "AccountRecoverySetting", "Schema")
USER_POOL_CLIENT_KEYS = (
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
)
QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
    "MaximumMessageSize",
)
TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "ProvisionedThroughput",
)


@dataclass
class QueueSubscription:
    queue_url: str
    function_name: str
    batch_size: int
    reports_batch_failures: bool


@dataclass
class Schedule:
    function_name: str
    expression: str  # rate(...) as written in the template


@dataclass
class Provisioned:
    environment: dict[str, str]
    subscriptions: list[QueueSubscription] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    state_machines: list[str] = field(default_factory=list)


class Provisioner:
    def __init__(self, template: Template, endpoint_url: str):
        check_supported(template)
        self.t = template
        self._session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=template.region
        )
        self._endpoint = endpoint_url

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint)

    def provision(self, before_notifications: Callable[[Provisioned], None] | None = None) -> Provisioned:
        """Create everything; `before_notifications` runs once tables and buckets exist but
        before S3 notifications are switched on (restoring objects must not re-trigger work)."""
        self._role()
        self._create(kind for kind in RESOURCE_TYPES.values() if not kind.after_data)

        # Globals only: each function's own variables reach it per invocation (lambda_dispatch).
        variables = self.t.resolve((self.t.function_globals.get("Environment") or {}).get("Variables") or {})
        buckets = self.t.of_type(BUCKET)
        result = Provisioned(
            environment={k: str(v) for k, v in variables.items()},
            names={r.logical_id: r.physical_id for r in self.t.resources.values() if r.physical_id},
            tables=[r.physical_id for r in self.t.of_type(TABLE)],
            buckets=[b.physical_id for b in buckets],
        )
        if before_notifications:
            before_notifications(result)
        for bucket in buckets:
            self._bucket_notifications(bucket)

        self._create(kind for kind in RESOURCE_TYPES.values() if kind.after_data)
        for function in self.t.of_type(FUNCTION):
            self._event_sources(function, result)
        result.state_machines = [m.physical_id for m in self.t.of_type(STATE_MACHINE)]
        return result

    def _create(self, kinds: Iterable[ResourceType]) -> None:
        for kind in kinds:
            # Dead-letter queues first: redrive policies name them (no other type has the key).
            for resource in sorted(self.t.of_type(kind.type), key=lambda r: "RedrivePolicy" in r.properties):
                kind.create(self, resource)

    # ------------------------------------------------------------------ IAM
    def _role(self) -> None:
        iam = self.client("iam")
        name = LOCAL_ROLE.rsplit("/", 1)[1]
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))

    # ------------------------------------------------------------------ Cognito
    def _user_pool(self, r: Resource) -> None:
        idp = self.client("cognito-idp")
        name = f"{self.t.stack_name}-{r.logical_id}"
        pools = idp.list_user_pools(MaxResults=60)["UserPools"]
        existing = next((p for p in pools if p["Name"] == name), None)
        if existing:
            pool_id = existing["Id"]
        else:
            p = self.t.resolve(r.properties)
            kwargs = {k: p[k] for k in USER_POOL_KEYS if k in p}
            pool_id = idp.create_user_pool(PoolName=name, **kwargs)["UserPool"]["Id"]
        arn = f"arn:aws:cognito-idp:{self.t.region}:{ACCOUNT_ID}:userpool/{pool_id}"
        self.t.bind(r.logical_id, pool_id, Arn=arn, ProviderName=f"cognito-idp.{self.t.region}.amazonaws.com/{pool_id}")

    def _user_pool_client(self, r: Resource) -> None:
        idp = self.client("cognito-idp")
        p = self.t.resolve(r.properties)
        pool_id, name = p["UserPoolId"], f"{self.t.stack_name}-{r.logical_id}"
        clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        existing = next((c for c in clients if c["ClientName"] == name), None)
        if existing:
            client_id = existing["ClientId"]
        else:
            kwargs = {k: p[k] for k in USER_POOL_CLIENT_KEYS if k in p}
            client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=name, **kwargs)["UserPoolClient"][
                "ClientId"
            ]
        self.t.bind(r.logical_id, client_id)

    # ------------------------------------------------------------------ Secrets Manager
    def _secret(self, r: Resource) -> None:
        sm = self.client("secretsmanager")
        name = f"{self.t.stack_name}-{r.logical_id}"
        try:
            arn = sm.describe_secret(SecretId=name)["ARN"]
        except sm.exceptions.ResourceNotFoundException:
            spec = self.t.resolve(r.properties).get("GenerateSecretString", {})
            value = sm.get_random_password(
                PasswordLength=int(spec.get("PasswordLength", 32)),
                ExcludePunctuation=bool(spec.get("ExcludePunctuation", False)),
            )["RandomPassword"]
            arn = sm.create_secret(Name=name, SecretString=value)["ARN"]
        self.t.bind(r.logical_id, arn)

    # ------------------------------------------------------------------ SQS
    def _queue(self, r: Resource) -> None:
        p = self.t.resolve(r.properties)
        attributes = {}
        for key in QUEUE_ATTRIBUTES:
            if key in p:
                value = p[key]
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
        if "RedrivePolicy" in p:
            attributes["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        self.client("sqs").create_queue(QueueName=r.attributes["QueueName"], Attributes=attributes)

    # ------------------------------------------------------------------ DynamoDB
    def _table(self, r: Resource) -> None:
        ddb = self.client("dynamodb")
        p = self.t.resolve(r.properties)
        try:
            ddb.describe_table(TableName=r.physical_id)
            return
        except ddb.exceptions.ResourceNotFoundException:
            pass
        kwargs = {k: p[k] for k in TABLE_KEYS if k in p}
        if "StreamSpecification" in p:  # CloudFormation leaves StreamEnabled implicit
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        ddb.create_table(TableName=r.physical_id, BillingMode=p.get("BillingMode", "PAY_PER_REQUEST"), **kwargs)
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=r.physical_id,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )

    # ------------------------------------------------------------------ S3
    def _bucket(self, r: Resource) -> None:
        s3 = self.client("s3")
        p = self.t.resolve(r.properties)
        name = r.physical_id
        try:
            s3.head_bucket(Bucket=name)
        except s3.exceptions.ClientError:
            if self.t.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.t.region})
        if "CorsConfiguration" in p:
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": _cors_rules(p["CorsConfiguration"])})
        if "LifecycleConfiguration" in p:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": _lifecycle_rules(p["LifecycleConfiguration"])}
            )

    def _bucket_notifications(self, r: Resource) -> None:
        p = self.t.resolve(r.properties)
        queues = (p.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
        if not queues:
            return
        config = {
            "QueueConfigurations": [
                {
                    "QueueArn": q["Queue"],
                    "Events": [q["Event"]],
                    "Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}} if "Filter" in q else {},
                }
                for q in queues
            ]
        }
        for entry in config["QueueConfigurations"]:
            if not entry["Filter"]:
                del entry["Filter"]
        self.client("s3").put_bucket_notification_configuration(Bucket=r.physical_id, NotificationConfiguration=config)

    # ------------------------------------------------------------------ Lambda
    def _function(self, r: Resource) -> None:
        lam = self.client("lambda")
        p = self.t.resolve(r.properties)
        config = {
            "Runtime": p.get("Runtime", "python3.11"),
            "Role": LOCAL_ROLE,
            "Handler": p["Handler"],
            "Timeout": int(p.get("Timeout", 3)),
            "MemorySize": int(p.get("MemorySize", 128)),
            # Globals merged with the function's own: what lambda_dispatch shows its handler.
            "Environment": {
                "Variables": {k: str(v) for k, v in (p.get("Environment") or {}).get("Variables", {}).items()}
            },
        }
        try:
            lam.get_function(FunctionName=r.physical_id)
            lam.update_function_configuration(FunctionName=r.physical_id, **config)
        except lam.exceptions.ResourceNotFoundException:
            lam.create_function(FunctionName=r.physical_id, Code={"ZipFile": _placeholder_zip()}, **config)

    def _event_sources(self, r: Resource, result: Provisioned) -> None:
        for event in (self.t.resolve(r.properties).get("Events") or {}).values():
            props = event.get("Properties", {})
            if event["Type"] == "SQS":
                queue_name = props["Queue"].rsplit(":", 1)[1]
                result.subscriptions.append(
                    QueueSubscription(
                        queue_url=f"{self._endpoint}/{ACCOUNT_ID}/{queue_name}",
                        function_name=r.physical_id,
                        batch_size=int(props.get("BatchSize", 10)),
                        reports_batch_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    )
                )
            elif event["Type"] == "Schedule":
                result.schedules.append(Schedule(function_name=r.physical_id, expression=props["Schedule"]))

    # ------------------------------------------------------------------ Step Functions
    def _state_machine(self, r: Resource) -> None:
        sfn = self.client("stepfunctions")
        p = self.t.resolve(r.properties)
        if "DefinitionUri" in p:
            definition = (self.t.root / p["DefinitionUri"]).read_text()
        else:
            definition = json.dumps(p["Definition"])
        substitutions = p.get("DefinitionSubstitutions") or {}
        definition = re.sub(r"\$\{(\w+)\}", lambda m: str(substitutions.get(m.group(1), m.group(0))), definition)
        json.loads(definition)  # fail here, loudly, on a broken substitution
        name = r.attributes["Name"]
        try:
            sfn.describe_state_machine(stateMachineArn=r.physical_id)
            sfn.update_state_machine(stateMachineArn=r.physical_id, definition=definition)
        except sfn.exceptions.StateMachineDoesNotExist:
            sfn.create_state_machine(name=name, definition=definition, roleArn=LOCAL_ROLE)


# CloudFormation and the S3 API spell a few CORS fields differently.
_CORS_FIELDS = {
    "AllowedHeaders": "AllowedHeaders",
    "AllowedMethods": "AllowedMethods",
    "AllowedOrigins": "AllowedOrigins",
    "ExposedHeaders": "ExposeHeaders",
    "MaxAge": "MaxAgeSeconds",
    "Id": "ID",
}


def _cors_rules(cfn: dict) -> list[dict]:
    return [{_CORS_FIELDS[k]: v for k, v in rule.items() if k in _CORS_FIELDS} for rule in cfn["CorsRules"]]


def _lifecycle_rules(cfn: dict) -> list[dict]:
    rules = []
    for rule in cfn["Rules"]:
        api: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule.get("Status", "Enabled")}
        api["Filter"] = _lifecycle_filter(rule.get("Prefix"), rule.get("TagFilters") or [])
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "Transitions" in rule:
            api["Transitions"] = [
                {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in rule["Transitions"]
            ]
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            }
        if "NoncurrentVersionExpiration" in rule:
            api["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
            }
        if "ExpiredObjectDeleteMarker" in rule:
            api.setdefault("Expiration", {})["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
        rules.append(api)
    return rules


def _lifecycle_filter(prefix: str | None, tag_filters: list[dict]) -> dict:
    """CloudFormation's Prefix + TagFilters as the S3 API's Filter (two predicates need And)."""
    tags = [{"Key": t["Key"], "Value": str(t["Value"])} for t in tag_filters]
    if not tags:
        return {"Prefix": prefix or ""}
    if prefix is None and len(tags) == 1:
        return {"Tag": tags[0]}
    return {"And": {**({"Prefix": prefix} if prefix is not None else {}), "Tags": tags}}


def _placeholder_zip() -> bytes:
    # The emulator stores code it never runs: our dispatcher imports the real handler.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Local stack: handlers run in-process from the source tree.\n")
    return buffer.getvalue()


# ---------------------------------------------------------------------- what the local stack supports
TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"

# A property's allowed shape: None takes the value as is (the AWS API validates it); a
# mapping names the keys allowed inside (in each item of a list; "*" matches any key).
Shape = Mapping[str, "Shape | None"]

NO_IAM = "the emulator does not enforce IAM: local code runs with the emulator's credentials"
NO_XRAY = "no X-Ray daemon runs locally"
DOCUMENTATION = "documentation only"


@dataclass(frozen=True)
class ResourceType:
    type: str
    create: Callable[[Provisioner, Resource], None]
    honours: Shape
    ignores: Mapping[str, str] = field(default_factory=dict)  # property -> why it has no local meaning
    after_data: bool = False  # created once data is restored and S3 notifications are on


# In creation order: pools before their clients, secrets and queues before the functions
# whose environment names them, functions before the state machines that call them.
RESOURCE_TYPES: dict[str, ResourceType] = {
    kind.type: kind
    for kind in (
        ResourceType(
            "AWS::Cognito::UserPool",
            Provisioner._user_pool,
            dict.fromkeys(USER_POOL_KEYS),
        ),
        ResourceType(
            "AWS::Cognito::UserPoolClient",
            Provisioner._user_pool_client,
            dict.fromkeys(("UserPoolId", *USER_POOL_CLIENT_KEYS)),
        ),
        ResourceType(
            "AWS::SecretsManager::Secret",
            Provisioner._secret,
            {"GenerateSecretString": dict.fromkeys(("PasswordLength", "ExcludePunctuation"))},
            ignores={"Description": DOCUMENTATION},
        ),
        ResourceType(
            QUEUE,
            Provisioner._queue,
            {
                **dict.fromkeys(("QueueName", *QUEUE_ATTRIBUTES)),
                "RedrivePolicy": dict.fromkeys(("deadLetterTargetArn", "maxReceiveCount")),
            },
        ),
        ResourceType(
            TABLE,
            Provisioner._table,
            {
                **dict.fromkeys(("TableName", "BillingMode", *TABLE_KEYS)),
                "StreamSpecification": {"StreamViewType": None},
                "TimeToLiveSpecification": dict.fromkeys(("AttributeName", "Enabled")),
            },
            ignores={
                "PointInTimeRecoverySpecification": "backups: infra/local/persistence.py snapshots the local data",
                "SSESpecification": "encryption at rest: the emulator keeps items in memory",
            },
        ),
        ResourceType(
            BUCKET,
            Provisioner._bucket,
            {
                "BucketName": None,
                "CorsConfiguration": {"CorsRules": dict.fromkeys(_CORS_FIELDS)},
                "LifecycleConfiguration": {
                    "Rules": {
                        **dict.fromkeys(("Id", "Status", "Prefix", "ExpirationInDays")),
                        "TagFilters": dict.fromkeys(("Key", "Value")),
                        "Transitions": dict.fromkeys(("StorageClass", "TransitionInDays")),
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": None},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": None},
                        "ExpiredObjectDeleteMarker": None,
                    }
                },
                "NotificationConfiguration": {
                    "QueueConfigurations": {
                        "Event": None,
                        "Queue": None,
                        "Filter": {"S3Key": {"Rules": dict.fromkeys(("Name", "Value"))}},
                    }
                },
            },
            ignores={
                "BucketEncryption": "encryption at rest: S3 applies SSE-S3 to every object anyway, "
                "and the emulator keeps objects in memory",
                "PublicAccessBlockConfiguration": "the emulator authorizes no request (moto's auth is off), "
                "so there is no public access to block",
                "VersioningConfiguration": "versions guard deployed data against overwrites and deletes; the local "
                "data has its snapshots (infra/local/persistence.py), and nothing reads an old version",
            },
        ),
        ResourceType(
            FUNCTION,
            Provisioner._function,
            {
                **dict.fromkeys(("FunctionName", "Handler", "Runtime", "Timeout", "MemorySize")),
                "Environment": {"Variables": None},
                # Each event's Properties are checked against EVENT_SOURCES.
                "Events": {"*": {"Type": None, "Properties": None}},
            },
            ignores={
                "CodeUri": "handlers are imported from the source tree (lambda_dispatch.resolve_handler)",
                "Architectures": "handlers run in this Python process",
                "Layers": "the FFmpeg layer's binaries come from layers/ffmpeg/build (FFMPEG_BINARY, FFPROBE_BINARY)",
                "EphemeralStorage": "/tmp is this machine's disk",
                "ReservedConcurrentExecutions": "handlers run in this process, as many at once as their callers ask: "
                "there is no account concurrency to share, and throttled tasks' retries are Step Functions' own",
                "Tracing": NO_XRAY,
                "Policies": NO_IAM,
                "Description": DOCUMENTATION,
            },
            after_data=True,
        ),
        ResourceType(
            STATE_MACHINE,
            Provisioner._state_machine,
            dict.fromkeys(("Name", "Definition", "DefinitionUri", "DefinitionSubstitutions")),
            ignores={"Tracing": NO_XRAY, "Policies": NO_IAM},
            after_data=True,
        ),
    )
}

# Function event sources the local triggers run (infra/local/triggers.py), with their properties.
EVENT_SOURCES: dict[str, Shape] = {
    "SQS": dict.fromkeys(("Queue", "BatchSize", "FunctionResponseTypes")),
    "Schedule": {"Schedule": None},
}

_CHALICE_API = "Chalice's APIs, merged in by `chalice package`: served locally by api_server.py and ws_gateway.py"
IGNORED_TYPES: dict[str, str] = {
    "AWS::IAM::ManagedPolicy": NO_IAM,
    "AWS::IAM::Policy": NO_IAM,
    "AWS::IAM::Role": NO_IAM,
    "AWS::SQS::QueuePolicy": "the emulator does not enforce resource policies: S3 delivers to the queues without it",
    "AWS::Serverless::LayerVersion": "handlers run in this process; the FFmpeg binaries come from layers/ffmpeg/build",
    "AWS::CloudWatch::Alarm": "no metrics are collected locally",
    "AWS::Logs::LogGroup": "API Gateway's access logs: the local servers log each request through the app's logger",
    "AWS::ApiGateway::Account": "the account's API Gateway logging role: no API Gateway runs locally",
    "AWS::Serverless::Api": _CHALICE_API,
    "AWS::ApiGatewayV2::Api": _CHALICE_API,
    "AWS::ApiGatewayV2::Route": _CHALICE_API,
    "AWS::ApiGatewayV2::Integration": _CHALICE_API,
    "AWS::ApiGatewayV2::Stage": _CHALICE_API,
    "AWS::ApiGatewayV2::Deployment": _CHALICE_API,
    "AWS::Lambda::Permission": _CHALICE_API,
}

# Resources that `chalice package --merge-template` creates, which template.yaml completes
# (checkov notes, stage settings): written there without a Type, they exist only once merged.
CHALICE_RESOURCES: dict[str, str] = dict.fromkeys(
    ("RestAPI", "APIHandler", "WebsocketAPIStage", "WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect"),
    _CHALICE_API,
)

# Globals sections besides Function (which is checked like a function's own properties).
IGNORED_GLOBALS = {"Api": "configures Chalice's REST API once merged; api_server.py mirrors its GatewayResponses"}

# CloudFormation resource attributes (beside Type and Properties).
IGNORED_RESOURCE_ATTRIBUTES = {
    "DependsOn": "the local stack creates resources in its own fixed order (RESOURCE_TYPES)",
    "DeletionPolicy": "the local stack never deletes a resource",
    "UpdateReplacePolicy": "the local stack never replaces a resource",
    "Metadata": "annotations for other tools",
}


def check_supported(template: Template) -> None:
    """Raise UnsupportedTemplate naming every type, property or intrinsic the local stack
    would not honour, before anything is created."""
    problems: list[str] = []
    document = template.document
    for section in (document.get("Globals") or {}).keys() - {"Function"} - IGNORED_GLOBALS.keys():
        problems.append(f"Globals.{section} is not supported")
    problems += _property_problems("Globals.Function", template.function_globals, RESOURCE_TYPES[FUNCTION])
    problems += [
        f"Globals.Function: {key} is not resolved locally" for key in _unresolved_intrinsics(template.function_globals)
    ]
    for logical_id, spec in document["Resources"].items():
        if "Type" not in spec:
            if logical_id not in CHALICE_RESOURCES:
                problems.append(f"{logical_id}: no Type, and not a resource Chalice adds (CHALICE_RESOURCES)")
            problems += [
                f"{logical_id}: {key} cannot complete Chalice's resource"
                for key in spec.keys() - {"Properties", "Metadata"}
            ]
            continue
        where = f"{logical_id} ({spec['Type']})"
        for attribute in spec.keys() - {"Type", "Properties"} - IGNORED_RESOURCE_ATTRIBUTES.keys():
            problems.append(f"{where}: resource attribute {attribute} is not supported")
        properties = spec.get("Properties") or {}
        problems += [f"{where}: {key} is not resolved locally" for key in _unresolved_intrinsics(properties)]
        if spec["Type"] in IGNORED_TYPES:
            continue
        kind = RESOURCE_TYPES.get(spec["Type"])
        if kind is None:
            problems.append(f"{where}: the type is neither provisioned (RESOURCE_TYPES) nor ignored (IGNORED_TYPES)")
            continue
        problems += _property_problems(where, properties, kind)
        if kind.type == FUNCTION:
            for name, event in (properties.get("Events") or {}).items():
                source = EVENT_SOURCES.get(event.get("Type"))
                if source is None:
                    problems.append(f"{where}: event {name} of type {event.get('Type')} is not supported")
                    continue
                problems += [
                    f"{where}: property Events.{name}.Properties{path} is not supported"
                    for path in _unknown_keys(event.get("Properties") or {}, source, "")
                ]
    if problems:
        raise UnsupportedTemplate(
            f"{template.path.name} asks for what the local stack does not do "
            "(infra/local/provision.py lists what it supports and what it ignores on purpose):\n  "
            + "\n  ".join(problems)
        )


def _property_problems(where: str, properties: Mapping[str, Any], kind: ResourceType) -> list[str]:
    problems = []
    for key, value in properties.items():
        if key in kind.ignores:
            continue
        if key not in kind.honours:
            problems.append(f"{where}: property {key} is not supported")
            continue
        problems += [
            f"{where}: property {key}{path} is not supported" for path in _unknown_keys(value, kind.honours[key], "")
        ]
    return problems


def _unknown_keys(value: Any, shape: Shape | None, path: str) -> Iterator[str]:
    if shape is None or _is_intrinsic(value):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown_keys(item, shape, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in shape or "*" in shape:
                yield from _unknown_keys(item, shape.get(key, shape.get("*")), f"{path}.{key}")
            else:
                yield f"{path}.{key}"


def _unresolved_intrinsics(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _unresolved_intrinsics(item)
    elif isinstance(value, dict):
        if _is_intrinsic(value) and next(iter(value)) not in RESOLVED_INTRINSICS:
            yield next(iter(value))
        for item in value.values():
            yield from _unresolved_intrinsics(item)


def _is_intrinsic(value: Any) -> bool:
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    key = next(iter(value))
    return key == "Ref" or key.startswith("Fn::")
