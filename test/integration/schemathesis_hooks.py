"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) for test/integration/openapi-fuzz.test.ts.

With `--workers 2` (threads), Hypothesis describes strategies with `ast.parse` from two threads at
once, and CPython 3.11 before 3.11.8 can then raise "SystemError: AST constructor recursion depth
mismatch" (python/cpython#106905): a schemathesis runtime error, not a finding about the API.
Parsing one at a time avoids it.

Custom strategies for the input that once passed validation and then answered 500 (issue 17):
instants at the edges of what PostgreSQL stores, lone UTF-16 surrogates in free-form JSON, and
YAML documents that expand or nest without bound. Each is drawn beside schemathesis' own values.
"""

import ast
import re
import threading
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

_lock = threading.RLock()
_parse = ast.parse


def _serialized_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse

# --- Instants -------------------------------------------------------------------------------------
# Every `date-time` the schemas admit must be storable: the edges of years 0001-9999, offsets that
# carry an instant across them, year 0000 (which the ISO pattern alone admits) and odd precisions.
# Values the schema refuses are filtered out of positive cases and sent as negative ones.

_EDGE_INSTANTS = [
    "0000-01-01T00:00:00Z",
    "0000-02-29T12:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "0001-01-01T23:59:59-00:00",
    "1969-12-31T23:59:59.999-23:59",
    "1970-01-01T00:00:00Z",
    "2024-02-29T12:00:00.123456789+05:45",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:30:00-01:00",
    "9999-12-31T12:00:00+14:00",
]


def _instant(year, month, day, hour, minute, second, fraction, offset):
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{offset}"


_offsets = st.one_of(
    st.just("Z"),
    st.builds(lambda sign, h, m: f"{sign}{h:02d}:{m:02d}", st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)),
)
_instants = st.builds(
    _instant,
    st.one_of(st.integers(0, 2), st.integers(1969, 2100), st.integers(9998, 9999)),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["", ".0", ".999", ".123456789"]),
    _offsets,
)
schemathesis.openapi.format("date-time", st.one_of(st.sampled_from(_EDGE_INSTANTS), _instants))

# --- Lone surrogates ------------------------------------------------------------------------------
# JSON can escape a UTF-16 surrogate on its own ("\ud800"): it parses to no character. Python's json
# writes a lone surrogate in a str as that escape. Into free-form bodies (events, config documents:
# the operations whose schema-valid bodies may be refused, see schemathesis.toml) a value or key
# holding one is put at a drawn place.

_FREE_FORM = re.compile(r"^(POST /v1/(events|import)|(PUT|POST) /v1/(rules|escalation-policy|funnel)(/validate)?)$")
_lone = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "a\ud83d", "\ude00b"])


def _operation(ctx):
    operation = ctx.operation
    return f"{operation.method.upper()} {operation.path}" if operation is not None else ""


def _strings_in(value, path=()):
    """Paths to every string value and key in a JSON value."""
    if isinstance(value, str):
        yield ("value", path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings_in(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield ("key", (*path, key))
            yield from _strings_in(item, (*path, key))


def _with_lone_surrogate(body, place, lone):
    kind, path = place
    if not path:
        return body + lone if kind == "value" else body
    parent = body
    for segment in path[:-1]:
        parent = parent[segment]
    last = path[-1]
    if kind == "value":
        parent[last] = parent[last] + lone
    else:
        parent[last + lone] = parent.pop(last)
    return body


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- YAML documents -------------------------------------------------------------------------------
# The shipped files, alias bombs (each level nine aliases of the one before), deep nesting in flow
# and block style, and small documents of anchors, aliases, merge keys and tags.

_CONFIG = Path(__file__).resolve().parents[2] / "config"
_SHIPPED = {"rules": (_CONFIG / "rules.yaml").read_text(), "escalation-policy": (_CONFIG / "escalation.yaml").read_text(), "funnel": (_CONFIG / "funnel.yaml").read_text()}


def _alias_bomb(levels):
    names = [f"l{i}" for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * 9)}]"]
    lines += [f"{name}: &{name} [{', '.join([f'*{names[i]}'] * 9)}]" for i, name in enumerate(names[1:])]
    return "\n".join(lines)


_scalars = st.sampled_from(["x", "1", "1e309", ".inf", "~", "!!binary aGVsbG8=", "!!timestamp 0000-01-01", "!!int 0x1F", "'\\ud800'", "*missing"])
_small_yaml = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.sampled_from(["a", "<<", "rules", "policy", "? [k]"]), inner), max_size=3).map(lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"),
        inner.map(lambda v: f"&a {v}"),
        inner.map(lambda v: f"[*a, {v}]"),
    ),
    max_leaves=8,
)


def _yaml_documents(kind):
    return st.one_of(
        st.just(_SHIPPED[kind]),
        st.integers(2, 12).map(_alias_bomb),
        st.integers(50, 3000).map(lambda n: "[" * n + "]" * n),
        st.integers(50, 3000).map(lambda n: "- " * n + "x"),
        st.integers(50, 500).map(lambda n: "".join(f"{'  ' * i}a:\n" for i in range(n)) + "  " * n + "x"),
        _small_yaml,
        _small_yaml.map(lambda doc: f"{_SHIPPED[kind]}\nextra: {doc}\n"),
    )


@schemathesis.hook
def flatmap_body(ctx, body):
    operation = _operation(ctx)
    if not _FREE_FORM.match(operation) or not isinstance(body, (dict, list, str)):
        return st.just(body)
    choices = [st.just(body)]
    places = list(_strings_in(body))
    if places:
        choices.append(st.builds(lambda place, lone: _with_lone_surrogate(_copy(body), place, lone), st.sampled_from(places), _lone))
    kind = "rules" if "/v1/rules" in operation else "funnel" if "/v1/funnel" in operation else "escalation-policy"
    # Only a source the schema allows is replaced (a string of at most 512 KiB characters): in a
    # negative case the source may be the component made invalid (an integer, too long), and a
    # YAML document in its place would make the case valid again.
    source = body.get("source") if isinstance(body, dict) else None
    if isinstance(source, str) and len(source) <= 512 * 1024 and "/v1/" + kind in operation:
        choices.append(_yaml_documents(kind).map(lambda source: {**body, "source": source}))
    return st.one_of(choices)
