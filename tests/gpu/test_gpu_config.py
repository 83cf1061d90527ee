"""The NVIDIA device-plugin config format: what is accepted, and one-line errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_gpu_plugin.config import ConfigError, PluginConfig, ReplicatedResource, load_config

GOOD = """\
version: v1
flags:
  migStrategy: none
sharing:
  timeSlicing:
    renameByDefault: false
    failRequestsGreaterThanOne: true
    resources:
    - name: nvidia.com/gpu
      replicas: 4
"""


def test_time_slicing_config_is_typed() -> None:
    config = load_config(GOOD)
    assert isinstance(config, PluginConfig)
    assert config.version == "v1"
    assert config.mig_strategy == "none"
    assert config.time_slicing is not None
    assert config.time_slicing.resources == (ReplicatedResource("nvidia.com/gpu", 4),)
    assert config.fail_requests_greater_than_one is True
    assert config.replicas() == 4
    assert config.resource_name() == "nvidia.com/gpu"
    assert config.sharing_strategy == "time-slicing"
    assert config.warnings == ()


def test_defaults_and_prefix_and_rename_by_default() -> None:
    config = load_config(
        "sharing:\n  timeSlicing:\n    renameByDefault: true\n"
        "    resources: [{name: gpu, replicas: 2}]\n"
    )
    assert config.version == "v1"  # missing version means v1
    assert config.fail_requests_greater_than_one is False
    assert config.replicated() == ReplicatedResource("nvidia.com/gpu", 2, "nvidia.com/gpu.shared")
    assert config.resource_name() == "nvidia.com/gpu.shared"


@pytest.mark.parametrize("text", ["", "# nothing\n", "version: v1\n"])
def test_empty_config_means_no_sharing(text: str) -> None:
    config = load_config(text)
    assert config.time_slicing is None
    assert config.replicas() == 1
    assert config.sharing_strategy == "none"
    assert load_config(None) == PluginConfig()


def test_rename_and_devices_are_ignored_with_a_warning() -> None:
    config = load_config(
        "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n"
        "      rename: my-gpu\n      devices: [0]\n      replicas: 3\n"
    )
    assert config.replicated() == ReplicatedResource("nvidia.com/gpu", 3, "")
    assert len(config.warnings) == 2
    assert "rename is ignored" in config.warnings[0]
    assert "devices=[0] is ignored" in config.warnings[1]


@pytest.mark.parametrize(
    ("text", "field", "fix"),
    [
        ("version: v2\n", "version", "set version: v1"),
        ("- a\n- b\n", "", "write a mapping"),
        ("sharing:\n  timeSlicing: {}\n", "sharing.timeSlicing.resources", "list at least one"),
        (
            "sharing:\n  timeSlicing:\n    resources: [{name: nvidia.com/gpu, replicas: 1}]\n",
            "sharing.timeSlicing.resources[0].replicas",
            "2 or more",
        ),
        (
            "sharing:\n  timeSlicing:\n    resources: [{name: nvidia.com/gpu}]\n",
            "sharing.timeSlicing.resources[0].replicas",
            "2 or more",
        ),
        (
            "sharing:\n  timeSlicing:\n    resources: [{name: nvidia.com/gpu, replicas: '4'}]\n",
            "sharing.timeSlicing.resources[0].replicas",
            "2 or more",
        ),
        (
            "sharing:\n  timeSlicing:\n    resources: [{replicas: 4}]\n",
            "sharing.timeSlicing.resources[0].name",
            "set name",
        ),
        (
            "sharing:\n  timeslicing:\n    resources: [{name: nvidia.com/gpu, replicas: 4}]\n",
            "sharing.timeslicing",
            "timeSlicing",
        ),
        (
            "sharing:\n  timeSlicing:\n    failRequestsGreaterThanOne: 'yes'\n"
            "    resources: [{name: nvidia.com/gpu, replicas: 4}]\n",
            "sharing.timeSlicing.failRequestsGreaterThanOne",
            "true or false",
        ),
        ("flags:\n  migStrategy: auto\n", "flags.migStrategy", "none, single, mixed"),
        (
            "sharing:\n  mps:\n    resources: [{name: nvidia.com/gpu, replicas: 4}]\n",
            "sharing.mps",
            "timeSlicing",
        ),
        ("version: v1\nsharing: [\n", "line", "fix the YAML"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, field: str, fix: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}")
    assert fix in message
    assert error.value.field.startswith(field)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(str(tmp_path / "absent.yaml"))


def test_configmap_data_file_with_key(tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    indented = "".join(f"    {line}\n" for line in GOOD.splitlines())
    data.write_text(f"any: |\n{indented}other: |\n    version: v1\n")
    assert load_config(data, key="any").replicas() == 4
    assert load_config(data, key="other").replicas() == 1
    with pytest.raises(ConfigError) as error:
        load_config(data, key="a100")
    assert "no config named 'a100' (found: any, other)" in str(error.value)


def test_configmap_manifest_and_plain_file_with_key(tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    indented = "".join(f"    {line}\n" for line in GOOD.splitlines())
    manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\ndata:\n  any: |\n{indented}")
    assert load_config(manifest, key="any").replicas() == 4
    plain = tmp_path / "config.yaml"  # a ConfigMap key mounted with subPath
    plain.write_text(GOOD)
    assert load_config(plain, key="any").replicas() == 4


def test_folder_of_configmap_keys(tmp_path: Path) -> None:
    (tmp_path / "any").write_text(GOOD)
    assert load_config(tmp_path, key="any").replicas() == 4
    with pytest.raises(ConfigError, match="no config key was given"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match=r"no config named 'x' \(found: any\)"):
        load_config(tmp_path, key="x")
    (tmp_path / "bad").write_text("version: v3\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, key="bad")
    assert str(error.value).startswith(f"{tmp_path / 'bad'}: version")
