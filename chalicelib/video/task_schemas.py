"""Inputs of the video pipeline's Step Functions tasks: the ASL's Parameters, validated.

infra/statemachines/video_pipeline.asl.json builds each Task's input; a field it does not
send is an error here, so the definition and the handlers cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PipelineTask(BaseModel):
    """What every task gets: the video and the attempt (execution) it works for."""

    model_config = ConfigDict(extra="forbid")

    video_id: str = Field(min_length=1, max_length=100)
    attempt: int = Field(ge=1)


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)


class ProbeTask(PipelineTask):
    source: Source


class PlanTask(ProbeTask):
    probe: dict[str, Any]


class MediaTask(ProbeTask):
    """EncodeAudio, MakeThumbnails and Finalize: the original and the plan."""

    plan_key: str


class SegmentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    start: float = Field(ge=0)
    duration: float = Field(gt=0)


class EncodeSegmentTask(MediaTask):
    segment: SegmentRef


class PackageRungTask(PipelineTask):
    plan_key: str
    rung: str
    publish: bool = False


class MarkFailedTask(PipelineTask):
    step: str
    # Catch's ResultPath: {"Error": ..., "Cause": ...}
    error: dict[str, Any] = Field(default_factory=dict)
