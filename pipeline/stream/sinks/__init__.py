"""Where flags go besides the case: a Redis Stream for contact-centre queues, an outbound webhook."""

from pipeline.stream.sinks.flags import FlagStreamSink
from pipeline.stream.sinks.webhook import WebhookFailure, WebhookSink

__all__ = ["FlagStreamSink", "WebhookFailure", "WebhookSink"]
