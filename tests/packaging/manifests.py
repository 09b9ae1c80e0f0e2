#!/usr/bin/env python3
"""Parses the package manifests of the source tree and checks them.

    manifests.py SRC             checks; one "ok"/"FAIL"/"SKIP:" line each
    manifests.py SRC kconfig K=V...
                                 prints the CONFIG_ values zephyr/Kconfig
                                 gives with K=V set, as -D options for CMake

Checked: every manifest parses and states smtp.h's version; PlatformIO's
build filter and Arduino's flat layout compile exactly smtp.c with smtp.h's
directory on the include path; the ESP-IDF manifest does not leave out the
files the component needs; the Zephyr module names its CMake and Kconfig,
and the Kconfig defaults are smtp.h's.  YAML and Kconfig need PyYAML and
kconfiglib (Debian: python3-yaml, python3-kconfiglib); without them those
checks print SKIP lines.
"""
import glob
import json
import os
import re
import sys

SOURCES = (".c", ".cc", ".cpp", ".S", ".s")
failed = 0


def check(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what)
    failed += not ok


def header_version(src):
    h = open(os.path.join(src, "smtp.h")).read()
    parts = [re.search(r"#define SMTP_VERSION_%s (\d+)" % k, h) for k in ("MAJOR", "MINOR", "PATCH")]
    string = re.search(r'#define SMTP_VERSION_STRING "([^"]*)"', h)
    if not all(parts) or not string:
        return None
    joined = ".".join(m.group(1) for m in parts)
    check(joined == string.group(1), "smtp.h: SMTP_VERSION_STRING %s is MAJOR.MINOR.PATCH %s"
          % (string.group(1), joined))
    return string.group(1)


def header_limits(src):
    h = open(os.path.join(src, "smtp.h")).read()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"#define (SMTP_[A-Z_]+_MAX) (\d+)", h)}


def load_yaml(path):
    try:
        import yaml
    except ImportError:
        print("SKIP: %s not parsed: PyYAML missing (Debian: python3-yaml)" % path)
        return None
    with open(path) as f:
        return yaml.safe_load(f)


def platformio_built(src, build):
    """The files PlatformIO compiles: srcFilter applied in order over srcDir."""
    base = os.path.join(src, build.get("srcDir", "src"))
    flt = build.get("srcFilter", "+<*> -<.git/> -<.svn/>")
    if isinstance(flt, list):
        flt = " ".join(flt)
    chosen = set()
    for sign, pat in re.findall(r"([+-])<([^>]*)>", flt):
        hits = set()
        for m in glob.glob(os.path.join(base, pat), recursive=True):
            if os.path.isdir(m):
                for root, _, files in os.walk(m):
                    hits.update(os.path.join(root, f) for f in files)
            else:
                hits.add(m)
        chosen = chosen | hits if sign == "+" else chosen - hits
    return sorted(os.path.relpath(p, src) for p in chosen if p.endswith(SOURCES))


