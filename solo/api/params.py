"""A request's parameters, read the same way from the query, a JSON body, an urlencoded form
or a multipart form, as Rails reads them for Mastodon.

    params = await Params.of(request)
    params.string("status", max_length=…)      # str | None
    params.required("client_name")             # str, else 422 "… can't be blank"
    params.boolean("sensitive")                # 1/0, true/false, True/False, on/off, yes/no
    params.integer("limit", 20, minimum=1)     # int, else 422
    params.strings("media_ids")                # media_ids[]=1&media_ids[]=2, media_ids[0]=…, [..]
    params.nested("poll").strings("options")   # poll[options][]=a, or {"poll": {"options": []}}
    params.file("file")                        # an UploadFile of a multipart body, or None

Form keys are split Rails' way: `a[b][]` is `{"a": {"b": [...]}}`; `a[0]`, `a[1]` become a
list. The body's values win over the query's. A malformed body, or a value of the wrong shape,
raises `ValidationFailed` (422) naming the field. `Params.of` keeps its answer on the request,
and `solo.api.auth.api` closes the uploaded files' temporary copies once the endpoint returns.
"""

from __future__ import annotations

import re
from typing import Any, Final, overload

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from solo import json_input
from solo.api.errors import ValidationFailed

TRUE: Final = frozenset({"1", "true", "t", "on", "yes", "y"})
FALSE: Final = frozenset({"0", "false", "f", "off", "no", "n"})
_KEY: Final = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART: Final = re.compile(r"\[([^\[\]]*)\]")
_STATE: Final = "solo_api_params"
# No client nests deeper than `fields_attributes[0][name]`; deep nesting only costs recursion.
MAX_DEPTH: Final = 8


def _split(key: str) -> list[str]:
    """`poll[options][]` → ["poll", "options", ""]; a key that is not of this form stays whole."""
    match = _KEY.match(key)
    if not match:
        return [key]
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > MAX_DEPTH:
        raise ValidationFailed(parts[0][:64], "is nested too deep")
    return parts


def _assign(root: dict[str, Any], key: str, value: Any) -> None:
    parts = _split(key)
    container: Any = root
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following = None if last else parts[index + 1]
        if part == "":
            if not isinstance(container, list):
                raise ValidationFailed(parts[0], "is malformed")
            if last:
                container.append(value)
                return
            # `a[][b]`: a list of objects; a new one starts when the key repeats.
            if not container or not isinstance(container[-1], dict) or following in container[-1]:
                container.append({})
            container = container[-1]
            continue
        if not isinstance(container, dict):
            raise ValidationFailed(parts[0], "is malformed")
        if last:
            container[part] = value
            return
        wanted: type = list if following == "" else dict
        existing = container.get(part)
        if not isinstance(existing, wanted):
            container[part] = existing = wanted()
        container = existing


def _listify(value: Any) -> Any:
    """Objects whose keys are all indexes (`a[0]`, `a[1]`) become lists, in index order."""
    if isinstance(value, list):
        return [_listify(item) for item in value]
    if isinstance(value, dict):
        if value and all(key.isdigit() and len(key) < 6 for key in value):
            return [_listify(value[key]) for key in sorted(value, key=int)]
        return {key: _listify(item) for key, item in value.items()}
    return value


