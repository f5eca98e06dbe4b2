"""The warehouse_receiver role's own checks, run by Ansible (its validate tasks with its
filter plugin) for three hosts in one play: a misspelt variable fails naming it and the
variable meant; a local-socket PostgreSQL URL with another user than the service user fails
(peer authentication would refuse it); the documented URL passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from policehost import DEPLOY, tool

ROLE = DEPLOY / "roles" / "warehouse_receiver"


def test_misspelt_variable_and_foreign_postgres_user_fail_the_play(tmp_path: Path) -> None:
    """rx-typo (warehouse_receiver_postgres_uri) and rx-user (postgresql://receiver@/...)
    fail with one message each; rx-ok (postgresql://warehouse-receiver@/warehouse) passes."""
    py = f"ansible_connection=local ansible_python_interpreter={sys.executable}"
    (tmp_path / "inv.ini").write_text(
        "[receivers]\n"
        f"rx-typo {py} warehouse_receiver_postgres_uri=postgresql://x@/w\n"
        f"rx-user {py} warehouse_receiver_postgres_url=postgresql://receiver@/warehouse\n"
        f"rx-ok {py} warehouse_receiver_postgres_url=postgresql://warehouse-receiver@/warehouse\n"
    )
    (tmp_path / "group_vars").mkdir()  # the role's defaults, below the hosts' variables
    (tmp_path / "group_vars" / "all.yml").write_text((ROLE / "defaults" / "main.yml").read_text())
    (tmp_path / "check.yml").write_text(f"""
- hosts: receivers
  gather_facts: false
  tasks:
    - ansible.builtin.include_tasks: {ROLE / "tasks" / "validate.yml"}
""")
    done = subprocess.run(
        [tool("ansible-playbook"), "-i", str(tmp_path / "inv.ini"), str(tmp_path / "check.yml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "ANSIBLE_FILTER_PLUGINS": str(ROLE / "filter_plugins")},
    )
    out = done.stdout
    assert done.returncode != 0, out
    assert (
        "host rx-typo: warehouse_receiver_postgres_uri: not a variable of the warehouse_receiver"
        " role (did you mean warehouse_receiver_postgres_url?)" in out
    )
    assert "connects over the local socket as receiver" in out
    assert "use postgresql://warehouse-receiver@/warehouse" in out
    recap = {ln.split()[0]: ln for ln in out.splitlines() if " : ok=" in ln}
    assert "failed=1" in recap["rx-typo"] and "failed=1" in recap["rx-user"]
    assert "failed=0" in recap["rx-ok"]
