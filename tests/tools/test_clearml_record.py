"""The k-fold summary task: offline without credentials, never fatal."""
import json
import zipfile

import pytest

from custom_modules.tools.clearml_record import record_task


def test_offline_task_holds_table_values_and_files(tmp_path, monkeypatch,
                                                   capsys):
    monkeypatch.setenv('CLEARML_OFFLINE_MODE', '1')
    report = tmp_path / 'kfold_results.md'
    report.write_text('# results\n')
    path = record_task('pets-test', 'x-kfold', tags=['kfold-x'],
                       tables={'k-fold results': [['model', 'mJaccard'],
                                                  ['ensemble', '80.00']]},
                       files={'kfold_results.md': str(report)},
                       single_values={'ensemble mJaccard': 80.0})
    assert path and path.endswith('.zip')
    assert 'ClearML offline session' in capsys.readouterr().out
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        events = [e for row in z.read('metrics.jsonl').decode().splitlines()
                  for e in json.loads(row)]
        task = json.loads(z.read('task.json'))
    assert any(n.endswith('kfold_results.md') for n in names)
    assert 'kfold-x' in task.get('tags', [])
    assert any(e.get('variant') == 'ensemble mJaccard' and e['value'] == 80.0
               for e in events)
    assert any(e['type'] == 'training_stats_vector' or 'plot_str' in e
               for e in events)  # the table is a plot event


def test_a_clearml_failure_is_one_warning(monkeypatch):
    import clearml
    monkeypatch.setenv('CLEARML_OFFLINE_MODE', '1')

    def broken(*args, **kwargs):
        raise RuntimeError('server on fire')

    monkeypatch.setattr(clearml.Task, 'init', broken)
    with pytest.warns(UserWarning, match='server on fire'):
        assert record_task('p', 'n') is None
