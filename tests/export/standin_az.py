"""A stand-in for the az CLI, for running exported scripts against the sandbox in tests.

It reads its command line the way az does, then does what az would do against the Resource Manager
endpoint in AZ_STANDIN_ARM (the sandbox), signed in through the sandbox's managed-identity endpoint
(IDENTITY_ENDPOINT / IDENTITY_HEADER), trusting AZ_STANDIN_CA. Every parsed call is appended to
AZ_STANDIN_LOG as one JSON line: {"argv": [as given], "command": [...], "args": {as parsed}}.

How az reads a command line, and so how this does (azure-cli and knack, looked up in their sources):
- before parsing, every argument whose text (or, for `NAME=TEXT`, the part after the first '=')
  starts with '@' is replaced by the content of the file it names, trailing line breaks removed,
  when that file can be read (azure.cli.core.commands._expand_file_prefixed_files);
- the command is the leading words that do not start with '-'; the rest goes to argparse: options
  with one or two dashes, `--opt value` or `--opt=value`, a word starting with '-' read as an
  option (so `--opt -x` fails: the option gets no value), nargs='*'/'+' lists up to the next option;
- `--query` is JMESPath (jmespath, as az), applied to the result before output; `--output` json is
  sorted, indented, non-ASCII kept; tsv writes a list's items one a line, a row's values tab-joined,
  booleans as true/false; a None result prints nothing (knack.output);
- `az rest` prefixes a URL without a host with the cloud's Resource Manager endpoint and fails on a
  non-2xx answer with "<reason>(<body>)"; `az resource patch` sends the object as the SDK's
  GenericResource (read-only fields dropped) and polls the long-running operation to its end;
- `az provider show` reads the provider in `--subscription`; `az provider register` POSTs its
  registration and, with `--wait`, reads the provider until it is Registered (az sleeps 10 s between
  reads; this stand-in does not).

Only the commands exported scripts use are known; any other exits 2, as az does for a misspelling.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import jmespath

ARM_AUDIENCE = "https://management.azure.com"
GENERIC_RESOURCE = ("location", "extendedLocation", "tags", "plan", "properties", "kind", "managedBy", "sku")


class AzError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- the command line ------------------------------------------------------------------------------
def expand_file_arguments(args: list[str]) -> list[str]:
    def load(text: str) -> str:
        if not text.startswith("@") or len(text) == 1:
            return text
        try:
            with open(os.path.expanduser(text[1:]), encoding="utf-8-sig") as handle:
                return handle.read().rstrip(os.linesep)
        except OSError:
            return text

    expanded = []
    for arg in args:
        name, eq, rest = arg.partition("=")
        expanded.append(f"{name}={load(rest)}" if eq else load(arg))
    return expanded


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's exit, as az's: usage error, code 2
        raise AzError(f"{self.prog}: error: {message}", 2)


def parser(command: tuple[str, ...]) -> Parser:
    p = Parser(prog="az " + " ".join(command), add_help=False, allow_abbrev=False)
    p.add_argument("--query")
    p.add_argument("--output", "-o", choices=["json", "jsonc", "tsv", "none", "table", "yaml", "yamlc"], default="json")
    p.add_argument("--only-show-errors", action="store_true")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--verbose", action="store_true")
    if command == ("cloud", "show"):
        p.add_argument("--name", "-n")
    elif command == ("rest",):
        p.add_argument("--method", "-m", default="get", type=str.lower,
                       choices=["head", "get", "put", "post", "delete", "options", "patch"])  # fmt: skip
        p.add_argument("--url", "--uri", "-u", required=True)
        p.add_argument("--headers", nargs="+")
        p.add_argument("--uri-parameters", "--url-parameters", nargs="+")
        p.add_argument("--body", "-b")
        p.add_argument("--output-file")
        p.add_argument("--resource")
        p.add_argument("--skip-authorization-header", action="store_true")
    elif command == ("resource", "patch"):
        p.add_argument("--ids", nargs="+")
        p.add_argument("--api-version")
        p.add_argument("--is-full-object", action="store_true")
        p.add_argument("--properties", "-p", required=True)
        p.add_argument("--resource-group", "-g")
        p.add_argument("--name", "-n")
        p.add_argument("--namespace")
        p.add_argument("--parent")
        p.add_argument("--resource-type")
        p.add_argument("--latest-include-preview", "-v", action="store_true")
    elif command in (("provider", "show"), ("provider", "register")):
        p.add_argument("--namespace", "-n", required=True)
        p.add_argument("--subscription")
        if command == ("provider", "show"):
            p.add_argument("--expand")
        else:
            p.add_argument("--wait", action="store_true")
            p.add_argument("--consent-to-permissions", "-c", action="store_true")
            p.add_argument("--management-group-id", "-m")
            p.add_argument("--accept-terms", action="store_true")
    else:
        raise AzError(f"'{' '.join(command)}' is misspelled or not recognized by the system.", 2)
    return p


def split_command(args: list[str]) -> tuple[tuple[str, ...], list[str]]:
    words = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    return tuple(words), args[len(words) :]


# -- talking to the endpoint -----------------------------------------------------------------------
def _context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=os.environ["AZ_STANDIN_CA"])


def _token() -> str:
    query = urllib.parse.urlencode({"resource": ARM_AUDIENCE, "api-version": "2019-08-01"})
    request = urllib.request.Request(
        f"{os.environ['IDENTITY_ENDPOINT']}?{query}", headers={"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]}
    )
    with urllib.request.urlopen(request, context=_context(), timeout=30) as response:
        return str(json.loads(response.read())["access_token"])


class Response:
    def __init__(self, status: int, reason: str, headers: dict[str, str], text: str) -> None:
        self.status, self.reason, self.headers, self.text = status, reason, headers, text

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    def json(self) -> Any:
        return json.loads(self.text) if self.text.strip() else None


def send(method: str, url: str, body: str | None = None) -> Response:
    if "://" not in url:
        url = os.environ["AZ_STANDIN_ARM"].rstrip("/") + url
    headers = {"Authorization": f"Bearer {_token()}"}
    data = None
    if body is not None:
        data = body.encode("utf-8")
        try:
            json.loads(body)
            headers["Content-Type"] = "application/json"
        except ValueError:
            pass
    # requests (az's HTTP client) sends the URL as given, quoting only what is not allowed in a URL.
    url = urllib.parse.quote(url, safe="/:?&=%~+@!$'()*,;[]#")
    request = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
    try:
        with urllib.request.urlopen(request, context=_context(), timeout=60) as answer:
            return Response(answer.status, answer.reason, dict(answer.headers), answer.read().decode("utf-8"))
    except urllib.error.HTTPError as err:
        return Response(err.code, err.reason, dict(err.headers), err.read().decode("utf-8"))


def checked(response: Response) -> Response:
    if not response.ok:
        reason = response.reason + (f"({response.text})" if response.text else "")
        raise AzError(reason, 3 if response.status == 404 else 1)
    return response


# -- the commands ----------------------------------------------------------------------------------
def cloud_show(_: argparse.Namespace) -> Any:
    arm = os.environ.get("AZ_STANDIN_CLOUD_ARM", os.environ["AZ_STANDIN_ARM"])
    return {"name": os.environ.get("AZ_STANDIN_CLOUD", "AzureCloud"), "endpoints": {"resourceManager": arm + "/"}}


def rest(ns: argparse.Namespace) -> Any:
    return checked(send(ns.method, ns.url, ns.body)).json()


def resource_patch(ns: argparse.Namespace) -> Any:
    if not ns.ids or not ns.api_version:
        raise AzError("this stand-in takes --ids and --api-version", 2)
    try:
        given = json.loads(ns.properties)
    except ValueError as err:
        raise AzError(f"Error parsing JSON: {ns.properties}\n{err}") from err
    results = []
    for resource_id in ns.ids:
        body = {k: given[k] for k in GENERIC_RESOURCE if k in given} if ns.is_full_object else {"properties": given}
        if ns.is_full_object and isinstance(given.get("identity"), dict):
            identity = given["identity"]
            body["identity"] = {k: identity[k] for k in ("type",) if k in identity}
            if "userAssignedIdentities" in identity:
                # principalId and clientId are read-only in the SDK's model; a null (an unlink) stays null,
                # as az 2.91 sends it (seen with `az resource patch --debug` against the sandbox).
                users = identity["userAssignedIdentities"] or {}
                body["identity"]["userAssignedIdentities"] = {k: None if v is None else {} for k, v in users.items()}
        url = f"{resource_id}?api-version={ns.api_version}"
        first = checked(send("PATCH", url, json.dumps(body)))
        status_url = first.headers.get("Azure-AsyncOperation") or first.headers.get("Location")
        if first.status in (201, 202) and status_url:
            while True:
                state = checked(send("GET", status_url))
                status = str((state.json() or {}).get("status", "")) if state.status == 200 else "InProgress"
                if status.lower() in ("succeeded", "failed", "canceled"):
                    break
                time.sleep(min(float(state.headers.get("Retry-After", "1")), 0.05))
            if status.lower() != "succeeded":
                raise AzError(f"(ContainerAppOperationFailed) the operation ended {status}: {state.text}")
        results.append(checked(send("GET", url)).json())
    return results[0] if len(results) == 1 else results


PROVIDERS_API = "2021-04-01"


def _provider_url(ns: argparse.Namespace, action: str = "") -> str:
    if not ns.subscription:
        raise AzError("this stand-in takes --subscription", 2)
    namespace = urllib.parse.quote(ns.namespace, safe="")
    return f"/subscriptions/{ns.subscription}/providers/{namespace}{action}?api-version={PROVIDERS_API}"


def provider_show(ns: argparse.Namespace) -> Any:
    return checked(send("GET", _provider_url(ns))).json()


def provider_register(ns: argparse.Namespace) -> Any:
    state = checked(send("POST", _provider_url(ns, "/register"))).json()
    while ns.wait and str((state or {}).get("registrationState")) != "Registered":
        time.sleep(0.05)
        state = checked(send("GET", _provider_url(ns))).json()
    return None  # az prints nothing


COMMANDS = {
    ("cloud", "show"): cloud_show,
    ("rest",): rest,
    ("resource", "patch"): resource_patch,
    ("provider", "show"): provider_show,
    ("provider", "register"): provider_register,
}


# -- output ----------------------------------------------------------------------------------------
def tsv_value(value: Any) -> str:
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ""
    return value if isinstance(value, str) else str(value)


def tsv(result: Any) -> str:
    rows = []
    for item in result if isinstance(result, list) else [result]:
        if isinstance(item, dict):
            rows.append("\t".join(tsv_value(v) for _, v in sorted(item.items())))
        elif isinstance(item, list):
            rows.append("\t".join(tsv_value(v) for v in item))
        elif isinstance(item, bool):
            rows.append(str(item).lower())
        else:
            rows.append(tsv_value(item))
    return "".join(row + "\n" for row in rows)


def output(result: Any, ns: argparse.Namespace) -> str:
    if ns.query:
        result = jmespath.search(ns.query, result)
    if result is None or ns.output == "none":
        return ""
    if ns.output == "tsv":
        return tsv(result)
    return json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


def main(argv: list[str]) -> int:
    try:
        args = expand_file_arguments(argv)
        command, rest_args = split_command(args)
        ns = parser(command).parse_args(rest_args)
        if os.environ.get("AZ_STANDIN_LOG"):
            with open(os.environ["AZ_STANDIN_LOG"], "a", encoding="utf-8") as log:
                log.write(json.dumps({"argv": argv, "command": list(command), "args": vars(ns)}) + "\n")
        sys.stdout.write(output(COMMANDS[command](ns), ns))
        return 0
    except AzError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return err.code
    except jmespath.exceptions.JMESPathError as err:
        print(f"ERROR: Invalid jmespath query supplied for `--query`: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
