"""Issue 20 item 12: on a full disk no ``.tmp-`` file is left behind.

ENOSPC hits the flush of the atomic writer, then again the close of its error path (the
buffered bytes still cannot be written); the temporary was never removed because the
second error jumped over the delete. Here the file object is io's own BufferedWriter over
a raw file whose every write fails with ENOSPC: the same two errors a full disk gives.
"""

from __future__ import annotations

import errno
import io

import pytest

import dalpsr_data.atomic
import dalpsr_data.build.outdir
from dalpsr_data.atomic import TMP_PREFIX, write_bytes_atomic, write_json_atomic
from dalpsr_data.build.outdir import prepare_out_dir
from dalpsr_data.config_io import ConfigError


class FullDisk(io.FileIO):
    def write(self, b):  # noqa: D401 - what the kernel answers on a full file system
        raise OSError(errno.ENOSPC, "No space left on device")


def full_disk_open(path, mode="r", encoding=None, **kw):
    if "w" not in mode:  # reading still works on a full disk
        return open(path, mode, encoding=encoding, **kw)
    raw = FullDisk(path, "w")
    buffered = io.BufferedWriter(raw)
    return buffered if "b" in mode else io.TextIOWrapper(buffered, encoding=encoding)


def test_the_writer_whose_close_fails_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("the old complete report\n")
    monkeypatch.setattr(dalpsr_data.atomic, "open", full_disk_open, raising=False)
    # Independent check that the double failure happens: io's own close raises ENOSPC again.
    f = full_disk_open(tmp_path / "probe", "wb")
    f.write(b"x")
    with pytest.raises(OSError):
        f.flush()
    with pytest.raises(OSError):
        f.close()
    (tmp_path / "probe").unlink()

    for write in (lambda: write_bytes_atomic(target, b"x" * 100),
                  lambda: write_json_atomic(target, {"a": 1})):
        with pytest.raises(OSError) as e:
            write()
        assert e.value.errno == errno.ENOSPC
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # was: + .tmp-report.json.<pid>
        assert target.read_text() == "the old complete report\n"


def test_a_rerun_on_a_still_full_disk_removes_the_partial_files(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    partial = out / f"{TMP_PREFIX}shard-000003.tar.4242"
    partial.write_bytes(b"\0" * 1000)
    (out / "build.json").write_text('{"plan_hash": "h", "output_config": {}}')  # a build's folder
    (out / "notes.txt").write_text("mine")  # not ours: stays
    monkeypatch.setattr(dalpsr_data.build.outdir, "open", full_disk_open, raising=False)
    with pytest.raises(ConfigError, match="is not writable"):
        prepare_out_dir(out, overwrite=False)
    assert sorted(p.name for p in out.iterdir()) == ["build.json", "notes.txt"]  # was: the partial shard stayed
