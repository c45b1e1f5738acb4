#!/usr/bin/python3
"""Proves that scripts/setup.sh installs everything a build and its tests use.

CI runs on a machine that keeps what earlier runs installed, so a green build says nothing about
a fresh one. This check looks at what one configured and built tree really used from the system:

- the CMake package configuration files that configure resolved (every `<name>_DIR` in
  CMakeCache.txt) and the pkg-config files behind every `pkg_check_modules`;
- every header the compiler read (`ninja -t deps`), every include directory on a compile line
  (compile_commands.json), every library on a link line (build.ninja) and every shared library
  the built programs load (ldd);
- every program the scripts and tests start (PROGRAMS below);
- every module the project's Python files import, as /usr/bin/python3 finds it.

Each file is mapped to the Debian package that owns it (the dpkg database that `dpkg -S`
reads). A package must be in setup.sh's list, pulled in by one that is (Depends and
Pre-Depends, followed through the installed packages), or be part of every Debian system
(Essential or Priority required). Otherwise the check prints one line naming the file and the
package to add, and fails. It also checks the two registry pins: the npm lockfile of the
browser tests (and that every locked package's `engines.node` admits both this machine's Node.js
and the one Debian's archive offers, which a fresh machine gets) and the TigerBeetle client
library taken from the PyPI wheel.

    scripts/check_packages.py --build-dir build [--setup scripts/setup.sh]
"""

import argparse
import ast
import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys

# Programs the project starts, and where (besides the compiler toolchain CMake found):
# scripts/services.sh and tests/support start PostgreSQL's tools (initdb, pg_ctl, postgres,
# psql) and redis-server; the browser test runs node with Chromium; setup.sh and the bench
# smoke test run /usr/bin/python3; the build runs cmake, ninja, ccache and pkg-config; CI runs
# clang-format-14 and clang-tidy-14; tigerbeetle/obtain.sh runs curl and scripts/netsim.sh ip.
PROGRAMS = ["redis-server", "redis-cli", "psql", "chromium", "node", "npm", "/usr/bin/python3",
            "cmake", "ninja", "ccache", "pkg-config", "runuser", "clang-format-14",
            "clang-tidy-14", "curl", "ip"]
# Modules run with `python3 -m` rather than imported: scripts/fetch_tb_client.sh's pip.
RUN_MODULES = ["pip"]
# The Node.js of Debian 12's release, for when apt knows of no nodejs (no package lists yet).
DEBIAN_NODE = "18.13.0"
POSTGRES_PROGRAMS = ["initdb", "pg_ctl", "postgres"]

DPKG_INFO_DIR = "/var/lib/dpkg/info"
DPKG_STATUS_FILE = "/var/lib/dpkg/status"


# --- what setup.sh installs --------------------------------------------------------------------

