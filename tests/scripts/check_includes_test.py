#!/usr/bin/python3
"""Tests of scripts/check_includes.py: fabricated trees prove each finding is reported, and the
repository itself must pass."""

import contextlib
import io
import os
import sys
import tempfile
import unittest

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import check_includes  # noqa: E402


class Fabricated(unittest.TestCase):
    """A made-up tree: core at the bottom, http on it, flows on both."""

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.root = self.folder.name
        self.write("include/tigerfans/core/result.hpp", "#pragma once\n")
        self.write("include/tigerfans/http/router.hpp", '#include "tigerfans/core/result.hpp"\n')
        self.write("include/tigerfans/flows/api.hpp",
                   '#include "tigerfans/http/router.hpp"\n#include <vector>\n')
        self.write("src/http/router.cpp",
                   '#include "tigerfans/http/router.hpp"\n#include "http/parser.hpp"\n')
        self.write("src/http/parser.hpp", '#include "tigerfans/core/result.hpp"\n')
        self.write("src/flows/api.cpp", '#include "tigerfans/flows/api.hpp"\n')
        self.write("src/main.cpp", '#include "tigerfans/flows/api.hpp"\n')

    def tearDown(self):
        self.folder.cleanup()

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as file:
            file.write(text)

    def run_check(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = check_includes.main(["--root", self.root])
        return code, out.getvalue()

    def test_a_tree_whose_arrows_run_one_way_passes(self):
        code, out = self.run_check()
        self.assertEqual(code, 0, out)
        self.assertIn("4 modules", out)  # core, http, flows, main

    def test_modules_are_the_first_folder_or_the_stem_of_a_top_level_source(self):
        self.assertEqual(check_includes.module_of("include/tigerfans/http/router.hpp"), "http")
        self.assertEqual(check_includes.module_of("src/sessions/redis/store.cpp"), "sessions")
        self.assertEqual(check_includes.module_of("src/main.cpp"), "main")

    def test_a_cycle_through_a_private_header_fails_and_names_each_arrow(self):
        # core's private header reaching up into flows closes core -> flows -> http -> core.
        self.write("src/core/result.cpp", '#include "core/hooks.hpp"\n')
        self.write("src/core/hooks.hpp", '#include "tigerfans/flows/api.hpp"\n')
        code, out = self.run_check()
        self.assertEqual(code, 1)
        self.assertIn("circle: core -> flows -> http -> core", out)
        self.assertIn("core -> flows: src/core/hooks.hpp includes include/tigerfans/flows/api.hpp",
                      out)
        self.assertIn("http -> core: include/tigerfans/http/router.hpp includes "
                      "include/tigerfans/core/result.hpp", out)

    def test_two_modules_including_each_other_fail(self):
        self.write("include/tigerfans/core/result.hpp", '#include "tigerfans/http/router.hpp"\n')
        code, out = self.run_check()
        self.assertEqual(code, 1)
        self.assertIn("circle: core -> http -> core", out)

    def test_a_public_header_reaching_into_src_fails(self):
        self.write("include/tigerfans/http/router.hpp", '#include "http/parser.hpp"\n')
        code, out = self.run_check()
        self.assertEqual(code, 1)
        self.assertIn("include/tigerfans/http/router.hpp: a public header includes "
                      "src/http/parser.hpp", out)

    def test_an_include_of_no_file_fails(self):
        self.write("src/flows/api.cpp", '#include "tigerfans/flows/gone.hpp"\n')
        code, out = self.run_check()
        self.assertEqual(code, 1)
        self.assertIn('src/flows/api.cpp: "tigerfans/flows/gone.hpp" names no file', out)


class Repository(unittest.TestCase):
    def test_this_repository_passes(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = check_includes.main(["--root", ROOT])
        self.assertEqual(code, 0, out.getvalue())


if __name__ == "__main__":
    unittest.main()
