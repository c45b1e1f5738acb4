#!/usr/bin/python3
"""Tests of scripts/check_packages.py.

The fabricated tests build a tiny dpkg database, CMake cache and setup script in a temporary
folder, so they prove the check's logic on any machine. The tests against the real build need a
configured and built tree (TIGERFANS_BUILD_DIR, set by ctest) and this machine's dpkg database:
they prove that dropping one package from the real setup.sh is caught.
"""

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import check_packages  # noqa: E402

STATUS = """\
Package: libc6
Status: install ok installed
Priority: required

Package: libboost1.81-dev
Status: install ok installed
Priority: optional
Depends: libboost-headers1.81 | libboost-fallback, libc6 (>= 2.34)

Package: libboost-headers1.81
Status: install ok installed
Priority: optional

Package: libboost-system1.81-dev
Status: install ok installed
Priority: optional
Depends: libboost1.81-dev (= 1.81.0-5)

Package: libboost-system1.81.0
Status: install ok installed
Priority: optional

Package: removed-package
Status: deinstall ok config-files
Priority: optional
"""


class Fabricated(unittest.TestCase):
    """A made-up machine: Boost's headers and its system component, as Debian splits them."""

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        base = self.folder.name
        self.boost_dir = os.path.join(base, "usr/lib/cmake/Boost-1.81.0")
        self.system_dir = os.path.join(base, "usr/lib/cmake/boost_system-1.81.0")
        self.header = os.path.join(base, "usr/include/boost/asio.hpp")
        for path in (os.path.join(self.boost_dir, "BoostConfig.cmake"),
                     os.path.join(self.system_dir, "boost_systemConfig.cmake"), self.header):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
        self.build = os.path.join(base, "build")
        os.makedirs(self.build)
        with open(os.path.join(self.build, "CMakeCache.txt"), "w") as cache:
            cache.write("// a comment line\n")
            cache.write(f"Boost_DIR:PATH={self.boost_dir}\n")
            cache.write(f"boost_system_DIR:PATH={self.system_dir}\n")
            cache.write("GTest_DIR:PATH=GTest_DIR-NOTFOUND\n")
        self.owners = {
            os.path.join(self.boost_dir, "BoostConfig.cmake"): {"libboost1.81-dev"},
            os.path.join(self.system_dir, "boost_systemConfig.cmake"):
                {"libboost-system1.81-dev"},
            self.header: {"libboost-headers1.81"},
        }
        self.installed = check_packages.parse_status(STATUS)

    def tearDown(self):
        self.folder.cleanup()

    def problems(self, setup_text):
        wanted = check_packages.setup_packages(setup_text)
        allowed = check_packages.closure(wanted, self.installed)
        cache = check_packages.read_cache(self.build)
        files = check_packages.cmake_package_files(cache) + [self.header]
        return check_packages.package_problems(files, self.owners, allowed, [self.build])

    def test_a_package_left_out_of_setup_is_named_with_the_file_that_needs_it(self):
        problems = self.problems("packages=(\n    cmake libboost1.81-dev  # Boost\n)\n")
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("boost_systemConfig.cmake comes from libboost-system1.81-dev", problems[0])
        self.assertIn("add libboost-system1.81-dev to its list", problems[0])

    def test_a_listed_package_and_what_it_depends_on_pass(self):
        self.assertEqual(self.problems("packages=(libboost-system1.81-dev)\n"), [])

    def test_packages_appended_under_a_condition_count_as_listed(self):
        text = "packages=(cmake)\nif true; then\n    packages+=(libboost-system1.81-dev)\nfi\n"
        self.assertEqual(self.problems(text), [])

    def test_the_first_installed_alternative_is_followed(self):
        allowed = check_packages.closure(["libboost1.81-dev"], self.installed)
        self.assertIn("libboost-headers1.81", allowed)
        self.assertIn("libc6", allowed)  # Priority required: on every Debian system
        self.assertNotIn("libboost-system1.81.0", allowed)
        self.assertNotIn("removed-package", self.installed)

    def test_a_file_of_no_package_fails(self):
        stray = os.path.join(self.folder.name, "opt/stray/libstray.so")
        os.makedirs(os.path.dirname(stray))
        open(stray, "w").close()
        problems = check_packages.package_problems([stray], {}, set(), [self.build])
        self.assertEqual(len(problems), 1)
        self.assertIn("belongs to no Debian package", problems[0])

    def test_files_inside_the_tree_are_the_projects_own(self):
        own = os.path.join(self.build, "generated.hpp")
        open(own, "w").close()
        self.assertEqual(check_packages.package_problems([own], {}, set(), [self.build]), [])

    def test_merged_usr_names_are_tried(self):
        variants = check_packages.path_variants("/lib/x86_64-linux-gnu/libc.so.6")
        self.assertIn("/usr/lib/x86_64-linux-gnu/libc.so.6", variants)


