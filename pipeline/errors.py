"""One catalogue of errors, each saying what was wrong and how to fix it (after spaCy's errors.py)."""

from __future__ import annotations

from pathlib import Path


class EarlywarnError(Exception):
    """Base of every error earlywarn raises on purpose; the CLI prints these without a traceback."""

    code = "E000"

    def __str__(self) -> str:
        return f"[{self.code}] {super().__str__()}"


class DataNotFoundError(EarlywarnError):
    code = "E001"

    def __init__(self, path: Path, dataset: str) -> None:
        super().__init__(
            f"{dataset} not found at {path}. Set EARLYWARN_DATA_DIR to the folder holding the public "
            f"releases, or download them with `python scripts/fetch_data.py --dest DIR`."
        )


class ModelNotTrainedError(EarlywarnError):
    code = "E002"

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(
            f"no trained '{name}' model at {path}. Train it with `earlywarn train --model {name}`, "
            f"or point EARLYWARN_MODELS_DIR at the folder that holds it."
        )


class UnknownModelError(EarlywarnError):
    code = "E003"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown model '{name}': choose one of {', '.join(known)}.")


class RecordError(EarlywarnError):
    """A single input record that cannot be scored; the rest of the input still is."""

    code = "E004"

    def __init__(self, line: int, field: str, reason: str) -> None:
        self.line, self.field, self.reason = line, field, reason
        super().__init__(f"line {line}: field '{field}': {reason}")

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


class InputFormatError(EarlywarnError):
    code = "E005"

    def __init__(self, path: Path) -> None:
        super().__init__(f"cannot tell the format of {path}: give it a .jsonl or .csv extension.")


class ChecksumMismatchError(EarlywarnError):
    code = "E006"

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"{path} has sha256 {actual}, expected {expected}: the download is corrupt or the release "
            f"changed. Delete the file and fetch it again."
        )


class DatasetFormatError(EarlywarnError, ValueError):
    """A release file is there but not in the shape its loader expects (wrong release or corrupt)."""

    code = "E007"

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(
            f"{where}: {reason}. The file is not the documented release: check it with "
            f"`python scripts/fetch_data.py --verify DIR` and fetch it again if it fails."
        )


class DownloadError(EarlywarnError):
    code = "E008"

    def __init__(self, url: str, reason: object) -> None:
        super().__init__(
            f"could not download {url}: {reason}. Check the network (or proxy settings), or fetch the "
            f"file by hand and check it with `python scripts/fetch_data.py --verify DIR`."
        )
