#!/usr/bin/env python3
"""Seed tarballs for fuzz_untar, written into the folder given (tests/fuzz/run.sh).

Small on purpose (libFuzzer mutates every byte): a plain source folder in each tar format,
compressed once, and the hostile shapes an extractor must refuse or contain: "..", absolute
paths, links that climb out directly or through a chain of links ("l -> ." then
"s -> l/l/l/../../.."), a hard link that moves a link to another depth, a link without a
target, devices, set-uid bits.  Generated rather than committed: Python's tarfile writes
any name it is given.
"""
import gzip
import io
import os
import sys
import tarfile

FILE, DIR, SYM, LINK, FIFO, CHR = "file", "dir", "sym", "link", "fifo", "chr"


def tarball(entries, fmt=tarfile.GNU_FORMAT):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for kind, name, arg, *mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            info.mode = mode[0] if mode else (0o755 if kind == DIR else 0o644)
            data = None
            if kind == FILE:
                data = arg.encode()
                info.size = len(data)
            elif kind == DIR:
                info.type = tarfile.DIRTYPE
            elif kind == SYM:
                info.type, info.linkname = tarfile.SYMTYPE, arg
            elif kind == LINK:
                info.type, info.linkname = tarfile.LNKTYPE, arg
            elif kind == FIFO:
                info.type = tarfile.FIFOTYPE
            elif kind == CHR:
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    # tarfile pads to 10 KiB; the end-of-archive blocks are all a reader needs
    raw = out.getvalue().rstrip(b"\0")
    return raw + bytes(-len(raw) % 512 + 1024)


SOURCE = [
    (FILE, "train.py", "print(1)\n"),
    (DIR, "pkg", None),
    (FILE, "pkg/mod.py", "x = 1\n"),
    (SYM, "latest", "pkg/mod.py"),
    (SYM, "pkg/up", "../train.py"),  # up, but not out
    (LINK, "pkg/again.py", "pkg/mod.py"),
]

SEEDS = {
    "source-gnu.tar": (SOURCE, tarfile.GNU_FORMAT),
    "source-ustar.tar": (SOURCE, tarfile.USTAR_FORMAT),
    "source-pax.tar": (SOURCE + [(FILE, "d" * 120 + "/" + "n" * 120, "long")],
                       tarfile.PAX_FORMAT),
    "dotdot.tar": ([(FILE, "../evil", "x")], tarfile.GNU_FORMAT),
    "dotdot-inner.tar": ([(DIR, "a", None), (FILE, "a/../../evil", "x")], tarfile.GNU_FORMAT),
    "absolute.tar": ([(FILE, "/tmp/sagerun-fuzz-evil", "x")], tarfile.GNU_FORMAT),
    "link-absolute.tar": ([(SYM, "link", "/tmp"), (FILE, "link/evil", "x")],
                          tarfile.GNU_FORMAT),
    "link-up.tar": ([(SYM, "up", ".."), (FILE, "up/evil", "x")], tarfile.GNU_FORMAT),
    "link-deep-up.tar": ([(DIR, "a", None), (SYM, "a/b", "../../outside"),
                          (FILE, "a/b/evil", "x")], tarfile.GNU_FORMAT),
    # each link alone stays inside by its text; l/l/l is "." three times over
    "link-chain.tar": ([(SYM, "l", "."), (SYM, "s", "l/l/l/../../.."), (FILE, "s/evil", "x")],
                       tarfile.GNU_FORMAT),
    "link-chain-later.tar": ([(SYM, "s", "l/l/../.."), (SYM, "l", ".")], tarfile.GNU_FORMAT),
    "link-chain-deep.tar": ([(DIR, "d", None), (SYM, "d/e", ".."), (SYM, "d/s", "e/../x")],
                            tarfile.GNU_FORMAT),
    # fine at a/b/s; the same link at the top climbs out
    "hardlink-moves-link.tar": ([(DIR, "a", None), (DIR, "a/b", None),
                                 (SYM, "a/b/s", "../../x"), (LINK, "h", "a/b/s")],
                                tarfile.GNU_FORMAT),
    "hardlink-out.tar": ([(LINK, "h", "../../etc/passwd")], tarfile.GNU_FORMAT),
    "devices.tar": ([(FIFO, "fifo", None), (CHR, "null", None)], tarfile.GNU_FORMAT),
    # libarchive makes a plain file of it, with the link's mode
    "link-no-target.tar": ([(SYM, "nolink", "", 0o4755)], tarfile.GNU_FORMAT),
    "setuid.tar": ([(FILE, "suid", "#!/bin/sh\n", 0o6755), (DIR, "sticky", None, 0o1777),
                    (DIR, "closed", None, 0o000), (FILE, "closed/f", "x")], tarfile.GNU_FORMAT),
    "replace.tar": ([(FILE, "x", "1"), (DIR, "x", None), (SYM, "y", "x"), (FILE, "y", "2"),
                     (DIR, "z", None), (SYM, "z", ".")], tarfile.GNU_FORMAT),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (entries, fmt) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(tarball(entries, fmt))
    with open(os.path.join(out, "source.tar.gz"), "wb") as f:
        f.write(gzip.compress(tarball(SOURCE), mtime=0))


if __name__ == "__main__":
    main()
