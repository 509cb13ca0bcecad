"""Gated delta rule: reference recurrence, chunked (WY/UT) form, single-token step."""

from biodyn.ops.gated_delta.chunk import gated_delta_rule_chunked
from biodyn.ops.gated_delta.reference import gated_delta_rule_reference
from biodyn.ops.gated_delta.step import gated_delta_rule_step

__all__ = ["gated_delta_rule_chunked", "gated_delta_rule_reference", "gated_delta_rule_step"]
