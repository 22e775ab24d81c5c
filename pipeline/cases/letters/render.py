"""Templates and house facts: a configured directory is searched before the shipped one.

Templates are Jinja2 files named `{kind}.{channel}.j2` (`final_response.email.j2`), with shared
parts such as `final_response.body.j2` included by name, so an override may replace a whole letter
or one part of it. Letters are plain text; a template whose name contains `.html` is autoescaped.
Undefined names are errors, not blanks: a template that mentions a fact the case lacks fails
loudly instead of sending a letter with a hole in it. Block tags keep their line breaks and runs of
blank lines are folded into one, so a template reads like the letter it writes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "letters"
HOUSE_FILE = "letters.yaml"


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    complaints_procedure: str = Field(min_length=1)


class PublicStyle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    private_channel: str = Field(min_length=1)
    private_link: str | None = None
    max_chars: int = Field(default=280, ge=40)


class House(BaseModel):
    """The organisation's facts and house style, the same for every case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation: Organisation
    reference: str = Field(default="EW-{id:06d}", description="how letters name a case; {id} is its number")
    public_reply: PublicStyle

    def reference_of(self, case_id: int) -> str:
        return self.reference.format(id=case_id)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, f"cannot read the letters' house facts: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(path, "the letters' house facts must be a mapping")
    return raw


def load_house(letters_dir: Path | None = None) -> House:
    """The shipped house facts, with those of `letters_dir/letters.yaml` on top where it exists."""
    override = letters_dir / HOUSE_FILE if letters_dir else None
    stamp = override.stat().st_mtime_ns if override and override.is_file() else None
    return _house(override if stamp is not None else None, stamp)


@lru_cache(maxsize=8)
def _house(override: Path | None, _stamp: int | None) -> House:
    raw = _read(SHIPPED / HOUSE_FILE)
    if override is not None:
        raw = _merge(raw, _read(override))
    try:
        house = House.model_validate(raw)
        house.reference_of(1)
    except (ValidationError, KeyError, ValueError, IndexError) as exc:
        raise ConfigError(override or SHIPPED / HOUSE_FILE, f"invalid letters' house facts: {exc}") from exc
    return house


def _autoescape(name: str | None) -> bool:
    return name is not None and ".html" in name


@lru_cache(maxsize=8)
def environment(letters_dir: Path | None = None) -> jinja2.Environment:
    if letters_dir is not None and not letters_dir.is_dir():
        raise ConfigError("EARLYWARN_LETTERS_DIR", f"{letters_dir} is not a directory")
    search = [str(letters_dir)] if letters_dir is not None else []
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([*search, str(SHIPPED)]),  # the configured directory first
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


class Rendered(BaseModel):
    subject: str | None
    body: str
    template: str  # the file that rendered it: a shipped one, or an override


def template_name(kind: str, channel: str) -> str:
    return f"{kind}.{channel}.j2"


def render(letters_dir: Path | None, kind: str, channel: str, context: dict[str, Any]) -> Rendered:
    """The letter's text; a first line `Subject: …` becomes the subject (emails)."""
    env = environment(letters_dir)
    name = template_name(kind, channel)
    try:
        template = env.get_template(name)
        text = template.render(**context)
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(SHIPPED, f"no template '{exc.name}' for the {kind} by {channel}") from exc
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or template_name(kind, channel)
        raise ConfigError(where, f"the letter template does not render: {exc}") from exc
    text = re.sub(r"[ \t]+\n", "\n", text.replace("\r\n", "\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    subject = None
    first, _, rest = text.partition("\n")
    if first.startswith("Subject:"):
        subject, text = first.removeprefix("Subject:").strip(), rest.strip()
    return Rendered(subject=subject, body=text + "\n", template=_shown(Path(template.filename or name)))


def _shown(path: Path) -> str:
    """A shipped template by its place in the package (no server paths in API answers); an override in full."""
    try:
        return path.resolve().relative_to(SHIPPED.parents[3]).as_posix()
    except ValueError:
        return str(path)
