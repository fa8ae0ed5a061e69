"""Powertools singletons shared by the API and the functions.

Configured by the standard POWERTOOLS_* environment variables (template.yaml Globals;
the local stack disables tracing and metrics output).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "lectern"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace="Lectern")