def main():
    src = os.path.abspath(sys.argv[1])
    want = header_version(src)
    check(want is not None, "smtp.h defines SMTP_VERSION_MAJOR/MINOR/PATCH/STRING")

    # CMake and Meson: the project() lines.
    cm = open(os.path.join(src, "CMakeLists.txt")).read()
    m = re.search(r"project\(smtp VERSION (\S+)", cm)
    check(m is not None and m.group(1) == want, "CMakeLists.txt project() version is %s" % want)
    mb = open(os.path.join(src, "meson.build")).read()
    m = re.search(r"project\('smtp', 'c', version: '([^']*)'", mb)
    check(m is not None and m.group(1) == want, "meson.build project() version is %s" % want)
    cl = open(os.path.join(src, "CHANGELOG.md")).read()
    check(re.search(r"^## %s\b" % re.escape(want), cl, re.M) is not None,
          "CHANGELOG.md has an entry for %s" % want)

    # PlatformIO.
    lj = json.load(open(os.path.join(src, "library.json")))
    check(lj.get("version") == want, "library.json version is %s" % want)
    check(lj.get("name") == "smtp", "library.json name is smtp")
    build = lj.get("build", {})
    built = platformio_built(src, build)
    check(built == ["smtp.c"], "PlatformIO builds exactly smtp.c (got %s)" % built)
    inc = os.path.join(src, build.get("includeDir", "include"))
    check(os.path.abspath(inc) == src and os.path.isfile(os.path.join(inc, "smtp.h")),
          "PlatformIO includeDir is the directory of smtp.h")
    exported = lj.get("export", {}).get("include", [])
    check(all(f in exported for f in ("smtp.c", "smtp.h", "library.json", "LICENSE")),
          "PlatformIO export includes smtp.c, smtp.h, library.json and LICENSE")

    # Arduino: key=value lines, the 1.5 fields, flat layout (no src/).
    props, dup, bad = {}, [], []
    for line in open(os.path.join(src, "library.properties")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, sep, v = line.partition("=")
        if sep != "=":
            bad.append(line)
        if k in props:
            dup.append(k)
        props[k] = v
    check(not bad, "library.properties: every line is key=value %s" % bad)
    check(not dup, "library.properties has no duplicate keys")
    need = ["name", "version", "author", "maintainer", "sentence", "paragraph", "category",
            "architectures"]
    check(all(props.get(k) for k in need), "library.properties has %s" % ", ".join(need))
    check(props.get("version") == want, "library.properties version is %s" % want)
    check(props.get("category") in ("Display", "Communication", "Signal Input/Output", "Sensors",
                                    "Device Control", "Timing", "Data Storage",
                                    "Data Processing", "Other"),
          "library.properties category is one of Arduino's")
    check(not os.path.exists(os.path.join(src, "src")),
          "Arduino flat layout: no src/ folder, so the root folder is the library's sources")
    flat = sorted(f for f in os.listdir(src) if f.endswith(SOURCES))
    flat += sorted(os.path.join("utility", f) for f in os.listdir(os.path.join(src, "utility"))
                   if f.endswith(SOURCES)) if os.path.isdir(os.path.join(src, "utility")) else []
    check(flat == ["smtp.c"], "Arduino (flat layout) compiles exactly smtp.c (got %s)" % flat)
    check(all(os.path.isfile(os.path.join(src, h.strip()))
              for h in props.get("includes", "").split(",")),
          "library.properties includes= names headers in the root folder")

    # ESP-IDF.
    idf = load_yaml(os.path.join(src, "idf_component.yml"))
    if idf is not None:
        check(str(idf.get("version")) == want, "idf_component.yml version is %s" % want)
        excl = set()
        for p in (idf.get("files") or {}).get("exclude", []):
            excl.update(glob.glob(p, root_dir=src, recursive=True))
        kept = [f for f in ("smtp.c", "smtp.h", "CMakeLists.txt", "idf_component.yml", "LICENSE")
                if f not in excl]
        check(len(kept) == 5, "idf_component.yml files.exclude keeps smtp.c, smtp.h, "
              "CMakeLists.txt, the manifest and LICENSE")
        check("tests/unit.c" in excl and "fuzz/fuzz_server.c" in excl,
              "idf_component.yml files.exclude leaves the tests and fuzz targets out")

    # Zephyr.
    mod = load_yaml(os.path.join(src, "zephyr", "module.yml"))
    if mod is not None:
        b = mod.get("build", {})
        check(mod.get("name") == "smtp", "zephyr/module.yml name is smtp")
        check(b.get("cmake") == "zephyr" and os.path.isfile(os.path.join(src, "zephyr", "CMakeLists.txt")),
              "zephyr/module.yml build.cmake is zephyr/, which has a CMakeLists.txt")
        check(b.get("kconfig") == "zephyr/Kconfig" and os.path.isfile(os.path.join(src, "zephyr", "Kconfig")),
              "zephyr/module.yml build.kconfig is zephyr/Kconfig")
    kconf = load_kconfig(src)
    if kconf is not None:
        from kconfiglib import INT
        lim = header_limits(src)
        bad = []
        for name, value in sorted(lim.items()):
            sym = kconf.syms.get(name)
            if sym is None or sym.type != INT or sym.str_value != str(value):
                bad.append("%s %s" % (name, "missing" if sym is None else sym.str_value))
        check(not bad and len(lim) == 11,
              "zephyr/Kconfig has the %d limits of smtp.h with its defaults%s"
              % (len(lim), (": " + ", ".join(bad)) if bad else ""))
        sws = ["SMTP_TERSE", "SMTP_NO_CHUNKING", "SMTP_NO_STARTTLS", "SMTP_NO_AUTH", "SMTP_NO_DSN",
               "SMTP_NO_SMTPUTF8"]
        check(all(s in kconf.syms and kconf.syms[s].str_value == "n" for s in sws),
              "zephyr/Kconfig has every switch, off by default")
    print("manifests: %d failed" % failed)
    return 1 if failed else 0


def load_kconfig(src):
    try:
        import kconfiglib
    except ImportError:
        print("SKIP: zephyr/Kconfig not parsed: kconfiglib missing (Debian: python3-kconfiglib)")
        return None
    k = kconfiglib.Kconfig(os.path.join(src, "zephyr", "Kconfig"), warn_to_stderr=False)
    k.syms["SMTP"].set_value("y")
    return k


def kconfig_defs(src, settings):
    """-D options for the CONFIG_ symbols, the way Zephyr passes them to CMake."""
    k = load_kconfig(src)
    if k is None:
        return 1
    for s in settings:
        name, _, value = s.partition("=")
        if not k.syms[name].set_value(value):
            print("cannot set %s" % s, file=sys.stderr)
            return 1
    for sym in k.unique_defined_syms:
        if sym.str_value not in ("", "n"):
            print("-DCONFIG_%s=%s" % (sym.name, sym.str_value))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "kconfig":
        sys.exit(kconfig_defs(os.path.abspath(sys.argv[1]), sys.argv[3:]))
    sys.exit(main())
