"""Where messages come from: files and stdin, a replay of the real Twitter threads, Redis Streams.

Every source speaks the `Source` protocol (batches of `Envelope`s, then `ack`), and none of them
validates: payloads go to `pipeline.ingest.validate.Validator` as they were received.
"""

from pipeline.ingest.sources.base import Envelope, Source
from pipeline.ingest.sources.file import FileSource
from pipeline.ingest.sources.redis_streams import RedisStreamProducer, RedisStreamSource
from pipeline.ingest.sources.replay import ReplaySource

__all__ = ["Envelope", "FileSource", "RedisStreamProducer", "RedisStreamSource", "ReplaySource", "Source"]
