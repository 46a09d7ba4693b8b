"""The k-fold summary task: offline without credentials, never fatal."""
import json
import os
import subprocess
import sys
import zipfile

import pytest

from custom_modules.tools.clearml_record import record_task


def test_offline_task_holds_table_values_and_files(tmp_path):
    """In a process of its own, as ``tools/kfold.py`` records its summary
    (a test worker's earlier in-process ClearML tasks are not part of it)."""
    report = tmp_path / 'kfold_results.md'
    report.write_text('# results\n')
    code = (
        'from custom_modules.tools.clearml_record import record_task\n'
        "path = record_task('pets-test', 'x-kfold', tags=['kfold-x'],\n"
        "    tables={'k-fold results': [['model', 'mJaccard'],\n"
        "                               ['ensemble', '80.00']]},\n"
        f"    files={{'kfold_results.md': {str(report)!r}}},\n"
        "    single_values={'ensemble mJaccard': 80.0})\n"
        "print('RETURNED', path)\n")
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, 'CLEARML_OFFLINE_MODE': '1',
                               'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'ClearML offline session' in proc.stdout
    path = proc.stdout.split('RETURNED ', 1)[1].split()[0]
    assert path and path.endswith('.zip')
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
