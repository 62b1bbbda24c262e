"""What `StoreWriteError` (streams/kafka/seam/faust_batch_writes.py) rests on: rocksdict raises a
bare `Exception("IO error: …")` when RocksDB cannot append to its log, and after that the store
refuses every write until it is reopened, so the fold loop stops the worker instead of retrying.
Fails loudly if a rocksdict or RocksDB upgrade changes either.

The failure is real: the file-size limit (RLIMIT_FSIZE) of a child process that holds the store;
Python ignores SIGXFSZ, so a write past the limit fails with EFBIG. The child writes only to a pipe.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.unit

CHILD = """
import resource, sys
import orjson
from rocksdict import Options, Rdict, WriteBatch

def write(db, key):
    batch = WriteBatch(raw_mode=True)
    batch.put(key, b"v" * 1000)
    try:
        db.write(batch)
        return None
    except Exception as exc:
        return [type(exc).__module__, type(exc).__qualname__, str(exc)]

path = sys.argv[1]
db = Rdict(path, options=Options(raw_mode=True))
seen = {"before": write(db, b"a")}
resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
seen["limited"] = write(db, b"b")
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
seen["lifted"] = write(db, b"c")
try:
    db.close()
except Exception:
    pass  # the close flushes the log, which refuses too
del db
reopened = Rdict(path, options=Options(raw_mode=True))
seen["reopened"] = write(reopened, b"d")
seen["kept"] = [k.decode() for k in (b"a", b"b", b"c", b"d") if reopened.get(k) is not None]
reopened.close()
print(orjson.dumps(seen).decode())
"""


def test_a_refused_rocksdb_write_raises_a_bare_io_error_and_the_store_stays_refused_until_reopened(
        tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "db")], capture_output=True, timeout=60,
                          check=True)
    seen = orjson.loads(done.stdout)
    assert seen["before"] is None
    module, name, text = seen["limited"]
    assert (module, name) == ("builtins", "Exception") and text.startswith("IO error:") and "File too large" in text
    assert seen["lifted"] is not None and seen["lifted"][2].startswith("IO error:")  # no retry can land
    assert seen["reopened"] is None  # a restarted worker can
    assert seen["kept"] == ["a", "d"]
