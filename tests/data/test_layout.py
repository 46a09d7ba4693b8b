"""custom_modules.data.layout: pairing files and output safety."""
import pytest

from custom_modules.common.errors import DataError
from custom_modules.data.layout import (list_pairs, pair_folders,
                                        present_splits, prepare_output,
                                        refuse_existing_files)


def test_list_pairs_matches_by_stem(make_dataset):
    root = make_dataset()
    listing = list_pairs(root)
    assert [(p.split, p.stem) for p in listing.pairs] == [
        ('train', 'train_000'), ('train', 'train_001'), ('val', 'val_000')]
    assert all(p.image.suffix == '.jpg' and p.mask.suffix == '.png'
               for p in listing.pairs)
    assert present_splits(root) == ['train', 'val']
    assert [p.stem for p in list_pairs(root, splits=['val']).pairs] == \
        ['val_000']


def test_list_pairs_reports_orphans(make_dataset):
    root = make_dataset()
    (root / 'labels' / 'train' / 'train_001.png').unlink()
    (root / 'labels' / 'val' / 'extra.png').write_bytes(b'')
    with pytest.raises(DataError, match=r'train_001\.jpg: image has no mask'):
        list_pairs(root)
    listing = list_pairs(root, strict=False)
    assert [p.name for p in listing.images_without_mask] == ['train_001.jpg']
    assert [p.name for p in listing.masks_without_image] == ['extra.png']
    assert len(listing.pairs) == 2


def test_pair_folders_takes_any_suffixes(tmp_path):
    """The dataset's pairing: folders and suffixes of its config (any case
    of the suffix, compound suffixes), orphans returned, sorted by stem."""
    images, masks = tmp_path / 'photos', tmp_path / 'masks'
    images.mkdir(), masks.mkdir()
    for name in ('b.JPG', 'a.jpg', 'c.jpg', 'notes.txt'):
        (images / name).write_bytes(b'')
    for name in ('a_mask.png', 'b_mask.png', 'd_mask.png', 'a.png'):
        (masks / name).write_bytes(b'')
    listing = pair_folders(images, masks, '.jpg', '_mask.png', split='x')
    assert [(p.split, p.stem, p.image.name, p.mask.name)
            for p in listing.pairs] == [('x', 'a', 'a.jpg', 'a_mask.png'),
                                         ('x', 'b', 'b.JPG', 'b_mask.png')]
    assert [p.name for p in listing.images_without_mask] == ['c.jpg']
    assert [p.name for p in listing.masks_without_image] == ['d_mask.png']
    assert pair_folders(tmp_path / 'none', masks).pairs == []


def test_list_pairs_errors_on_missing_root(tmp_path):
    with pytest.raises(DataError, match='data root not found'):
        list_pairs(tmp_path / 'nope')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match='no img/<split>'):
        list_pairs(tmp_path / 'empty')


def test_prepare_output_refuses_then_overwrites(tmp_path):
    out = tmp_path / 'out'
    (out / 'img' / 'train').mkdir(parents=True)
    (out / 'img' / 'train' / 'a.jpg').write_bytes(b'x')
    (out / 'labels').mkdir()  # empty: not in the way
    with pytest.raises(DataError, match='img already exists; pass '
                       '--overwrite'):
        prepare_output(out, ['img', 'labels'], overwrite=False)
    prepare_output(out, ['img', 'labels'], overwrite=True)
    assert not (out / 'img').exists()


def test_prepare_output_unlinks_symlink_without_touching_target(tmp_path):
    src = tmp_path / 'src' / 'img'
    src.mkdir(parents=True)
    (src / 'keep.jpg').write_bytes(b'x')
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'img').symlink_to(src, target_is_directory=True)
    prepare_output(out, ['img'], overwrite=True)
    assert not (out / 'img').exists() and (src / 'keep.jpg').exists()


def test_refuse_existing_files(tmp_path):
    f = tmp_path / 'a.png'
    refuse_existing_files([f], overwrite=False)
    f.write_bytes(b'')
    with pytest.raises(DataError, match=r'a\.png already exists'):
        refuse_existing_files([f], overwrite=False)
    refuse_existing_files([f], overwrite=True)
