"""custom_modules.data.oxford with tiny archives made here (no download)."""
import numpy as np
import pytest

from custom_modules.data import oxford
from custom_modules.common.errors import DataError
from custom_modules.data.layout import list_pairs
from custom_modules.data.masks import jpeg_components, read_mask
from custom_modules.data.oxford import (parse_list, prepare_oxford,
                                        trimap_to_mask)


def test_parse_list_and_trimap_mapping():
    assert parse_list('# c\nA_1 1 1 1\nb_1 2 2 1\n') == {'A_1': 1, 'b_1': 2}
    with pytest.raises(DataError, match='list.txt line 1'):
        parse_list('A_1 1 3 1')
    m = trimap_to_mask(np.array([[1, 2, 3, 0]], np.uint8), species=2)
    assert m.tolist() == [[2, 0, 255, 255]]


def test_prepare_oxford_from_archives(tmp_path, oxford_archives):
    img, ann = oxford_archives
    out = tmp_path / 'pets'
    # archives in either order
    result = prepare_oxford(out, [ann, img], size=32, val_fraction=0.25,
                            seed=0)
    skipped = result.pop('skipped')
    assert set(skipped) == {'pug_2', 'notlisted_1'}
    assert result == {'train': 4, 'val': 1, 'test': 2}
    pairs = list_pairs(out).pairs
    by_split = {s: sorted(p.stem for p in pairs if p.split == s)
                for s in ('train', 'val', 'test')}
    assert by_split['test'] == ['Bengal_1', 'beagle_3']   # official test kept
    assert 'pug_2' not in by_split['train'] + by_split['val']
    for p in pairs:
        assert jpeg_components(p.image.read_bytes()) == 3
        m = read_mask(p.mask)
        assert m.shape == (32, 32)
        species = 1 if p.stem[0].isupper() else 2
        assert set(np.unique(m)) == {0, species, 255}
    # same seed, same split
    again = prepare_oxford(tmp_path / 'b', [img, ann], size=32,
                           val_fraction=0.25, seed=0)
    again.pop('skipped')
    assert sorted(p.stem for p in list_pairs(tmp_path / 'b').pairs
                  if p.split == 'val') == by_split['val']


def test_prepare_oxford_keeps_size_with_zero(tmp_path, oxford_archives,
                                            oxford_trimap):
    prepare_oxford(tmp_path / 'o', list(oxford_archives), size=0)
    m = read_mask(tmp_path / 'o' / 'labels' / 'test' / 'Bengal_1.png')
    np.testing.assert_array_equal(m, trimap_to_mask(oxford_trimap, 1))


def test_prepare_oxford_refuses_existing_output(tmp_path, oxford_archives):
    prepare_oxford(tmp_path / 'o', list(oxford_archives), size=16)
    with pytest.raises(DataError, match='already exists; pass --overwrite'):
        prepare_oxford(tmp_path / 'o', list(oxford_archives), size=16)
    prepare_oxford(tmp_path / 'o', list(oxford_archives), size=16,
                   overwrite=True)


def test_bad_archives(tmp_path, oxford_archives):
    img, ann = oxford_archives
    with pytest.raises(DataError, match='need both'):
        prepare_oxford(tmp_path / 'o', [img, img])
    junk = tmp_path / 'junk.tar.gz'
    junk.write_bytes(b'nope')
    with pytest.raises(DataError, match='junk.tar.gz: not a readable tar'):
        prepare_oxford(tmp_path / 'o', [junk, ann])


def test_offline_download_names_archives_option(tmp_path, monkeypatch):
    monkeypatch.setattr(oxford, 'IMAGES_URL',
                        (tmp_path / 'offline' / 'images.tar.gz').as_uri())
    with pytest.raises(DataError) as info:
        prepare_oxford(tmp_path / 'o', None, download_dir=tmp_path / 'dl')
    assert 'cannot download' in str(info.value)
    assert '--archives IMAGES.tar.gz ANNOTATIONS.tar.gz' in str(info.value)
