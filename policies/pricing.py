"""The dated price table (`price_table.toml`) as a typed, validated model.

The cost estimator prices stacks from it, and the config loader takes its Droplet size slugs and
region slugs as the only valid values, so a size the gate cannot price cannot be configured either.

A user override (argument or `HUB_PRICE_TABLE`) is always merged over the checked-in table, so it
may be partial or complete:
  - tables merge key by key (`[load_balancer] per_size_unit_month = 15` changes only that price);
  - `[[droplet_sizes]]` rows replace the default row with the same `slug`, or add a new size;
  - lists such as `regions` replace the default list.
Every problem is reported as `<file>: <field>: <what is wrong>`, naming the file the value came from.

Deliberately light: tomllib + pydantic only (no Checkov, no cdktf), so `known_size_slugs()` is cheap.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from policies.input_files import NESTED_TOO_DEEPLY, display_path, read_text

DEFAULT_PRICE_TABLE = Path(__file__).with_name("price_table.toml")
PRICE_TABLE_ENV = "HUB_PRICE_TABLE"
# Said after an unreadable override's name when it came from the environment: the user must find the setting.
_FROM_ENV = f" (from {PRICE_TABLE_ENV})"
# The largest monthly budget anyone may declare: environments.toml refuses more, the gate reports more.
MAX_BUDGET_USD = 10**12


def _number_not_text(value: Any) -> Any:
    """TOML has numbers: a quoted "25" is a mistake to report, as everywhere else in the table, not a
    price to read into it (pydantic's lax Decimal would take it)."""
    if isinstance(value, str):
        raise ValueError(f"expected a number, found the string {value!r}")
    return value


Number = BeforeValidator(_number_not_text)
Money = Annotated[Decimal, Number, Field(ge=0, max_digits=12, decimal_places=4)]
Percent = Annotated[Decimal, Number, Field(ge=0, le=100)]
# Counts, GiB and dates: strict, so "2", 2.5 or "2026-11-27" (a string, not a TOML date) are reported.
Count = Annotated[int, Field(ge=0, strict=True)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
RegionSlug = Annotated[str, Field(pattern=r"^[a-z]{3}[0-9]$")]


class PriceTableError(Exception):
    """The price table cannot be used. The message names the file, the field and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(_Strict):
    source: Annotated[str, Field(min_length=1)]
    retrieved: Annotated[date, Field(strict=True)]
    currency: Literal["USD"]
    note: str = ""


class DropletSize(_Strict):
    slug: Slug
    vcpus: Annotated[Count, Field(ge=1)]
    memory_gb: Annotated[Decimal, Number, Field(gt=0)]
    disk_gb: Annotated[Count, Field(ge=1)]
    price_monthly: Money


class Backups(_Strict):
    weekly_percent: Percent
    daily_percent: Percent


class Volumes(_Strict):
    per_gib_month: Money


class LoadBalancer(_Strict):
    per_size_unit_month: Money
    default_size_units: Annotated[Count, Field(ge=1)]
    legacy_size_units: dict[Slug, Annotated[Count, Field(ge=1)]]


class ReservedIp(_Strict):
    unassigned_month: Money
    assigned_month: Money


class Spaces(_Strict):
    subscription_month: Money
    included_storage_gib: Count


class Cloudflare(_Strict):
    plan: str
    plans: dict[Slug, Money]

    @model_validator(mode="after")
    def _plan_is_priced(self) -> "Cloudflare":
        if self.plan not in self.plans:
            raise ValueError(f"plan {self.plan!r} is not one of the priced plans ({', '.join(sorted(self.plans))})")
        return self


class Monitoring(_Strict):
    uptime_checks_free: Count
    uptime_check_month: Money


class PriceTable(_Strict):
    regions: Annotated[list[RegionSlug], Field(min_length=1)]
    meta: Meta
    droplet_sizes: Annotated[list[DropletSize], Field(min_length=1)]
    backups: Backups
    volumes: Volumes
    load_balancer: LoadBalancer
    reserved_ip: ReservedIp
    spaces: Spaces
    cloudflare: Cloudflare
    monitoring: Monitoring
    free_resources: dict[str, str] = Field(default_factory=dict)

    # Files the table was built from, default first; not part of the TOML.
    _files: tuple[str, ...] = PrivateAttr(default=())
    # The `[meta] retrieved` date each of those files sets itself (None if it sets none): a report credits
    # an override beside the default, and the merged meta keeps only one date.
    _retrieved_by_file: tuple[date | None, ...] = PrivateAttr(default=())
    # size() lookups by slug, built on first use (the estimator asks once per Droplet), with the
    # list they were built from: a model_copy with other rows must not answer from this one's.
    _sizes_by_slug: tuple[list[DropletSize], dict[str, DropletSize]] | None = PrivateAttr(default=None)

    @property
    def files(self) -> tuple[str, ...]:
        return self._files

    @property
    def sources(self) -> tuple[tuple[str, date | None], ...]:
        """Each file the table was built from, default first, with the date its own `[meta]` gives."""
        dates = self._retrieved_by_file or (None,) * len(self._files)  # a table made by hand knows none
        return tuple(zip(self._files, dates, strict=True))

    def size(self, slug: str) -> DropletSize | None:
        built = self._sizes_by_slug
        if built is None or built[0] is not self.droplet_sizes:
            built = self._sizes_by_slug = (self.droplet_sizes, {s.slug: s for s in self.droplet_sizes})
        return built[1].get(slug)

    @property
    def cloudflare_plan_price(self) -> Decimal:
        return self.cloudflare.plans[self.cloudflare.plan]




def _read_toml(path: Path, via: str = "") -> dict[str, Any]:
    where = f"{display_path(path)}{via}"
    text = read_text(path, PriceTableError, where)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriceTableError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise PriceTableError(f"{where}: {NESTED_TOO_DEEPLY}") from None


def _check_rows(data: dict[str, Any], file: str) -> None:
    """Row-level shape checks that must name the file before merging loses track of it."""
    rows = data.get("droplet_sizes")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise PriceTableError(f"{file}: droplet_sizes: expected [[droplet_sizes]] rows (an array of tables)")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        slug = row.get("slug")
        if slug is None or slug == "":
            raise PriceTableError(f"{file}: droplet_sizes[{i}].slug: missing; every size row needs a slug")
        if not isinstance(slug, str):
            raise PriceTableError(f"{file}: droplet_sizes[{i}].slug: expected a string, found {type(slug).__name__}")
        if slug in seen:
            raise PriceTableError(f"{file}: droplet_sizes[{i}].slug: {slug!r} appears twice")
        seen.add(slug)


def _merge(base: dict[str, Any], override: dict[str, Any], base_file: str, override_file: str):
    """Merge `override` over `base`; return the merged data and, per size row, the file it came from
    and its index there (so a problem names the row as the user wrote it)."""
    merged: dict[str, Any] = {}
    for key in sorted(set(base) | set(override), key=lambda k: (k not in base, k)):
        if key not in override:
            merged[key] = base[key]
        elif key not in base:
            merged[key] = override[key]
        elif key == "droplet_sizes":
            continue  # merged by slug below
        elif isinstance(base[key], dict) and isinstance(override[key], dict):
            merged[key], _ = _merge(base[key], override[key], base_file, override_file)
        else:
            merged[key] = override[key]
    row_origins: list[tuple[str, int]] = []
    if "droplet_sizes" in base or "droplet_sizes" in override:
        rows = list(base.get("droplet_sizes", []))
        row_origins = [(base_file, i) for i in range(len(rows))]
        index = {row["slug"]: i for i, row in enumerate(rows)}
        for i, row in enumerate(override.get("droplet_sizes", [])):
            if row["slug"] in index:
                rows[index[row["slug"]]] = row
                row_origins[index[row["slug"]]] = (override_file, i)
            else:
                index[row["slug"]] = len(rows)
                rows.append(row)
                row_origins.append((override_file, i))
        merged["droplet_sizes"] = rows
    return merged, row_origins


def _has_path(data: Any, loc: tuple) -> bool:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return False
    return True


def _field_name(loc: tuple, data: dict[str, Any], row_in_file: int | None = None) -> str:
    """`loc` in the merged data as the user reads it: a size row by its index in the file it came
    from (`row_in_file`), with its slug."""
    text = ""
    for position, part in enumerate(loc):
        if position == 1 and loc[0] == "droplet_sizes" and isinstance(part, int):
            slug = data["droplet_sizes"][part].get("slug")
            text += f"[{part if row_in_file is None else row_in_file}]" + (f" (slug {slug!r})" if slug else "")
        else:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


def _validate(
    data: dict[str, Any], files: tuple[str, ...], override: dict[str, Any] | None, row_origins: list[tuple[str, int]]
) -> PriceTable:
    """Validate merged data; each problem names the file its value came from (the override when it set it)."""
    try:
        table = PriceTable.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            row_in_file = None
            if len(loc) >= 2 and loc[0] == "droplet_sizes" and isinstance(loc[1], int) and loc[1] < len(row_origins):
                file, row_in_file = row_origins[loc[1]]
            elif override is not None and (_has_path(override, loc) or (_has_path(override, loc[:1])
                                                                         and err["type"] != "missing")):
                file = files[-1]
            else:
                file = files[0]
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] in ("int_type", "date_type") and isinstance(err.get("input"), str):
                message += f", found the string {err['input']!r} (TOML numbers and dates are written without quotes)"
            problems.append(f"{file}: {_field_name(loc, data, row_in_file)}: {message}")
        raise PriceTableError("\n".join(problems)) from None
    table._files = files
    return table


def override_path() -> Path | None:
    """The user's price table named by `$HUB_PRICE_TABLE`, if set."""
    return Path(os.environ[PRICE_TABLE_ENV]) if os.environ.get(PRICE_TABLE_ENV) else None


def load_price_table(path: Path | None = None) -> PriceTable:
    """Load the checked-in table, merged with the override at `path` or `$HUB_PRICE_TABLE` if set.

    Raises PriceTableError naming the file and field for unreadable files, bad TOML and bad values.
    """
    if path is None and override_path() is not None:
        return _load(override_path(), _FROM_ENV)
    return _load(path)


def _load(path: Path | None, via: str = "") -> PriceTable:
    base_file = display_path(DEFAULT_PRICE_TABLE)
    base = _read_toml(DEFAULT_PRICE_TABLE)
    _check_rows(base, base_file)
    if path is None:
        table = _validate(base, (base_file,), None, [(base_file, i) for i in range(len(base.get("droplet_sizes", [])))])
        table._retrieved_by_file = (_retrieved(base),)
        return table
    override_file = display_path(path)
    override = _read_toml(path, via)
    _check_rows(override, override_file)
    merged, row_origins = _merge(base, override, base_file, override_file)
    table = _validate(merged, (base_file, override_file), override, row_origins)
    table._retrieved_by_file = (_retrieved(base), _retrieved(override))
    return table


def _retrieved(data: dict[str, Any]) -> date | None:
    """The `[meta] retrieved` date one file sets, if it sets one."""
    meta = data.get("meta")
    value = meta.get("retrieved") if isinstance(meta, dict) else None
    return value if isinstance(value, date) else None


@lru_cache(maxsize=8)
def _cached_table(override: str | None) -> PriceTable:
    return _load(Path(override), _FROM_ENV) if override else _load(None)


def current_price_table() -> PriceTable:
    """The table in effect (default plus `$HUB_PRICE_TABLE`), loaded once per override path."""
    return _cached_table(os.environ.get(PRICE_TABLE_ENV) or None)


def known_size_slugs() -> frozenset[str]:
    """Droplet size slugs the gate can price; the config loader accepts only these."""
    return frozenset(s.slug for s in current_price_table().droplet_sizes)


def known_regions() -> frozenset[str]:
    """DigitalOcean region slugs the config loader accepts."""
    return frozenset(current_price_table().regions)
