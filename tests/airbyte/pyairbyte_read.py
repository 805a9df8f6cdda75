"""PyAirbyte runs connector-host as a local executable: check, all streams
read into a DuckDB cache; prints the records read and the cache's counts."""
import json
import sys

import airbyte as ab
from airbyte.caches import DuckDBCache

config_file, executable, cache_file = sys.argv[1:4]
source = ab.get_source(
    "source-connector-host", config=json.load(open(config_file)), local_executable=executable
)
source.check()
source.select_all_streams()
# "append": PyAirbyte 0.12's merge does not quote a column named `at`
# (the change records' time) in DuckDB's UPDATE.
result = source.read(cache=DuckDBCache(db_path=cache_file), write_strategy="append")
counts = {name: len(dataset) for name, dataset in result.streams.items()}
# A chat transcript is one message per line, keyed `{comment id}-{line}`.
comments = result["message"].to_pandas()["id"].str.split("-").str[0].nunique()
print(json.dumps({"processed": result.processed_records, "counts": counts, "comments": comments}))
