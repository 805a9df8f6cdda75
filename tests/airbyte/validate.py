"""Validates Airbyte messages (one JSON object per line, in the file named by
the first argument) against the
protocol's published models (airbyte-protocol-models); exits 1 naming the
first line that does not validate, else prints how many of each type."""
import collections
import json
import sys

from airbyte_protocol.models import AirbyteMessage, Type

# The member each message type must carry.
PAYLOAD = {
    Type.SPEC: "spec", Type.CONNECTION_STATUS: "connectionStatus", Type.CATALOG: "catalog",
    Type.RECORD: "record", Type.STATE: "state", Type.LOG: "log", Type.TRACE: "trace",
    Type.CONTROL: "control",
}

counts = collections.Counter()
for number, line in enumerate(open(sys.argv[1]), 1):
    try:
        message = AirbyteMessage.parse_obj(json.loads(line))
        if getattr(message, PAYLOAD[message.type]) is None:
            raise ValueError(f"a {message.type.value} message without `{PAYLOAD[message.type]}`")
        if message.type == Type.STATE and message.state.stream is None:
            raise ValueError("a state without its stream")
        if message.type == Type.TRACE:
            trace = message.trace
            if (trace.error or trace.stream_status) is None:
                raise ValueError("a trace with neither error nor stream_status")
    except Exception as error:  # report any failure with its line
        print(f"line {number} does not validate: {error}\n{line[:500]}", file=sys.stderr)
        sys.exit(1)
    counts[message.type.value] += 1
print(json.dumps(counts))
