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

    def __init__(self, path: Path, dataset: str, hint: str | None = None) -> None:
        how = hint or ("set EARLYWARN_DATA_DIR to the folder holding the public releases, or download them "
                       "with `python scripts/fetch_data.py --dest DIR`")
        super().__init__(f"{dataset} not found at {path}. {how[0].upper()}{how[1:]}.")


class ModelNotTrainedError(EarlywarnError):
    code = "E002"

    def __init__(self, name: str, path: Path, hint: str | None = None) -> None:
        how = hint or f"train it with `earlywarn train --model {name}`"
        super().__init__(
            f"no trained '{name}' model at {path}. {how[0].upper()}{how[1:]}, "
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


class ConfigError(EarlywarnError):
    code = "E009"

    def __init__(self, where: Path | str, reason: str) -> None:
        super().__init__(f"{where}: {reason}. Fix it, or unset the variable that sets it to use the default.")


class ParamsError(EarlywarnError, ValueError):
    """params.yaml (the training hyperparameters DVC tracks) holds a key or value training cannot use."""

    code = "E019"

    def __init__(self, path: Path, key: str, reason: str, fix: str) -> None:
        super().__init__(f"{path}: '{key}' {reason}. {fix[0].upper()}{fix[1:]}.")


class AnnotationError(EarlywarnError, ValueError):
    """The labels file does not fit the data folder: a row is malformed, or its text is gone or changed."""

    code = "E017"

    def __init__(self, path: Path, row: int | None, reason: str) -> None:
        where = f"{path}, row {row}" if row is not None else str(path)
        super().__init__(
            f"{where}: {reason}. The labels refer to the public releases by id and sha256: check that "
            f"EARLYWARN_DATA_DIR points at the documented releases (`python scripts/fetch_data.py --verify "
            f"DIR`); if a release really changed, re-annotate the affected rows."
        )


# --- case tracker -------------------------------------------------------------------------------
# Each carries the field it concerns (or None) so the API answers 4xx with the field and the fix.


class CaseError(EarlywarnError):
    field: str | None = None


class CaseNotFoundError(CaseError):
    code = "E010"
    field = "case_id"

    def __init__(self, case_id: int) -> None:
        super().__init__(f"no case {case_id}: list the cases with `earlywarn cases list` (GET /cases).")


class IllegalTransitionError(CaseError):
    code = "E011"
    field = "action"

    def __init__(self, stage: str, action: str, allowed: list[str]) -> None:
        self.stage, self.action, self.allowed = stage, action, allowed
        moves = ", ".join(allowed) if allowed else "none (the case is finished; reopen it first)"
        super().__init__(f"cannot '{action}' a case that is '{stage}'. Allowed from '{stage}': {moves}.")


class AuthorityError(CaseError):
    code = "E012"

    def __init__(self, role: str, doing: str, suggestion: str) -> None:
        super().__init__(f"role '{role}' may not {doing}: {suggestion}, or escalate the case to one.")


class CaseInputError(CaseError):
    code = "E013"

    def __init__(self, field: str, reason: str, fix: str) -> None:
        self.field = field
        super().__init__(f"field '{field}': {reason}. {fix}")


class VersionConflictError(CaseError):
    code = "E014"
    field = "version"

    def __init__(self, case_id: int, expected: int | None, actual: int | None) -> None:
        now = f"it is now at version {actual}" if actual is not None else "another change landed first"
        super().__init__(
            f"case {case_id} changed while you worked on it (you had version {expected}; {now}). "
            f"Reload the case and apply your change again."
        )


class AuthenticationError(CaseError):
    code = "E015"
    field = "Authorization"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}. Send 'Authorization: Bearer <token>'; an admin issues tokens with `earlywarn users add`.")


class UnknownUserError(CaseError):
    code = "E016"
    field = "user"

    def __init__(self, username: str) -> None:
        super().__init__(f"no user '{username}'. An admin adds one with `earlywarn users add {username} --role ROLE`.")
