"""Getting messages in: reading sources, validating them against the Message contract, redacting
personal data before anything is logged.

`sources` deliver raw payloads in batches (files, stdin, a replay of the real Twitter threads,
Redis Streams), `validate.Validator` turns each into a `Message` or a `Rejection`,
`deadletter.DeadLetterStore` keeps the rejections, and `pii.redact` guards every log line.
"""
