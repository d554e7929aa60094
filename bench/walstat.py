#!/usr/bin/env python3
"""Which tables and indexes a store's commits write: the pages in a SQLite WAL, by b-tree.

    bench/walstat.py STORE.db STORE.db-wal

Take the two files while the daemon is stopped mid-load (kill -STOP, cp both, kill -CONT), so
they agree. Reads every frame of the WAL's current generation (its salts), maps each frame's
page to the b-tree that owns it (SQLite's dbstat, on a copy of the pair), and prints the count
and share per b-tree, largest first, after the frames and commits counted.
"""
import collections
import shutil
import sqlite3
import struct
import sys
import tempfile
import os


def frames(wal_path):
    """(page number, commit size) of each frame of the WAL's current generation."""
    data = open(wal_path, "rb").read()
    _magic, _version, page_size, _ckpt, salt1, salt2, _c1, _c2 = struct.unpack(">8I", data[:32])
    out, off = [], 32
    while off + 24 + page_size <= len(data):
        page, commit, s1, s2 = struct.unpack(">4I", data[off:off + 16])
        if (s1, s2) != (salt1, salt2):
            break
        out.append((page, commit))
        off += 24 + page_size
    return out, page_size


def owners(db_path, wal_path):
    """Page number -> the table or index it belongs to, read from a copy of the pair."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "copy.db")
        shutil.copy(db_path, copy)
        shutil.copy(wal_path, copy + "-wal")
        con = sqlite3.connect(copy)
        return dict((pageno, name) for name, pageno in con.execute("SELECT name, pageno FROM dbstat"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    db_path, wal_path = sys.argv[1], sys.argv[2]
    found, page_size = frames(wal_path)
    if not found:
        sys.exit("no frames in the WAL's current generation")
    owner = owners(db_path, wal_path)
    counts = collections.Counter(owner.get(page, "?") for page, _ in found)
    commits = sum(1 for _, commit in found if commit)
    print(f"frames {len(found)}, commits {commits}, page size {page_size}")
    for name, n in counts.most_common():
        print(f"{n:7d} {100 * n / len(found):5.1f}% {name}")


if __name__ == "__main__":
    main()
