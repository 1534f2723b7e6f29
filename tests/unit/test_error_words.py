"""Every error has words: each exception class the core raises, and each error path of the
choke point reachable without a daemon, gives a message that is not empty and names the
request it is about.

The classes are found by introspection (every subclass of :class:`lxdapi.APIException`
once every core file is imported), and the core's source is read to check that each
class it raises is one of them. The answers are built as a server would send them
(:class:`requests.Response` objects) and go through :class:`lxdapi.APIResult`'s checks.
"""

import ast
import glob
import importlib
import inspect
import json
import os

import pytest
import requests

from conftest import core

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENDPOINT = "http+unix://%2Fnonexistent%2Flxdapi-words.socket"
URL = ENDPOINT + "/1.0/instances/web1"
LABEL = "GET /1.0/instances/web1"


def core_modules():
    """Every core file (``_utils/lxdapi*.py``), imported."""
    names = sorted(
        os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "_utils", "lxdapi*.py"))
    )
    return [importlib.import_module(name) for name in names]


def exception_classes():
    """Every subclass of APIException (and itself), once every core file is imported:
    those of the core files as they are loaded now (an earlier copy of a file, which the
    loader replaced when it changed on disk, may still hold a class of the same name)."""
    current = {id(getattr(m, n)) for m in core_modules() for n in dir(m)}
    found, todo = [], [core.APIException]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return sorted((c for c in found if id(c) in current), key=lambda c: c.__name__)


def raised_names():
    """The names of the classes the core's source raises (``raise Name(`` and ``raise
    module.Name(``), with the file of one raise of each."""
    names = {}
    for path in glob.glob(os.path.join(ROOT, "_utils", "lxdapi*.py")):
        with open(path) as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name and name.startswith("API"):
                    names.setdefault(name, os.path.basename(path))
    return names


