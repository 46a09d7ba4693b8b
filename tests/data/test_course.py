"""custom_modules.data.course: validate and link/copy a course folder."""
import numpy as np
import pytest

from custom_modules.data.course import import_course
from custom_modules.common.errors import DataError
from custom_modules.data.layout import list_pairs


@pytest.fixture
def course(make_dataset, synth):
    root = make_dataset('course')
    for split, n in (('train', 2), ('val', 1)):
        for i in range(n):
            synth.write_pair(root, split, f'{split}_{i:03d}',
                             synth.disk_mask(disks=((2, (30, 30), 9),)),
                             'labels_fixed')
    return root


def test_link_mode(tmp_path, course):
    out = tmp_path / 'data' / 'pets'
    assert import_course(course, out) == {'labels': 3, 'labels_fixed': 3}
    for name in ('img', 'labels', 'labels_fixed'):
        assert (out / name).is_symlink()
        assert (out / name).resolve() == (course / name).resolve()
    assert [p.stem for p in list_pairs(out, 'labels_fixed').pairs] == \
        ['train_000', 'train_001', 'val_000']
    with pytest.raises(DataError, match='already exists; pass --overwrite'):
        import_course(course, out)
    import_course(course, out, overwrite=True)   # unlinks, source intact
    assert len(list(course.glob('*/*/*'))) == 9


def test_copy_mode(tmp_path, course):
    out = tmp_path / 'pets'
    import_course(course, out, mode='copy')
    assert not (out / 'img').is_symlink()
    pairs = list_pairs(out).pairs
    assert len(pairs) == 3
    for p in pairs:
        assert p.image.read_bytes() == (course / 'img' / p.split /
                                        p.image.name).read_bytes()
        assert p.mask.read_bytes() == (course / 'labels' / p.split /
                                       p.mask.name).read_bytes()


def test_validation_names_the_bad_file(tmp_path, course, synth):
    synth.write_pair(course, 'val', 'bad', np.full((64, 64), 7, np.uint8),
                     'labels_fixed')
    (course / 'labels' / 'val' / 'bad.png').write_bytes(
        (course / 'labels' / 'val' / 'val_000.png').read_bytes())
    with pytest.raises(DataError, match=r'labels_fixed/val/bad\.png: '
                       r'bad_values .*1 problem\(s\) in labels_fixed/'):
        import_course(course, tmp_path / 'out')
    assert not (tmp_path / 'out').exists()


def test_missing_labels_and_out_inside_src(tmp_path, course):
    with pytest.raises(DataError, match='output is inside the source'):
        import_course(course, course / 'pets')
    (tmp_path / 'x' / 'img').mkdir(parents=True)
    with pytest.raises(DataError, match='no labels/ folder'):
        import_course(tmp_path / 'x', tmp_path / 'out')
    with pytest.raises(DataError, match='no img/ folder'):
        import_course(tmp_path / 'x' / 'img', tmp_path / 'out')