class NodeEngines(unittest.TestCase):
    """A locked npm package must run on the Node.js a fresh Debian machine gets."""

    def test_ranges_as_npm_reads_them(self):
        def ok(version, requirement):
            return check_packages.satisfies(check_packages.parse_version(version), requirement)
        self.assertTrue(ok("v20.20.2", ">=20"))
        self.assertFalse(ok("18.20.4+dfsg-1~deb12u3", ">=20"))
        self.assertTrue(ok("18.20.4+dfsg-1~deb12u3", ">=18"))
        self.assertTrue(ok("18.20.4", "^16.13.0 || >=18.0.0"))
        self.assertFalse(ok("17.1.0", "^16.13.0 || >=18.0.0"))
        self.assertTrue(ok("18.2.0", "18.x"))
        self.assertFalse(ok("19.0.0", "18"))
        self.assertTrue(ok("18.3.9", "~18.3.1"))
        self.assertFalse(ok("18.4.0", "~18.3.1"))
        self.assertTrue(ok("18.0.0", ">=14 <19"))
        self.assertTrue(ok("1:18.0.0", "*"))
        self.assertTrue(ok("18.9.0", "~18"))
        self.assertFalse(ok("19.0.0", "~18"))
        self.assertTrue(ok("18.0.0", ">= 18"))
        self.assertFalse(ok("18.5.0", ">18"))
        self.assertTrue(ok("19.0.0", ">18"))
        self.assertTrue(ok("18.5.0", "<=18"))
        self.assertFalse(ok("19.0.0", "<=18"))
        self.assertTrue(ok("18.2.0", "16 - 18"))
        self.assertFalse(ok("19.0.0", "16 - 18"))
        self.assertTrue(ok("0.2.5", "^0.2.3"))
        self.assertFalse(ok("0.3.0", "^0.2.3"))
        with self.assertRaises(ValueError):
            ok("18.0.0", "node@latest")

    def test_a_package_that_refuses_debians_node_is_named(self):
        locked = {
            "": {"name": "browser-tests"},
            "node_modules/driver": {"version": "2.0.0", "engines": {"node": ">=20"}},
            "node_modules/helper": {"version": "1.0.0", "engines": {"node": ">=18"}},
            "node_modules/plain": {"version": "1.0.0"},
        }
        problems = check_packages.node_engine_problems(
            locked, [("Debian's nodejs", "18.20.4+dfsg-1~deb12u3"), ("this machine's node",
                                                                     "v20.20.2")])
        self.assertEqual(problems, [
            "check_packages: npm driver 2.0.0 needs Node.js >=20, but Debian's nodejs is "
            "18.20.4+dfsg-1~deb12u3: pin a version that runs on it"])

    def test_an_unreadable_range_is_named_once_whatever_the_versions(self):
        locked = {"node_modules/odd": {"version": "1.0.0", "engines": {"node": "node@latest"}}}
        problems = check_packages.node_engine_problems(
            locked, [("Debian's nodejs", "18.19.0"), ("Debian's nodejs", "18.20.4"),
                     ("this machine's node", "v20.20.2")])
        self.assertEqual(len(problems), 1)
        self.assertIn("unreadable engines range 'node@latest'", problems[0])

    def test_an_unreadable_node_version_does_not_hide_the_others(self):
        locked = {"node_modules/driver": {"version": "2.0.0", "engines": {"node": ">=20"}}}
        problems = check_packages.node_engine_problems(
            locked, [("Debian's nodejs", "unknown"), ("this machine's node", "v18.19.0")])
        self.assertEqual(problems, [
            "check_packages: Debian's nodejs: not a version: 'unknown'",
            "check_packages: npm driver 2.0.0 needs Node.js >=20, but this machine's node is "
            "v18.19.0: pin a version that runs on it"])


