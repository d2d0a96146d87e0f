"""The mmcv-lite shim: mmseg imports, missing compiled ops fail only when called, a real mmcv is left alone."""
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO


def _python(code: str) -> subprocess.CompletedProcess:
    """A fresh interpreter: the shim acts on ``sys.modules``, which this test process has already set up."""
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_mmseg_imports_and_a_compiled_op_fails_only_when_called():
    import torch

    from tasks.mmcv_shim import compiled_ops_available, install_mmcv_shim
    assert install_mmcv_shim()
    import mmseg.models  # noqa: F401  (fails with "No module named 'mmcv._ext'" without the shim)
    from mmcv.ops import nms
    from mmcv.utils import ext_loader

    assert not compiled_ops_available() and not ext_loader.check_ops_exist()
    with pytest.raises(NotImplementedError, match="mmcv op 'nms' needs mmcv's compiled extensions"):
        nms(torch.zeros(1, 4), torch.zeros(1), 0.5)


def test_shim_is_installed_before_mmseg_by_the_segmentation_package():
    """conftest registers every module, so ``tasks.segmentation`` (hence mmseg) was imported without error."""
    import sys

    from tasks.mmcv_shim import StandInExtension
    assert isinstance(sys.modules['mmcv._ext'], StandInExtension) and 'mmseg.models' in sys.modules


def test_a_real_compiled_mmcv_is_left_alone(tmp_path):
    """With a real ``mmcv/_ext`` importable, nothing is registered and the real module is what mmcv loads."""
    (tmp_path / '_ext.py').write_text('REAL = True\n')
    result = _python(f"""
        import mmcv, sys
        mmcv.__path__.append({str(tmp_path)!r})
        from tasks.mmcv_shim import compiled_ops_available, install_mmcv_shim
        assert compiled_ops_available()
        assert install_mmcv_shim() is False and 'mmcv._ext' not in sys.modules
        from mmcv.utils import ext_loader
        assert ext_loader.load_ext('_ext', []).REAL
    """)
    assert result.returncode == 0, result.stderr
