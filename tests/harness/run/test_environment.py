import subprocess

from finegate.harness.run import capture_environment, git_state, library_versions


def test_library_versions_name_the_stack():
    versions = library_versions()
    assert {"finegate", "torch", "transformers", "peft"} <= set(versions)
    assert versions["torch"].startswith("2.13.0")


def test_git_state_of_a_repository(tmp_path):
    assert git_state(str(tmp_path)) is None
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("1")
    run = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*run, "add", "f"], check=True)
    subprocess.run([*run, "commit", "-qm", "one"], check=True)
    state = git_state(str(tmp_path))
    assert state is not None and len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "f").write_text("2")
    assert git_state(str(tmp_path))["dirty"] is True


def test_environment_reads_device_from_the_innermost_system():
    env = capture_environment(
        {"type": "prompted", "inner": {"device": "cpu", "dtype": "float32"}}, seed=5
    )
    assert (env["device"], env["dtype"], env["seed"]) == ("cpu", "float32", 5)
