"""adapters/aws.py: the one seam where botocore errors become ours.

- a code the adapter names becomes the error it names (an instance, or made from the error);
- a TRANSIENT code (throttling, 5xx, timeouts) becomes TransientFailure: Step Functions
  retries it and the API answers 503;
- any other code becomes a plain LecternError (500) naming the service, operation and code;
- connection failures (BotoCoreError) are TransientFailure; other exceptions pass through.

Real botocore ClientError objects and a real S3 client with botocore's Stubber: no network.
chalicelib.adapters.aws is imported by a fixture, not at module level (its logger reads the
environment that the session's stack may set later).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.core.errors import Conflict, LecternError, NotFound, TransientFailure


@pytest.fixture(scope="module")
def aws():
    from chalicelib.adapters import aws

    return aws


def client_error(code: str, operation: str = "GetObject", status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} happened"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@pytest.fixture
def s3():
    """A real botocore S3 client whose responses come from a Stubber (nothing is sent)."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="unit",
        aws_secret_access_key="unit",
        endpoint_url="http://127.0.0.1:9",  # never reached: the stubber answers first
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


# ---------------------------------------------------------------- translate


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "InternalServerError",
        "RequestTimeout",
        "500",
        "503",
    ],
)
def test_a_transient_code_becomes_transient_failure(aws, code):
    # GIVEN a throttling / 5xx / timeout error of DynamoDB
    error = client_error(code, "PutItem", status=503)

    # WHEN it is translated
    translated = aws.translate(error, "dynamodb", "put_item")

    # THEN it is TransientFailure (503, retried), naming the operation and the code
    assert type(translated) is TransientFailure
    assert translated.status == 503
    assert translated.details == {"operation": "put_item", "code": code}
    assert translated.message == "The database is unavailable; try again."


def test_every_code_in_the_transient_set_becomes_transient_failure(aws):
    for code in sorted(aws.TRANSIENT):
        assert type(aws.translate(client_error(code), "s3", "get_object")) is TransientFailure, code


def test_a_named_code_becomes_the_named_error(aws):
    # GIVEN an adapter that names S3's NoSuchKey
    missing = NotFound("The object does not exist.", details={"key": "k"})

    # WHEN that code is translated
    translated = aws.translate(client_error("NoSuchKey"), "s3", "get_object", {"NoSuchKey": missing})

    # THEN the adapter's own error comes back, as given
    assert translated is missing


def test_a_named_code_may_be_made_from_the_botocore_error(aws):
    # GIVEN an adapter that builds its error from the ClientError
    error = client_error("InvalidPart")

    def invalid_parts(exc: Exception) -> Exception:
        return Conflict("Storage refused the parts.", details={"message": exc.response["Error"]["Message"]})

    # WHEN that code is translated
    translated = aws.translate(error, "s3", "complete_multipart_upload", {"InvalidPart": invalid_parts})

    # THEN the error is made from this very ClientError
    assert isinstance(translated, Conflict)
    assert translated.details == {"message": "InvalidPart happened"}


def test_a_named_code_wins_over_the_transient_set(aws):
    # GIVEN an adapter that names a code that is also in TRANSIENT
    busy = Conflict("The adapter knows what this means here.")

    # WHEN it is translated THEN the adapter's meaning wins
    assert aws.translate(client_error("SlowDown"), "s3", "put_object", {"SlowDown": busy}) is busy


@pytest.mark.parametrize("code", ["AccessDenied", "ValidationException", "NoSuchKey", "400", ""])
def test_any_other_code_becomes_a_plain_lectern_error(aws, code):
    # GIVEN a code that is neither named by the adapter nor transient
    error = client_error(code)

    # WHEN it is translated (other codes named, but not this one)
    translated = aws.translate(error, "s3", "get_object", {"SomethingElse": NotFound("no")})

    # THEN it is a LecternError itself (500), not a subclass the API would answer differently
    assert type(translated) is LecternError
    assert translated.status == 500
    assert translated.details == {"operation": "get_object", "code": code}
    assert translated.message == "Storage refused the request."


def test_an_unknown_service_is_named_by_its_id(aws):
    translated = aws.translate(client_error("Boom"), "kinesis", "put_record")
    assert translated.message == "kinesis refused the request."


def test_error_code_of_something_that_is_not_a_client_error_is_empty(aws):
    assert aws.error_code(client_error("SlowDown")) == "SlowDown"
    assert aws.error_code(ValueError("x")) == ""
    assert type(aws.translate(ValueError("x"), "s3", "get_object")) is LecternError


# ---------------------------------------------------------------- translated (the block form)


def test_a_client_error_in_the_block_is_raised_translated_with_its_cause(aws):
    error = client_error("NoSuchKey")
    missing = NotFound("gone")

    # WHEN a block raises a ClientError whose code the caller names
    with pytest.raises(NotFound) as raised:
        with aws.translated("s3", "download_file", {"NoSuchKey": missing}):
            raise error

    # THEN the named error is raised, chained to the botocore error
    assert raised.value is missing
    assert raised.value.__cause__ is error


def test_a_connection_failure_in_the_block_is_transient(aws):
    # WHEN the endpoint cannot be reached
    with pytest.raises(TransientFailure) as raised:
        with aws.translated("sqs", "send_message"):
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    # THEN it is TransientFailure naming the service
    assert raised.value.message == "The queue is unreachable; try again."
    assert raised.value.details == {"operation": "send_message"}


def test_other_exceptions_in_the_block_pass_through_untouched(aws):
    with pytest.raises(KeyError):
        with aws.translated("s3", "get_object"):
            raise KeyError("ours")


# ---------------------------------------------------------------- call, with a real (stubbed) client


def test_call_returns_the_response_of_the_operation(aws, s3):
    client, stubber = s3
    stubber.add_response("head_object", {"ContentLength": 7, "ContentType": "text/plain"}, {"Bucket": "b", "Key": "k"})

    response = aws.call("s3", "head_object", via=client, Bucket="b", Key="k")

    assert response["ContentLength"] == 7


def test_call_translates_a_transient_service_error(aws, s3):
    client, stubber = s3
    # GIVEN S3 answers 503 SlowDown
    stubber.add_client_error("put_object", service_error_code="SlowDown", http_status_code=503)

    # WHEN the operation is called through the seam THEN it is TransientFailure
    with pytest.raises(TransientFailure) as raised:
        aws.call("s3", "put_object", via=client, Bucket="b", Key="k", Body=b"x")
    assert raised.value.details == {"operation": "put_object", "code": "SlowDown"}
    assert isinstance(raised.value.__cause__, ClientError)


def test_call_translates_a_named_service_error(aws, s3):
    client, stubber = s3
    # GIVEN S3 answers HEAD of a missing object with a bare 404
    stubber.add_client_error("head_object", service_error_code="404", http_status_code=404)
    missing = NotFound("The object does not exist.")

    # WHEN the adapter names "404" THEN its NotFound is raised
    with pytest.raises(NotFound) as raised:
        aws.call("s3", "head_object", errors={"404": missing}, via=client, Bucket="b", Key="k")
    assert raised.value is missing


def test_call_translates_an_unnamed_service_error_to_a_plain_lectern_error(aws, s3):
    client, stubber = s3
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)

    with pytest.raises(LecternError) as raised:
        aws.call("s3", "get_object", via=client, Bucket="b", Key="k")
    assert type(raised.value) is LecternError
    assert raised.value.details == {"operation": "get_object", "code": "AccessDenied"}
