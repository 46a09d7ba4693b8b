"""custom_modules.data.download (file:// URLs only: nothing goes online)."""
import pytest

from custom_modules.data.download import download
from custom_modules.common.errors import DataError


def test_download_copies_file_url(tmp_path):
    src = tmp_path / 'src.bin'
    src.write_bytes(b'x' * 3000)
    dest = download(src.as_uri(), tmp_path / 'dl' / 'a.bin')
    assert dest.read_bytes() == b'x' * 3000
    src.write_bytes(b'changed')  # an existing download is reused
    assert download(src.as_uri(), dest).read_bytes() == b'x' * 3000


def test_download_error_is_one_line_with_hint(tmp_path):
    with pytest.raises(DataError) as info:
        download((tmp_path / 'missing.tar.gz').as_uri(), tmp_path / 'o.tar.gz',
                 'pass --archives A B')
    msg = str(info.value)
    assert 'cannot download' in msg and msg.endswith('pass --archives A B')
    assert '\n' not in msg
    assert not list(tmp_path.glob('o.tar.gz*'))
