"""Download a file over HTTP(S) (or ``file://``) with a progress bar."""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from ..common.errors import DataError
from .progress import byte_progress

CHUNK = 1 << 20


def download(url: str, dest: str | Path, offline_hint: str = '',
             timeout: float = 60) -> Path:
    """Fetch ``url`` to ``dest`` unless ``dest`` already exists.

    Writes to ``dest.part`` first and renames when complete, so an
    interrupted download is never mistaken for a finished one. Network
    errors become a one-line :class:`DataError` ending with
    ``offline_hint`` (the fix to print, e.g. "pass --archives ...").
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + '.part')
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, \
                open(part, 'wb') as fh:
            total = int(resp.headers.get('Content-Length') or 0) or None
            with byte_progress(f'download {dest.name}', total) as advance:
                while chunk := resp.read(CHUNK):
                    fh.write(chunk)
                    advance(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, 'reason', None) or exc
        raise DataError(f'cannot download {url} ({reason})'
                        + (f'; {offline_hint}' if offline_hint else '')) \
            from None
    os.replace(part, dest)
    return dest
