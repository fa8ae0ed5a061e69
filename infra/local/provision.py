"""Creates the template's resources in the emulator through the public AWS APIs.

Idempotent: resources that exist are kept (with their data), so a restarted stack
provisions over restored state. Event sources are not handed to moto (it would invoke
functions inside the sender's request and drop their errors); they are returned for the
local pollers and scheduler, which use only public behaviour.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.local.template import ACCOUNT_ID, FUNCTION, STATE_MACHINE, Resource, Template

LOCAL_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/lectern-local-functions"


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
        for pool in self.t.of_type("AWS::Cognito::UserPool"):
            self._user_pool(pool)
        for pool_client in self.t.of_type("AWS::Cognito::UserPoolClient"):
            self._user_pool_client(pool_client)
        for secret in self.t.of_type("AWS::SecretsManager::Secret"):
            self._secret(secret)
        # Dead-letter queues first: redrive policies name them.
        queues = self.t.of_type("AWS::SQS::Queue")
        for queue in sorted(queues, key=lambda q: "RedrivePolicy" in q.properties):
            self._queue(queue)
        for table in self.t.of_type("AWS::DynamoDB::Table"):
            self._table(table)
        buckets = self.t.of_type("AWS::S3::Bucket")
        for bucket in buckets:
            self._bucket(bucket)

        env = {k: str(v) for k, v in self.t.resolve(_env_of_globals(self.t)).items()}
        result = Provisioned(
            environment=env,
            names={r.logical_id: r.physical_id for r in self.t.resources.values() if r.physical_id},
            tables=[r.physical_id for r in self.t.of_type("AWS::DynamoDB::Table")],
            buckets=[b.physical_id for b in buckets],
        )
        if before_notifications:
            before_notifications(result)
        for bucket in buckets:
            self._bucket_notifications(bucket)
        for function in self.t.of_type(FUNCTION):
            self._function(function, result)
        for machine in self.t.of_type(STATE_MACHINE):
            self._state_machine(machine)
            result.state_machines.append(machine.physical_id)
        return result

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
            kwargs = {
                k: p[k]
                for k in (
                    "Policies",
                    "UsernameAttributes",
                    "AutoVerifiedAttributes",
                    "AccountRecoverySetting",
                    "Schema",
                )
                if k in p
            }
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
            keys = (
                "GenerateSecret",
                "ExplicitAuthFlows",
                "PreventUserExistenceErrors",
                "EnableTokenRevocation",
                "AccessTokenValidity",
                "IdTokenValidity",
                "RefreshTokenValidity",
                "TokenValidityUnits",
            )
            kwargs = {k: p[k] for k in keys if k in p}
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
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
            "FifoQueue",
            "ContentBasedDeduplication",
            "SqsManagedSseEnabled",
            "MaximumMessageSize",
        ):
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
        kwargs = {
            k: p[k]
            for k in (
                "AttributeDefinitions",
                "KeySchema",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "StreamSpecification",
            )
            if k in p
        }
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
    def _function(self, r: Resource, result: Provisioned) -> None:
        lam = self.client("lambda")
        p = self.t.resolve(r.properties)
        config = {
            "Runtime": p.get("Runtime", "python3.11"),
            "Role": LOCAL_ROLE,
            "Handler": p["Handler"],
            "Timeout": int(p.get("Timeout", 3)),
            "MemorySize": int(p.get("MemorySize", 128)),
            "Environment": {
                "Variables": {k: str(v) for k, v in (p.get("Environment") or {}).get("Variables", {}).items()}
            },
        }
        try:
            lam.get_function(FunctionName=r.physical_id)
            lam.update_function_configuration(FunctionName=r.physical_id, **config)
        except lam.exceptions.ResourceNotFoundException:
            lam.create_function(FunctionName=r.physical_id, Code={"ZipFile": _placeholder_zip()}, **config)
        for event in (p.get("Events") or {}).values():
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


def _env_of_globals(t: Template) -> dict:
    functions = t.of_type(FUNCTION)
    if not functions:
        return {}
    # Globals are merged into every function; functions share one process locally.
    return functions[0].properties.get("Environment", {}).get("Variables", {})


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
        api["Filter"] = {"Prefix": rule.get("Prefix", "")}
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
        rules.append(api)
    return rules


def _placeholder_zip() -> bytes:
    # The emulator stores code it never runs: our dispatcher imports the real handler.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Local stack: handlers run in-process from the source tree.\n")
    return buffer.getvalue()