class PythonModules(unittest.TestCase):
    """Every module the project's Python imports is found where /usr/bin/python3 looks."""

    def test_imports_are_read_from_tracked_files_less_the_projects_own(self):
        with tempfile.TemporaryDirectory() as tree:
            with open(os.path.join(tree, "tool.py"), "w") as tool:
                tool.write("import json, helper\nfrom yaml import safe_load\n"
                           "from . import sibling\nimport urllib.request\n")
            open(os.path.join(tree, "helper.py"), "w").close()
            open(os.path.join(tree, "untracked.py"), "w").write("import not_a_module_at_all\n")
            subprocess.run(["git", "-C", tree, "init", "-q"], check=True)
            subprocess.run(["git", "-C", tree, "add", "tool.py", "helper.py"], check=True)
            modules = check_packages.imported_modules(tree)
        self.assertEqual(modules, sorted(["json", "yaml", "urllib"] + check_packages.RUN_MODULES))

    def test_a_module_python_cannot_find_is_reported_and_a_built_in_one_has_no_file(self):
        found = check_packages.module_files(["json", "sys", "not_a_module_at_all"])
        self.assertTrue(found["json"].endswith("/json/__init__.py"), found)
        self.assertNotIn("sys", found)
        self.assertIsNone(found["not_a_module_at_all"])


@unittest.skipUnless(os.environ.get("TIGERFANS_BUILD_DIR"), "needs TIGERFANS_BUILD_DIR")
class RealBuild(unittest.TestCase):
    """This machine's build and dpkg database, with one package removed from setup.sh."""

    def run_check(self, setup_text):
        with tempfile.NamedTemporaryFile("w", suffix=".sh") as setup:
            setup.write(setup_text)
            setup.flush()
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                code = check_packages.main(["--build-dir", os.environ["TIGERFANS_BUILD_DIR"],
                                            "--setup", setup.name])
        return code, output.getvalue()

    def test_removing_libboost_system_from_setup_fails_naming_it(self):
        with open(os.path.join(ROOT, "scripts", "setup.sh")) as source:
            real = source.read()
        self.assertIn(" libboost-system1.81-dev ", real)
        code, output = self.run_check(real.replace(" libboost-system1.81-dev ", " "))
        self.assertEqual(code, 1, output)
        self.assertRegex(output, re.compile(
            r"^check_packages: \S+ comes from libboost-system1\.81-dev, which scripts/setup\.sh "
            r"does not install: add libboost-system1\.81-dev to its list$", re.M))

    def test_removing_a_python_module_or_a_ci_program_from_setup_fails_naming_it(self):
        with open(os.path.join(ROOT, "scripts", "setup.sh")) as source:
            real = source.read()
        for package in ("python3-prometheus-client", "clang-format-14"):
            self.assertIn(f" {package} ", real)
            code, output = self.run_check(real.replace(f" {package} ", " "))
            self.assertEqual(code, 1, output)
            self.assertIn(f"which scripts/setup.sh does not install: add {package} to its list",
                          output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
