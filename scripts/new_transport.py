#!/usr/bin/env python3
"""Create a new kombu transport package from templates/kombu-transport-template.

    python scripts/new_transport.py acme-kombu-foo                  # scheme "foo"
    python scripts/new_transport.py acme-kombu-foo --scheme foo --outdir ~/src \\
        --author "Acme Ltd" --description "The Foo transport for kombu-core."

Writes ``<outdir>/<name>/``: a buildable distribution whose entry point in
``kombu.plugins`` registers ``<scheme>://``, with a working in-process
transport to replace with your broker's client.  Stdlib only.

Placeholders in file names and contents: ``{{name}}`` (distribution),
``{{module}}`` (import package), ``{{scheme}}``, ``{{description}}``,
``{{author}}``, ``{{license}}``, ``{{version}}``, ``{{core_requirement}}``,
``{{plugin_api}}`` and ``{{year}}``.  A ``.tmpl`` suffix is dropped from file
names; ``LICENSE`` (BSD-3-Clause text) is written only for that license.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import keyword
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "kombu-transport-template"
#: Stripped from file names: keeps tools from reading the template's pyproject.toml.
TEMPLATE_SUFFIX = ".tmpl"
#: The license text the template carries; written only for that license.
LICENSE_TEMPLATE = "LICENSE.tmpl"
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*$")
#: Schemes kombu-core or its first-party plugins already answer.
TAKEN_SCHEMES = {
    "memory", "filesystem", "amqp", "amqps", "pyamqp", "pyamqps", "librabbitmq", "redis",
    "rediss", "socket", "sentinel", "sqs", "mongodb", "sqlalchemy", "sqla", "zookeeper",
    "azurestoragequeues",
}


class TemplateError(Exception):
    """The requested package cannot be generated."""


def core_version() -> str:
    """kombu-core's version: from this repository, else the installed distribution."""
    pyproject = ROOT / "kombu-core" / "pyproject.toml"
    if pyproject.is_file():
        found = re.search(r'(?m)^version\s*=\s*"([^"]+)"', pyproject.read_text())
        if found:
            return found.group(1)
    try:
        return importlib.metadata.version("kombu-core")
    except importlib.metadata.PackageNotFoundError:
        raise TemplateError("cannot tell kombu-core's version: pass --core-version") from None


def core_requirement(version: str) -> str:
    """A compatible range: the same minor for 0.x, the same major from 1.0 on."""
    found = re.match(r"(\d+)\.(\d+)", version)
    if not found:
        raise TemplateError(f"kombu-core version {version!r} is not MAJOR.MINOR[.MICRO]")
    major, minor = int(found.group(1)), int(found.group(2))
    upper = f"0.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"kombu-core>={major}.{minor},<{upper}"


def plugin_api() -> str:
    """The kernel API version (``KERNEL_API_VERSION``) as ``"MAJOR.MINOR"``."""
    plugins = ROOT / "kombu-core" / "src" / "kombu" / "plugins.py"
    if plugins.is_file():
        found = re.search(r"^KERNEL_API_VERSION\s*=\s*\((\d+),\s*(\d+)\)",
                          plugins.read_text(), re.M)
        if found:
            return f"{found.group(1)}.{found.group(2)}"
    try:
        from kombu.plugins import KERNEL_API_VERSION
    except ImportError:
        return "1.0"
    return ".".join(map(str, KERNEL_API_VERSION))


def context(name: str, *, scheme: str | None = None, module: str | None = None,
            description: str | None = None, author: str = "The authors",
            license: str = "BSD-3-Clause", version: str = "0.1.0",
            core: str | None = None, first_party: bool = False) -> dict[str, str]:
    """Validate the options and return the placeholder values."""
    if not NAME_RE.match(name):
        raise TemplateError(f"{name!r} is not a distribution name like 'acme-kombu-foo' "
                            f"(lower case letters, digits and dashes)")
    if name.startswith("kombu-") and not first_party:
        raise TemplateError(
            f"'kombu-*' names are reserved for the kombu-core project's own plugins; "
            f"publish yours under your own prefix, e.g. 'acme-{name}'")
    scheme = scheme or name.rsplit("-", 1)[-1]
    if not SCHEME_RE.match(scheme):
        raise TemplateError(f"{scheme!r} is not a URL scheme (a letter, then letters, "
                            f"digits, '+', '-' or '.')")
    if scheme in TAKEN_SCHEMES:
        raise TemplateError(f"the scheme {scheme!r} is already served by kombu-core or "
                            f"one of its plugins: pick another with --scheme")
    module = module or name.replace("-", "_")
    if not module.isidentifier() or keyword.iskeyword(module) or module == "kombu":
        raise TemplateError(f"{module!r} cannot be the import package: pass --module")
    return {
        "name": name,
        "module": module,
        "scheme": scheme,
        "description": description or f"The {scheme}:// transport for kombu-core.",
        "author": author,
        "license": license,
        "version": version,
        "core_requirement": core_requirement(core or core_version()),
        "plugin_api": plugin_api(),
        "year": str(datetime.date.today().year),
    }


def render(text: str, values: dict[str, str], where: str) -> str:
    """Substitute every ``{{key}}``; an unknown key is an error."""
    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise TemplateError(f"{where}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    return PLACEHOLDER.sub(sub, text)


def generate(values: dict[str, str], outdir: Path, template: Path = TEMPLATE,
             force: bool = False) -> Path:
    """Write the rendered template to ``outdir/<name>``; return that folder."""
    target = outdir / values["name"]
    if target.exists():
        if not force:
            raise TemplateError(f"{target} exists (use --force to replace it)")
        shutil.rmtree(target)
    for source in sorted(template.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        relative = source.relative_to(template).as_posix()
        if relative == LICENSE_TEMPLATE and values["license"] != "BSD-3-Clause":
            continue  # the author adds the text of the license they chose
        dest = target / render(relative, values, relative).removesuffix(TEMPLATE_SUFFIX)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(render(source.read_text(), values, relative))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="distribution name, e.g. acme-kombu-foo")
    parser.add_argument("--scheme", help="URL scheme (default: the name's last word)")
    parser.add_argument("--module", help="import package (default: the name with '_')")
    parser.add_argument("--description")
    parser.add_argument("--author", default="The authors")
    parser.add_argument("--license", default="BSD-3-Clause", help="an SPDX expression")
    parser.add_argument("--version", default="0.1.0", help="the package's first version")
    parser.add_argument("--core-version", help="kombu-core version to depend on "
                        "(default: this repository's, else the installed one)")
    parser.add_argument("--outdir", type=Path, default=Path.cwd())
    parser.add_argument("--force", action="store_true", help="replace an existing folder")
    parser.add_argument("--first-party", action="store_true",
                        help="allow a 'kombu-*' name (the project's own plugins)")
    ns = parser.parse_args(argv)
    try:
        values = context(ns.name, scheme=ns.scheme, module=ns.module,
                         description=ns.description, author=ns.author, license=ns.license,
                         version=ns.version, core=ns.core_version,
                         first_party=ns.first_party)
        target = generate(values, ns.outdir, force=ns.force)
    except TemplateError as exc:
        print(f"new_transport: {exc}", file=sys.stderr)
        return 1
    print(f"created {target} (scheme {values['scheme']}://, package {values['module']})")
    if not (target / "LICENSE").exists():
        print(f"add a LICENSE file with the text of {values['license']}")
    print(f"next: pip install -e '{target}[test]' && "
          f"pytest -p kombu.testing --kombu-url={values['scheme']}://")
    return 0


if __name__ == "__main__":
    sys.exit(main())
