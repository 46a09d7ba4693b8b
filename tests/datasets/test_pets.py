"""PetsDataset: layout, labels switch, unmatched files."""
import shutil

import pytest

from custom_modules.datasets import DatasetError, PetsDataset


def _dataset(root, **kw):
    return PetsDataset(data_root=str(root), pipeline=[], **kw)


def test_lists_pairs_in_sorted_order(tiny_pets):
    ds = _dataset(tiny_pets, split='train')
    assert len(ds) == 8
    first = ds.get_data_info(0)
    assert first['img_path'].endswith('img/train/train_000.jpg')
    assert first['seg_map_path'].endswith('labels/train/train_000.png')
    assert ds.image_stems == [f'train_{i:03d}' for i in range(8)]
    assert ds.metainfo['classes'] == ('background', 'cat', 'dog')
    assert len(_dataset(tiny_pets, split='train', indices=3)) == 3


def test_labels_folder_is_a_parameter(tiny_pets, tmp_path):
    root = tmp_path / 'ds'
    shutil.copytree(tiny_pets, root)
    shutil.copytree(root / 'labels', root / 'labels_fixed')
    ds = _dataset(root, split='val', labels='labels_fixed')
    assert '/labels_fixed/val/' in ds.get_data_info(0)['seg_map_path']


def test_real_data_split_sizes(real_pets_root):
    assert len(_dataset(real_pets_root, split='train')) == 198
    assert len(_dataset(real_pets_root, split='val',
                        labels='labels_fixed')) == 120


@pytest.mark.parametrize('remove,message', [
    ('labels/val/val_001.png', 'image has no mask'),
    ('img/val/val_002.jpg', 'mask has no image'),
])
def test_unmatched_file_is_named(tiny_pets, tmp_path, remove, message):
    root = tmp_path / 'ds'
    shutil.copytree(tiny_pets, root)
    (root / remove).unlink()
    with pytest.raises(DatasetError, match=message) as err:
        _dataset(root, split='val')
    other = 'val_001' if 'labels' in remove else 'val_002'
    assert other in str(err.value)


def test_every_unmatched_file_is_counted(tiny_pets, tmp_path):
    """Two val images without masks: the first is named, the second
    counted, with the command that lists them all."""
    root = tmp_path / 'ds'
    shutil.copytree(tiny_pets, root)
    for stem in ('val_001', 'val_002'):
        (root / 'labels' / 'val' / f'{stem}.png').unlink()
    with pytest.raises(DatasetError, match=r'val_001.jpg: image has no mask '
                       r'.*\(and 1 more; `python tools/check_dataset.py'):
        _dataset(root, split='val')


def test_missing_and_empty_folders(tmp_path, tiny_pets):
    with pytest.raises(DatasetError, match='image folder not found'):
        _dataset(tmp_path / 'nowhere', split='train')
    with pytest.raises(DatasetError, match='mask folder not found'):
        _dataset(tiny_pets, split='train', labels='labels_fixed')
    (tmp_path / 'empty' / 'img' / 'train').mkdir(parents=True)
    with pytest.raises(DatasetError, match='no \\*.jpg images'):
        _dataset(tmp_path / 'empty', split='train')