def setup_packages(setup_text):
    """The package names of setup.sh's `packages=(...)` list and its `packages+=(...)` lines."""
    names = []
    for match in re.finditer(r"packages\+?=\(([^)]*)\)", setup_text):
        body = re.sub(r"#[^\n]*", "", match.group(1))
        names.extend(word for word in body.split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", word))
    return names


# --- the dpkg database -------------------------------------------------------------------------

def parse_status(status_text):
    """Installed packages of a dpkg status file: name -> its fields."""
    installed = {}
    for stanza in status_text.split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if "install ok installed" in fields.get("Status", "") and "Package" in fields:
            installed[fields["Package"]] = fields
    return installed


def dependency_groups(fields):
    """Depends and Pre-Depends as lists of alternatives, each a bare package name."""
    groups = []
    for key in ("Pre-Depends", "Depends"):
        for group in fields.get(key, "").split(","):
            names = [re.sub(r"[\s(:\[].*", "", alt.strip()) for alt in group.split("|")]
            names = [name for name in names if name]
            if names:
                groups.append(names)
    return groups


def closure(roots, installed):
    """Every installed package that `roots` and the base system pull in: for each dependency the
    first installed alternative (or the installed package that provides it)."""
    providers = {}
    for name, fields in installed.items():
        for provided in fields.get("Provides", "").split(","):
            provided = re.sub(r"[\s(].*", "", provided.strip())
            if provided:
                providers.setdefault(provided, []).append(name)
    base = [name for name, fields in installed.items()
            if fields.get("Essential") == "yes" or fields.get("Priority") == "required"]
    seen, stack = set(), list(roots) + base
    while stack:
        name = stack.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        for group in dependency_groups(installed[name]):
            for alternative in group:
                chosen = [alternative] if alternative in installed else providers.get(alternative)
                if chosen:
                    stack.append(chosen[0])
                    break
    return seen


def owner_index(info_dir):
    """Path -> owning packages, from the dpkg database's file lists."""
    owners = {}
    for list_file in glob.glob(os.path.join(info_dir, "*.list")):
        package = os.path.basename(list_file)[:-len(".list")].split(":")[0]
        with open(list_file, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                owners.setdefault(line.rstrip("\n"), set()).add(package)
    return owners


def path_variants(path):
    """The names dpkg may know a file by: as given, resolved, and across the merged /usr."""
    variants = []
    for candidate in (path, os.path.realpath(path)):
        variants.append(candidate)
        for top in ("/lib", "/lib64", "/bin", "/sbin"):
            if candidate.startswith(top + "/"):
                variants.append("/usr" + candidate)
            if candidate.startswith("/usr" + top + "/"):
                variants.append(candidate[len("/usr"):])
    return variants


def owners_of(path, owners):
    found = set()
    for variant in path_variants(path):
        found |= owners.get(variant, set())
    return found


# --- what the build used -----------------------------------------------------------------------

def read_cache(build_dir):
    cache = {}
    with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as lines:
        for line in lines:
            match = re.match(r"([^#/][^:=]*):[A-Z]+=(.*)", line.rstrip("\n"))
            if match:
                cache[match.group(1)] = match.group(2)
    return cache


def cmake_package_files(cache):
    """The config file of every package configure resolved (`<name>_DIR` entries)."""
    files = []
    for key, value in cache.items():
        if not key.endswith("_DIR") or not os.path.isdir(value):
            continue
        configs = glob.glob(os.path.join(value, "*Config.cmake"))
        configs += glob.glob(os.path.join(value, "*-config.cmake"))
        files.extend(sorted(configs)[:1] or [value])
    return files


def pkg_config_files(cache):
    """The .pc file of every module `pkg_check_modules` looked up, and the libraries it found."""
    files = []
    for key, value in cache.items():
        if key.startswith("__pkg_config_arguments_"):
            modules = [word for word in value.split(";") if word not in
                       ("REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                        "NO_CMAKE_ENVIRONMENT_PATH")]
            for module in modules:
                found = subprocess.run(["pkg-config", "--path", module], capture_output=True,
                                       text=True, check=False)
                if found.returncode == 0:
                    files.append(found.stdout.strip())
        elif key.startswith("pkgcfg_lib_") and os.path.isfile(value):
            files.append(value)
    return files


def compiler_headers(build_dir):
    """Every file a compile read, as Ninja recorded it."""
    deps = subprocess.run(["ninja", "-C", build_dir, "-t", "deps"], capture_output=True,
                          text=True, check=False)
    return [line.strip() for line in deps.stdout.splitlines()
            if line.startswith("    /")]


def include_directories(build_dir):
    path = os.path.join(build_dir, "compile_commands.json")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as source:
        commands = json.load(source)
    directories = set()
    for entry in commands:
        words = shlex.split(entry["command"])
        for index, word in enumerate(words):
            if word in ("-I", "-isystem") and index + 1 < len(words):
                directories.add(words[index + 1])
            elif word.startswith("-I") and len(word) > 2:
                directories.add(word[2:])
    return sorted(directories)


def link_libraries(build_dir):
    """Absolute libraries and `-lname` libraries on the link lines of build.ninja."""
    libraries = set()
    with open(os.path.join(build_dir, "build.ninja"), encoding="utf-8") as ninja:
        for line in ninja:
            if not line.strip().startswith("LINK_LIBRARIES ="):
                continue
            for word in shlex.split(line.split("=", 1)[1]):
                if word.startswith("/") and os.path.exists(word):
                    libraries.add(word)
                elif word.startswith("-l") and len(word) > 2:
                    found = subprocess.run(["c++", f"-print-file-name=lib{word[2:]}.so"],
                                           capture_output=True, text=True, check=False)
                    if os.path.isabs(found.stdout.strip()):
                        libraries.add(found.stdout.strip())
    return sorted(libraries)


def loaded_libraries(build_dir):
    """Shared libraries the built programs load."""
    libraries = set()
    for program in glob.glob(os.path.join(build_dir, "*")):
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            continue
        listing = subprocess.run(["ldd", program], capture_output=True, text=True, check=False)
        for match in re.finditer(r"=> (/\S+)", listing.stdout):
            libraries.add(match.group(1))
    return sorted(libraries)


def program_paths(cache):
    paths = []
    for name in PROGRAMS:
        found = name if os.path.isabs(name) else find_on_path(name)
        paths.append(found or name)
    postgres_dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for name in POSTGRES_PROGRAMS:
        paths.append(os.path.join(postgres_dirs[-1], name) if postgres_dirs else name)
    compiler = cache.get("CMAKE_CXX_COMPILER")
    if compiler:
        paths.append(compiler)
    return paths


def find_on_path(name):
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        candidate = os.path.join(directory, name)
        # pyenv and similar shims are not what the project runs: it names /usr/bin/python3.
        if os.access(candidate, os.X_OK) and "/shims/" not in candidate:
            return candidate
    return None


def imported_modules(root):
    """Top-level modules the project's Python files import, less the project's own modules."""
    listing = subprocess.run(["git", "-C", root, "ls-files", "*.py"], capture_output=True,
                             text=True, check=False)
    sources = [os.path.join(root, name) for name in listing.stdout.split()]
    own = {os.path.splitext(os.path.basename(path))[0] for path in sources}
    modules = set(RUN_MODULES)
    for path in sources:
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return sorted(modules - own)


FIND_MODULES = """
import importlib.util, json, sys
found = {}
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    found[name] = None if spec is None else (spec.origin or "")
print(json.dumps(found))
"""


def module_files(modules):
    """Each module's file as /usr/bin/python3 finds it; None where it finds none. Built-in
    modules have no file and are left out."""
    found = subprocess.run(["/usr/bin/python3", "-c", FIND_MODULES, *modules],
                           capture_output=True, text=True, check=True)
    return {name: origin for name, origin in json.loads(found.stdout).items()
            if origin is None or origin.startswith("/")}


def used_files(build_dir, root=None):
    cache = read_cache(build_dir)
    files = []
    files += cmake_package_files(cache)
    files += pkg_config_files(cache)
    files += compiler_headers(build_dir)
    files += include_directories(build_dir)
    files += link_libraries(build_dir)
    files += loaded_libraries(build_dir)
    files += program_paths(cache)
    if root:
        files += [path for path in module_files(imported_modules(root)).values() if path]
    return files


# --- the verdict -------------------------------------------------------------------------------

def package_problems(files, owners, allowed, tree_roots):
    """One line per package that a used file comes from and setup.sh does not bring."""
    problems, reported = [], set()
    for path in files:
        if any(os.path.realpath(path).startswith(root + os.sep) for root in tree_roots):
            continue
        if not os.path.isabs(path) or not os.path.exists(path):
            if path not in reported:
                reported.add(path)
                problems.append(f"check_packages: {path} is used but not installed: "
                                "add the package that provides it to scripts/setup.sh")
            continue
        found = owners_of(path, owners)
        if not found:
            if path not in reported and not os.path.isdir(path):
                reported.add(path)
                problems.append(f"check_packages: {path} belongs to no Debian package: "
                                "install it through scripts/setup.sh instead")
            continue
        if found & allowed:
            continue
        package = sorted(found)[0]
        if package not in reported:
            reported.add(package)
            problems.append(f"check_packages: {path} comes from {package}, which "
                            f"scripts/setup.sh does not install: add {package} to its list")
    return problems


def npm_problems(root):
    """The browser tests' npm dependencies are pinned, locked and installed as locked."""
    problems = []
    folder = os.path.join(root, "tests", "browser")
    with open(os.path.join(folder, "package.json"), encoding="utf-8") as source:
        wanted = json.load(source).get("dependencies", {})
    lock_path = os.path.join(folder, "package-lock.json")
    if not os.path.exists(lock_path):
        return [f"check_packages: {lock_path} is missing: run npm install in tests/browser"]
    with open(lock_path, encoding="utf-8") as source:
        locked = json.load(source).get("packages", {})
    for name, version in wanted.items():
        entry = locked.get(f"node_modules/{name}", {})
        if not re.fullmatch(r"\d+\.\d+\.\d+", version):
            problems.append(f"check_packages: npm {name} {version} is not an exact version")
        elif entry.get("version") != version:
            problems.append(f"check_packages: npm {name} {version} is not what "
                            f"package-lock.json locks ({entry.get('version')})")
        installed = os.path.join(folder, "node_modules", name, "package.json")
        if os.path.exists(installed):
            with open(installed, encoding="utf-8") as source:
                if json.load(source).get("version") != version:
                    problems.append(f"check_packages: {installed} is not {version}: "
                                    "setup.sh must run npm ci")
    nodes = [("Debian's nodejs", version) for version in debian_node_versions()]
    here = installed_node()
    if here:
        nodes.append(("this machine's node", here))
    return problems + node_engine_problems(locked, nodes)


def python_problems(root):
    """A module the project imports that /usr/bin/python3 cannot find at all."""
    return [f"check_packages: /usr/bin/python3 finds no module {name}, which the project "
            "imports: install its python3- package from scripts/setup.sh"
            for name, path in module_files(imported_modules(root)).items() if path is None]


def parse_version(text):
    """(major, minor, patch) of `v20.1.0`, `18.20.4+dfsg-1~deb12u3` or `1:18.2`."""
    match = re.match(r"(?:\d+:)?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text.strip())
    if not match:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(part or 0) for part in match.groups())


def satisfies(version, requirement):
    """Whether `version` (a tuple) meets an npm `engines` range: `||` between alternatives,
    each of comparators (`>=`, `>`, `<=`, `<`, `=`, `^`, `~`, or a plain and possibly partial
    version such as `18` or `18.x`) or a hyphen range `A - B`. Raises ValueError on any other
    form."""
    def unreadable():
        return ValueError(f"unreadable engines range {requirement!r}")

    def bounds(operator, text):
        parts = [part for part in text.split(".") if part not in ("x", "X", "*")]
        if not all(part.isdigit() for part in parts) or len(parts) > 3:
            raise unreadable()
        known = len(parts)
        low = tuple(int(part) for part in parts) + (0,) * (3 - known)
        if known == 0:
            return []  # Any version.

        def above(place):  # The first version past `low` at `place` (0 major, 1 minor, 2 patch).
            return low[:place] + (low[place] + 1,) + (0,) * (2 - place)

        if operator in (">=", "<"):
            return [(operator, low)]
        if operator == ">":
            return [(">", low)] if known == 3 else [(">=", above(known - 1))]
        if operator == "<=":
            return [("<=", low)] if known == 3 else [("<", above(known - 1))]
        if operator == "~":
            return [(">=", low), ("<", above(0 if known == 1 else 1))]
        if operator == "^":
            first = next((place for place in range(known) if low[place] != 0), known - 1)
            return [(">=", low), ("<", above(first))]
        return [("=", low)] if known == 3 else [(">=", low), ("<", above(known - 1))]

    compare = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
               "<": lambda a, b: a < b, "=": lambda a, b: a == b}
    for alternative in requirement.split("||"):
        alternative = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", alternative.strip())
        hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", alternative)
        words = [">=" + hyphen.group(1), "<=" + hyphen.group(2)] if hyphen else alternative.split()
        checks = []
        for word in words or ["*"]:
            match = re.fullmatch(r"(>=|<=|>|<|=|\^|~)?v?([0-9xX*][0-9xX*.]*)", word)
            if not match:
                raise unreadable()
            checks += bounds(match.group(1) or "", match.group(2))
        if all(compare[operator](version, bound) for operator, bound in checks):
            return True
    return False


def debian_node_versions():
    """The nodejs versions apt's package lists offer (what setup.sh installs on a fresh
    machine), or Debian 12's release version where apt has no lists."""
    try:
        madison = subprocess.run(["apt-cache", "madison", "nodejs"], capture_output=True,
                                 text=True, check=False).stdout
    except OSError:
        madison = ""
    versions = sorted({line.split("|")[1].strip() for line in madison.splitlines()
                       if line.count("|") >= 2})
    return versions or [DEBIAN_NODE]


def node_engine_problems(locked, nodes):
    """Each locked npm package whose `engines.node` refuses one of `nodes` (label, version)."""
    problems = []
    readable = []
    for label, version in nodes:
        try:
            readable.append((label, version, parse_version(version)))
        except ValueError as error:
            problems.append(f"check_packages: {label}: {error}")
    for path, entry in sorted(locked.items()):
        requirement = entry.get("engines", {}).get("node") if path else None
        if not requirement:
            continue
        for label, version, parsed in readable:
            try:
                if not satisfies(parsed, requirement):
                    problems.append(f"check_packages: npm {path.split('node_modules/')[-1]} "
                                    f"{entry.get('version')} needs Node.js {requirement}, "
                                    f"but {label} is {version}: pin a version that runs on it")
            except ValueError as error:
                problems.append(f"check_packages: npm {path}: {error}")
                break  # The range is unreadable whatever the version: said once.
    return problems


def installed_node():
    try:
        found = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return None  # The programs' check names the missing node.
    return found.stdout.strip() if found.returncode == 0 else None


def wheel_problems(root):
    """The TigerBeetle client library is the pinned wheel's, byte for byte."""
    pin_dir = os.path.join(root, "tigerbeetle")
    with open(os.path.join(pin_dir, "VERSION"), encoding="utf-8") as source:
        version = source.read().strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        return [f"check_packages: tigerbeetle/VERSION {version!r} is not an exact version"]
    with open(os.path.join(pin_dir, "libtb_client.sha256"), encoding="utf-8") as source:
        expected = source.read().split()[0]
    library = os.path.join(pin_dir, "lib", "libtb_client.so")
    if not os.path.exists(library):
        return [f"check_packages: {library} is missing: scripts/setup.sh fetches it"]
    with open(library, "rb") as source:
        actual = hashlib.sha256(source.read()).hexdigest()
    if actual != expected:
        return [f"check_packages: {library} is not the tigerbeetle=={version} wheel's "
                f"(sha256 {actual}, pinned {expected})"]
    return []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--setup", default=None, help="setup script (default scripts/setup.sh)")
    parser.add_argument("--dpkg-info", default=DPKG_INFO_DIR)
    parser.add_argument("--dpkg-status", default=DPKG_STATUS_FILE)
    args = parser.parse_args(argv)

    root = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
    build_dir = os.path.realpath(args.build_dir)
    with open(args.setup or os.path.join(root, "scripts", "setup.sh"), encoding="utf-8") as f:
        wanted = setup_packages(f.read())
    with open(args.dpkg_status, encoding="utf-8", errors="replace") as status:
        installed = parse_status(status.read())
    allowed = closure(wanted, installed)
    owners = owner_index(args.dpkg_info)

    files = used_files(build_dir, root)
    problems = package_problems(files, owners, allowed, [root, build_dir])
    problems += python_problems(root)
    problems += npm_problems(root)
    problems += wheel_problems(root)
    for line in problems:
        print(line)
    print(f"check_packages: {len(set(files))} files used, {len(wanted)} packages listed, "
          f"{len(allowed)} in their closure, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
