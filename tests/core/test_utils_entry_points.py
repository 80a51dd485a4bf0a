"""kombu.utils.entry_points: a few groups read from the distributions' own files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from importlib import metadata

from kombu.utils.entry_points import EntryPoint, Installed, entry_points, normalize


def dist_info(root, folder, name, version, entry_points_txt=None):
    info = root / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nLong description: x\n")
    if entry_points_txt is not None:
        (info / "entry_points.txt").write_text(textwrap.dedent(entry_points_txt))
    return info


def test_reads_only_the_groups_asked_for(tmp_path):
    dist_info(tmp_path, "kombu_fancy-2.0.dist-info", "kombu-fancy", "2.0", """
        [console_scripts]
        fancy = kombu_fancy.cli:main

        # a comment
        [kombu.plugins]
        fancy = kombu_fancy
        ; another comment
        [kombu.serializers]
        shout = kombu_fancy.codecs:shout
    """)
    dist_info(tmp_path, "plain-1.0.dist-info", "plain", "1.0")  # no entry_points.txt
    found = entry_points(["kombu.plugins", "kombu.serializers"], path=[str(tmp_path)])
    assert found == [
        EntryPoint("fancy", "kombu_fancy", "kombu.plugins", "kombu-fancy", "2.0"),
        EntryPoint("shout", "kombu_fancy.codecs:shout", "kombu.serializers", "kombu-fancy",
                   "2.0"),
    ]


def test_egg_info_and_names_from_metadata(tmp_path):
    info = tmp_path / "Legacy_Thing-0.3-py3.11.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: Legacy.Thing\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[kombu.plugins]\nlegacy = legacy_thing\n")
    assert entry_points(["kombu.plugins"], path=[str(tmp_path)]) == [
        EntryPoint("legacy", "legacy_thing", "kombu.plugins", "Legacy.Thing", "0.3")]


def test_first_distribution_of_a_name_on_the_path_wins(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "kombu_dup-2.0.dist-info", "kombu-dup", "2.0")  # newer, no plugin
    dist_info(second, "Kombu.Dup-1.0.dist-info", "Kombu.Dup", "1.0",
              "[kombu.plugins]\ndup = kombu_dup\n")
    assert entry_points(["kombu.plugins"], path=[str(first), str(second)]) == []
    found = entry_points(["kombu.plugins"], path=[str(second), str(first)])
    assert [(ep.distribution, ep.version) for ep in found] == [("Kombu.Dup", "1.0")]
    assert normalize("Kombu.Dup") == normalize("kombu_dup") == "kombu-dup"


def test_missing_folders_are_skipped_and_zip_archives_read(tmp_path):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_plugin-1.5.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: zipped-plugin\nVersion: 1.5\n")
        zf.writestr("zipped_plugin-1.5.dist-info/entry_points.txt",
                    "[kombu.plugins]\nzipped = zipped_plugin\n")
    found = entry_points(["kombu.plugins"], path=[str(tmp_path / "nope"), str(archive)])
    assert found == [EntryPoint("zipped", "zipped_plugin", "kombu.plugins", "zipped-plugin",
                                "1.5")]


def test_version_of_an_installed_distribution(tmp_path):
    dist_info(tmp_path, "kombu_core-9.9.dist-info", "kombu-core", "9.9")
    installed = Installed([str(tmp_path)])
    assert installed.version("kombu-core") == "9.9"
    assert installed.version("kombu_core") == "9.9"
    assert installed.version("not-installed") is None


def test_load_imports_module_or_attribute():
    assert EntryPoint("x", "json", "g", "d", None).load() is __import__("json")
    assert EntryPoint("x", "os.path:join", "g", "d", None).load() is __import__("os").path.join


def test_agrees_with_importlib_metadata_on_this_interpreter():
    groups = ["kombu.plugins", "console_scripts", "pytest11"]
    ours = {(ep.group, ep.name, ep.value, ep.distribution) for ep in entry_points(groups)}
    theirs = {(ep.group, ep.name, ep.value, ep.dist.metadata["Name"])
              for group in groups for ep in metadata.entry_points(group=group)}
    assert ours == theirs
    assert any(group == "kombu.plugins" for group, *_ in ours)


def test_plugin_discovery_does_not_import_importlib_metadata():
    code = ("import sys\n"
            "from kombu.transport import get_transport_cls\n"
            "get_transport_cls('demo')\n"
            "print('importlib.metadata' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert out == "False"
