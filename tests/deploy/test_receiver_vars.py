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


def test_crl_files_reach_the_receivers_expiry_section(tmp_path: Path) -> None:
    """warehouse_receiver_crl_files renders as [expiry] crl_files, which the receiver's
    config loads (it then raises crl_expiring for the broker's CRL); empty, no section."""
    from edge.config.loader import loads_as
    from edge.receiver.config import ReceiverConfig

    def loads(text: str) -> ReceiverConfig:
        return loads_as(ReceiverConfig, text, "receiver.toml", env={"CREDENTIALS_DIRECTORY": "/c"})

    py = f"ansible_connection=local ansible_python_interpreter={sys.executable}"
    (tmp_path / "inv.ini").write_text(f"[receivers]\nrx {py}\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text((ROLE / "defaults" / "main.yml").read_text())
    (tmp_path / "render.yml").write_text(f"""
- hosts: receivers
  gather_facts: false
  vars:
    warehouse_receiver_name: polda-jateng-1
    warehouse_receiver_broker_host: mqtt.polda-jateng.example
  tasks:
    - ansible.builtin.template:
        src: {ROLE / "templates" / "receiver.toml.j2"}
        dest: "{{{{ out }}}}"
        mode: "0600"
""")
    texts = []
    for name, extra in (("with", '["/etc/mosquitto/tls/crl.pem"]'), ("without", "[]")):
        out = tmp_path / f"{name}.toml"
        done = subprocess.run(
            [tool("ansible-playbook"), "-i", str(tmp_path / "inv.ini"),
             str(tmp_path / "render.yml"), "-e", f"out={out}",
             "-e", f'{{"warehouse_receiver_crl_files": {extra}}}'],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:]
        texts.append(out.read_text())
    assert loads(texts[0]).expiry.crl_files == ["/etc/mosquitto/tls/crl.pem"]
    assert "[expiry]" not in texts[1] and loads(texts[1]).expiry.crl_files == []
