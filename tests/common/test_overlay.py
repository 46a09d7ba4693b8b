"""The errors panel gives this dataset's main error, cat <-> dog, its own
colours, distinct from other errors (red) and ignored pixels (grey), and
every legend with the errors panel names them."""
import numpy as np

from custom_modules.common import overlay, worst

MAGENTA, YELLOW = (255, 0, 255), (255, 255, 0)
RED, GREY = (255, 0, 0), (128, 128, 128)

# one pixel per case; classes background 0, cat 1, dog 2
GT = np.array([[1, 2, 0, 0, 1, 255, 2]], np.uint8)
PRED = np.array([[2, 1, 1, 2, 0, 1, 2]], np.uint8)
#           cat as dog, dog as cat, bg as cat, bg as dog, cat as bg,
#           ignored, right


def test_error_map_paints_cat_dog_confusions_in_their_own_colours():
    errors = overlay.error_map(GT, PRED)
    assert [tuple(int(c) for c in px) for px in errors[0]] == [
        MAGENTA, YELLOW, RED, RED, RED, GREY, (0, 0, 0)]
    # on a photo: the same colours, correct pixels show the dark photo
    photo = np.full(GT.shape + (3,), 100, np.uint8)
    on_photo = overlay.error_map(GT, PRED, photo)
    assert tuple(on_photo[0, 0]) == MAGENTA and tuple(on_photo[0, 2]) == RED
    assert tuple(on_photo[0, 6]) == (35, 35, 35)


def test_confusion_class_ids_come_from_the_class_list():
    swapped = ('background', 'dog', 'cat')  # id 1 is dog here
    errors = overlay.error_map(GT, PRED, classes=swapped)
    assert tuple(errors[0, 0]) == YELLOW  # true 1 = dog, predicted cat
    assert tuple(errors[0, 1]) == MAGENTA
    # no cat/dog classes: every error is plain red, no extra legend entry
    other = ('background', 'car', 'bus')
    assert tuple(overlay.error_map(GT, PRED, classes=other)[0, 0]) == RED
    assert [n for n, _ in overlay.legend_entries(True, other)][3:] == [
        'error', 'ignored']


def test_legend_lists_the_confusion_colours():
    names = dict(overlay.legend_entries(errors=True))
    assert names['cat as dog'] == MAGENTA and names['dog as cat'] == YELLOW
    assert names['error'] == RED and names['ignored'] == GREY
    assert dict(overlay.ERROR_COLOURS)['cat as dog'] == MAGENTA
    assert 'cat as dog' not in dict(overlay.legend_entries(errors=False))
    # all swatch colours differ: classes, errors, confusions, ignored
    colours = list(names.values())
    assert len(set(colours)) == len(colours)


def test_worst_grid_shows_the_confusion_colour_and_its_legend():
    image = np.full((48, 64, 3), 120, np.uint8)
    gt = np.zeros((48, 64), np.uint8)
    gt[:, :32] = 1
    pred = gt.copy()
    pred[24:, :32] = 2  # cat taken for dog
    pred[:24, 32:] = 1  # background taken for cat
    grid = worst.worst_grid([(image, gt, pred, 'a #1 J=0.40')])
    errors = grid[:48, 3 * 64:]
    assert (errors[30:, 8:32] == MAGENTA).all()
    assert (errors[16:24, 40:] == RED).all()  # below the title
    strip = grid[48:]
    assert np.array_equal(strip, overlay.legend_strip(
        grid.shape[1], overlay.legend_entries(errors=True)))
    assert (strip == MAGENTA).all(-1).sum() >= 8 * 8  # its swatch