def nest(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """Flat form or query items as the nested values they name."""
    root: dict[str, Any] = {}
    for key, value in items:
        _assign(root, key, value)
    return {key: _listify(value) for key, value in root.items()}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _body(request: Request) -> tuple[dict[str, Any], FormData | None]:
    media_type = _media_type(request)
    if media_type == "application/json" or media_type.endswith("+json"):
        raw = await request.body()
        if not raw.strip():
            return {}, None
        try:
            document = json_input.parse(raw, max_depth=MAX_DEPTH)
        except json_input.BadJSON as error:
            raise ValidationFailed("body", str(error)) from None
        if not isinstance(document, dict):
            raise ValidationFailed("body", "must be a JSON object")
        return document, None
    if media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except HTTPException as error:
            raise ValidationFailed("body", f"is not a valid form: {error.detail}") from None
        try:
            return nest(list(form.multi_items())), form
        except ValidationFailed:
            await form.close()
            raise
    return {}, None


class Params:
    """The parameters of one request (or one nested object of them, named by `prefix`)."""

    def __init__(
        self, values: dict[str, Any], prefix: str = "", form: FormData | None = None
    ) -> None:
        self.values = values
        self.prefix = prefix
        self._form = form

    @classmethod
    async def of(cls, request: Request) -> Params:
        """Query and body together, parsed once per request."""
        cached = getattr(request.state, _STATE, None)
        if isinstance(cached, Params):
            return cached
        query = nest(list(request.query_params.multi_items()))
        body, form = await _body(request)
        params = cls({**query, **body}, form=form)
        setattr(request.state, _STATE, params)
        return params

    @staticmethod
    async def close_of(request: Request) -> None:
        """Close the temporary files of this request's multipart body, if it had one."""
        params = getattr(request.state, _STATE, None)
        if isinstance(params, Params) and params._form is not None:
            await params._form.close()

    def name(self, key: str) -> str:
        """How an error names `key`: `poll[expires_in]` inside `nested("poll")`."""
        return f"{self.prefix}[{key}]" if self.prefix else key

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def raw(self, key: str) -> Any:
        return self.values.get(key)

    def string(self, key: str, *, max_length: int | None = None) -> str | None:
        """A text value; None when absent. Numbers are taken as their text (JSON ids)."""
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationFailed(self.name(key), "must be a string")
        text = value if isinstance(value, str) else str(value)
        if max_length is not None and len(text) > max_length:
            raise ValidationFailed(self.name(key), f"is too long (maximum is {max_length})")
        return text

    def required(self, key: str, *, max_length: int | None = None) -> str:
        text = self.string(key, max_length=max_length)
        if text is None or not text.strip():
            raise ValidationFailed(self.name(key), "can't be blank")
        return text

    def optional_boolean(self, key: str) -> bool | None:
        """True or False when given; None when absent or empty."""
        value = self.values.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in TRUE:
                return True
            if lowered in FALSE:
                return False
        raise ValidationFailed(self.name(key), "must be true or false")

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.optional_boolean(key)
        return default if value is None else value

    @overload
    def integer(
        self, key: str, default: int, *, minimum: int | None = ..., maximum: int | None = ...
    ) -> int: ...
    @overload
    def integer(
        self,
        key: str,
        default: None = None,
        *,
        minimum: int | None = ...,
        maximum: int | None = ...,
    ) -> int | None: ...
    def integer(
        self,
        key: str,
        default: int | None = None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """A whole number within the bounds given; `default` when absent or empty."""
        value = self.values.get(key)
        if value is None or value == "":
            return default
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,19}\s*", value):
            number = int(value)
        if number is None or not -(2**63) <= number < 2**63:
            # Past 64 bits SQLite cannot take it (OverflowError), wherever it ends up.
            raise ValidationFailed(self.name(key), "must be a whole number")
        if minimum is not None and number < minimum:
            raise ValidationFailed(self.name(key), f"must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise ValidationFailed(self.name(key), f"must be at most {maximum}")
        return number

    def strings(self, key: str, *, max_items: int | None = None) -> list[str]:
        """A list of texts (`key[]`, `key[0]`, a JSON array, or one plain value); [] when
        absent."""
        value = self.values.get(key)
        if value is None or value == "":
            return []
        items = value if isinstance(value, list) else [value]
        if max_items is not None and len(items) > max_items:
            raise ValidationFailed(self.name(key), f"has more than {max_items} items")
        texts = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ValidationFailed(self.name(key), "must be a list of strings")
            texts.append(item if isinstance(item, str) else str(item))
        return texts

    def nested(self, key: str) -> Params:
        """The object named `key` (`poll[…]` or a JSON object); empty when absent."""
        value = self.values.get(key)
        if value is None or value == "":
            return Params({}, self.name(key))
        if not isinstance(value, dict):
            raise ValidationFailed(self.name(key), "must be an object")
        return Params(value, self.name(key))

    def file(self, key: str) -> UploadFile | None:
        """An uploaded file of a multipart body; None when absent (or sent empty)."""
        value = self.values.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, UploadFile):
            raise ValidationFailed(self.name(key), "must be a file")
        return value