def response(status, body, content_type="application/json", method="GET", url=URL, reason=None):
    """A :class:`requests.Response` as the server would send it, read whole."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    prepared = requests.PreparedRequest()
    prepared.prepare(method=method, url=url.replace("http+unix://", "http://"))
    prepared.url = url
    answer = requests.Response()
    answer.status_code = status
    answer.reason = reason or {200: "OK", 404: "Not Found", 502: "Bad Gateway"}.get(status, "")
    answer.headers = requests.structures.CaseInsensitiveDict(
        {"Content-Type": content_type} if content_type else {}
    )
    answer._content = body
    answer._content_consumed = True
    answer.request = prepared
    answer.url = url
    return answer


@pytest.fixture
def api():
    """An API whose session is never used: the answers are built by the tests."""
    return core.API(None, ENDPOINT)


def check(message, label=LABEL):
    """The message is words, and names the request."""
    assert message.strip(), "an empty message"
    assert label in message, message


def test_every_class_the_core_raises_is_an_api_exception_found_here():
    classes = {cls.__name__ for cls in exception_classes()}
    raised = raised_names()
    assert "APIUnexpectedAnswer" in classes and "APIAnswerTooLarge" in classes
    missing = {name: where for name, where in raised.items() if name not in classes}
    assert not missing, f"raised but not an APIException subclass found by introspection: {missing}"


#: The classes made with arguments of their own (not APIException's), with some: their
#: message is about what they name, not a request.
OWN_ARGUMENTS = {"ResourceInUse": (("profile", "p1", ["/1.0/instances/web1"]), "'p1'")}


def takes_api_arguments(cls):
    """True when ``cls`` is made as APIException is (result, error, method, url, status)."""
    try:
        inspect.signature(cls).bind(None, error="x", method="GET", url=URL, status=500)
    except TypeError:
        return False
    return True


def test_classes_with_arguments_of_their_own_have_words():
    own = [c for c in exception_classes() if not takes_api_arguments(c)]
    assert sorted(c.__name__ for c in own) == sorted(OWN_ARGUMENTS)
    for cls in own:
        args, words = OWN_ARGUMENTS[cls.__name__]
        message = str(cls(*args))
        assert message.strip() and words in message, message


@pytest.mark.parametrize(
    "cls",
    [c for c in exception_classes() if takes_api_arguments(c)],
    ids=lambda c: c.__name__,
)
def test_every_class_has_words_however_it_is_made(cls, api):
    # Made with nothing at all: what the class stands for.
    bare = str(cls())
    assert bare.strip()
    assert "no reason given" in bare
    # With only the request: the request.
    check(str(cls(method="GET", url=URL)))
    # With a reason and the request: the reason, then the request.
    assert str(cls(error="it broke", method="GET", url=URL)) == f"it broke ({LABEL})"
    # From a result whose body says nothing (an error with an empty text).
    empty = core.APIResult(api, response(500, {"type": "error", "error": "", "error_code": 500}))
    words = str(cls(empty))
    check(words)
    assert "HTTP 500" in words
    # Reworded with an empty text, it still names the request.
    check(str(core.reword(cls(method="GET", url=URL), "")))


LXD_ERRORS = [
    (400, "bad request", core.APIException),
    (403, "not authorized", core.APIForbiddenException),
    (404, "Instance not found", core.APINotFoundException),
    (409, "Instance is busy running a start operation", core.APIConflictException),
    (412, "ETag doesn't match", core.APIPreconditionFailed),
    (500, "", core.APIException),
    (503, "Service unavailable", core.APIException),
]


@pytest.mark.parametrize("status,error,cls", LXD_ERRORS)
def test_lxds_own_errors_have_words(api, status, error, cls):
    result = core.APIResult(
        api, response(status, {"type": "error", "error": error, "error_code": status})
    )
    result.check_answer()
    with pytest.raises(cls) as info:
        result.validate()
    check(str(info.value))
    assert str(info.value).startswith(error or f"HTTP {status}")


def test_a_failed_operation_in_metadata_has_words(api):
    result = core.APIResult(
        api,
        response(200, {"type": "sync", "metadata": {"status_code": 400, "err": ""}}),
    )
    with pytest.raises(core.APIException) as info:
        result.check_answer().validate()
    check(str(info.value))


NOT_LXD = [
    (200, b"<html>hi</html>", "text/html", "a text/html page, not LXD's API: '<html>hi</html>'"),
    (200, b"", "application/json", "not LXD's API (the JSON does not parse"),
    (200, b"", None, "an answer with no Content-Type, not LXD's API: an empty body"),
    (502, b"<h1>Bad Gateway</h1>", "text/html", "HTTP 502 Bad Gateway, a text/html page"),
    (200, [1], "application/json", "(the JSON is a list, not an object)"),
    (200, {"metadata": {}}, "application/json", "(the JSON has no type)"),
    (200, {"type": "weird"}, "application/json", "(its type is 'weird', not sync"),
    (200, {"type": "sync", "metadata": "x"}, "application/json", "a string where an object"),
    (200, {"type": "sync", "metadata": 3}, "application/json", "(its metadata is a number"),
    (202, {"type": "async", "metadata": {}}, "application/json", "no operation path"),
    (
        202,
        {"type": "async", "operation": "/1.0/operations/x", "metadata": None},
        "application/json",
        "an async answer whose metadata is null, not an operation",
    ),
    (404, {"type": "error", "error_code": "x"}, "application/json", "no numeric error_code"),
    (404, {"type": "error", "error_code": 404}, "application/json", "with no error text"),
    (500, {"type": "sync", "metadata": {}}, "application/json", "a sync answer with an HTTP"),
]


@pytest.mark.parametrize("status,body,content_type,words", NOT_LXD)
def test_answers_that_are_not_lxds_have_words(api, status, body, content_type, words):
    result = core.APIResult(api, response(status, body, content_type))
    with pytest.raises(core.APIUnexpectedAnswer) as info:
        result.check_answer()
    message = str(info.value)
    check(message)
    assert message.startswith(
        "the server at /nonexistent/lxdapi-words.socket answered GET /1.0/instances/web1 with "
        f"HTTP {status}"
    ), message
    assert words in message, message


def test_raw_content_is_taken_only_where_expected(api):
    raw = response(200, b"\x00file", "application/octet-stream")
    assert core.APIResult(api, raw).check_answer(raw=True).response.content == b"\x00file"
    with pytest.raises(core.APIUnexpectedAnswer):
        core.APIResult(api, raw).check_answer(raw=False)
    # A proxy's error page is refused even where raw content is expected.
    page = response(502, b"<html>down</html>", "text/html")
    with pytest.raises(core.APIUnexpectedAnswer, match="HTTP 502 Bad Gateway"):
        core.APIResult(api, page).check_answer(raw=True)


def test_which_urls_answer_raw_content_or_one_object():
    raw = core.raw_content_expected
    assert raw("GET", ENDPOINT + "/1.0/instances/web1/files", {"path": "/etc/hosts"})
    assert raw("GET", ENDPOINT + "/1.0/instances/web1/logs/lxc.log")
    assert raw("GET", ENDPOINT + "/1.0/instances/web1/logs/exec-output/exec_1.stdout")
    assert raw("GET", ENDPOINT + "/1.0/images/abc/export")
    assert raw("GET", ENDPOINT + "/1.0/instances/web1/console")
    assert raw("GET", ENDPOINT + "/1.0/metrics")
    assert raw("GET", ENDPOINT + "/1.0/instances/web1/metadata/templates", {"path": "a.tpl"})
    assert not raw("GET", ENDPOINT + "/1.0/instances/web1/metadata/templates")
    assert not raw("GET", ENDPOINT + "/1.0/instances/web1/logs")
    assert not raw("POST", ENDPOINT + "/1.0/instances/web1/files")
    assert not raw("GET", ENDPOINT + "/1.0/instances/web1")
    obj = core.object_expected
    for path in (
        "",
        "/instances/web1",
        "/instances/web1/state",
        "/instances/web1/snapshots/s1",
        "/images/aliases/busybox",
        "/storage-pools/default/volumes/custom/v1",
        "/operations/abc/wait",
        "/resources",
    ):
        assert obj("GET", ENDPOINT + "/1.0" + path), path
    for path in (
        "/instances",
        "/images/aliases",
        "/instances/web1/snapshots",
        "/storage-pools/default/volumes",
        "/operations",
        "/instances/web1/files",
        "/networks/br0/leases",
    ):
        assert not obj("GET", ENDPOINT + "/1.0" + path), path
    assert not obj("PUT", ENDPOINT + "/1.0/instances/web1")


def test_a_timed_out_wait_says_which_operation_doing_what_for_how_long(api):
    operation = {
        "id": "abc",
        "description": "Creating instance",
        "resources": {"instances": ["/1.0/instances/web1"], "images": ["/1.0/images/f00"]},
        "status": "Running",
        "status_code": 103,
    }
    started = core.APIResult(
        api,
        response(
            202,
            {"type": "async", "operation": "/1.0/operations/abc", "metadata": operation},
            method="POST",
            url=ENDPOINT + "/1.0/instances",
        ),
    )
    exc = core.operation_timeout(started, operation, 5)
    assert str(exc) == (
        "operation /1.0/operations/abc (Creating instance web1 f00) still running after 5 s; it "
        "was left running, not cancelled (POST /1.0/instances, operation /1.0/operations/abc)"
    )
    # What the server said nothing about: still the operation and the time.
    exc = core.operation_timeout(started, None, 2.5)
    assert str(exc).startswith("operation /1.0/operations/abc (Creating instance web1 f00)")
    bare = core.APIResult(
        api,
        response(
            202,
            {"type": "async", "operation": "/1.0/operations/abc", "metadata": {}},
            method="POST",
            url=ENDPOINT + "/1.0/instances",
        ),
    )
    assert str(core.operation_timeout(bare, {}, 2.5)).startswith(
        "operation /1.0/operations/abc still running after 2.5 s"
    )
    # A failed operation whose err is empty says it failed.
    failed = core.APIException(core.APIResult(api, response(200, {"type": "sync"})), error="")
    assert str(core.operation_error(started, failed)) == (
        "the operation failed (POST /1.0/instances, operation /1.0/operations/abc)"
    )


def test_metadata_object_refuses_other_kinds_with_words(api):
    result = core.APIResult(api, response(200, {"type": "sync", "metadata": ["a"]}))
    with pytest.raises(core.APIUnexpectedAnswer) as info:
        result.metadata_object("the instance")
    check(str(info.value))
    assert "(the instance is a list where an object is due)" in str(info.value)


def test_a_server_that_cannot_be_reached_is_named_with_the_request():
    api = core.API(core.unix_session(), ENDPOINT)
    with pytest.raises(core.APIConnectionError) as info:
        api.get("instances/web1")
    check(str(info.value))
    assert "cannot reach LXD at /nonexistent/lxdapi-words.socket" in str(info.value)


def test_max_body_is_a_connection_setting():
    assert "max_body" in core.CONNECTION_KEYS
    assert core.resolve_connection({"max_body": 1000}) == {"max_body": 1000}
    assert core.API(None, ENDPOINT).max_body == core.DEFAULT_MAX_BODY == 64 * 1024 * 1024
    assert core.API(None, ENDPOINT, max_body="2048").max_body == 2048
    for bad in (0, -1, "lots", True, 1.5):
        with pytest.raises(ValueError, match="max_body must be a number of bytes"):
            core.API(None, ENDPOINT, max_body=bad)
