from __future__ import annotations

from pathlib import Path

import pytest

from facecloak.datasets import read_labelled_folder
from facecloak.errors import FacecloakError


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"],
)
def test_a_binary_labels_csv_is_one_line_naming_it(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "labels.csv").write_bytes(content)
    with pytest.raises(FacecloakError, match=r"labels\.csv: not a readable UTF-8 CSV") as info:
        read_labelled_folder(tmp_path)
    assert "\n" not in str(info.value)


def test_a_labels_line_without_identity_is_refused(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("path,identity\na.png\n")
    with pytest.raises(FacecloakError, match="lacks its path or identity"):
        read_labelled_folder(tmp_path)
