#!/usr/bin/python3
# Parity stand-in for the init system (tests/integration/e2e/parity.rs): a container has
# no init system, and the converter turns "start this unit" into the image's command
# (rules M301, M305, M354, M702, declared in migration.json). Changes nothing.
# systemd.py and systemd_service.py are links to this file: Ansible finds a module by its
# file name, and the three modules take the same stand-in.
from ansible.module_utils.basic import AnsibleModule

PARAMS = ["name", "state", "enabled", "daemon_reload", "daemon_reexec", "masked", "scope", "force",
          "no_block", "pattern", "sleep", "arguments", "args", "runlevel", "use", "user"]


def main():
    module = AnsibleModule(argument_spec={p: {"type": "raw"} for p in PARAMS}, supports_check_mode=True)
    module.exit_json(changed=False, name=module.params.get("name"), msg="init system left out of the container image")


if __name__ == "__main__":
    main()
