#!/usr/bin/env python3
"""The independent oracle of tests/e2e/import.bats: render an edi-cd
repository as Ansible would, with Python's jinja2 (what Ansible uses) and
PyYAML's YAML 1.1 types, and print each inventory host's desired state as
JSON: {"<id>": {"branch", "image", "config"} or {"error"}}.

    oracle.py REPO DEVICE_TYPES

DEVICE_TYPES: lines "<id> <device_type>", the type Mender reports (the
image comes from the os_image list by it, as roles/install_os does).
lookup('env', NAME) reads the environment, as Ansible's does; the tests
give it the same values as FLEETGATE_SECRET_<NAME>.

It shares no code with fleetgate: Ansible's behaviour written the way
Ansible has it (variable precedence: host_vars, inventory host vars,
group_vars/all, all's vars in the inventory; trim_blocks; undefined values
that chain and fail when used; the mandatory filter; values that are
templates rendered when read).
"""
import json
import os
import sys

import jinja2
import yaml


class AnsibleUndefined(jinja2.ChainableUndefined, jinja2.StrictUndefined):
    pass


def mandatory(value, msg=None):
    if isinstance(value, jinja2.Undefined):
        raise RuntimeError(msg or "Mandatory variable not defined.")
    return value


def lookup(kind, name):
    assert kind == "env"
    return os.environ.get(name, "")


def load(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return yaml.safe_load(f) or {}


def walk(group, hosts):
    for h, v in (group.get("hosts") or {}).items():
        hosts.setdefault(h, {}).update(v or {})
    for child in (group.get("children") or {}).values():
        walk(child or {}, hosts)


def main():
    repo, types_file = sys.argv[1], sys.argv[2]
    types = dict(line.split() for line in open(types_file) if line.strip())
    inventory = load(os.path.join(repo, "inventory.yml"))
    hosts = {}
    walk(inventory["all"], hosts)
    group = dict((inventory["all"].get("vars") or {}))
    group.update(load(os.path.join(repo, "group_vars/all.yml")))
    tdir = os.path.join(repo, "roles/apply_configuration/templates")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(tdir), trim_blocks=True,
                             undefined=AnsibleUndefined)
    env.filters["mandatory"] = mandatory
    env.globals["lookup"] = lookup
    out = {}
    for host, inline in hosts.items():
        vars = dict(group)
        vars.update(inline)
        vars.update(load(os.path.join(repo, "host_vars", host + ".yml")))
        vars["inventory_hostname"] = host

        def resolve(v, depth=0):
            if isinstance(v, str) and "{{" in v:
                return resolve(env.from_string(v).render(vars), depth + 1)
            if isinstance(v, dict):
                return {k: resolve(x) for k, x in v.items()}
            if isinstance(v, list):
                return [resolve(x) for x in v]
            return v

        vars = {k: resolve(v) for k, v in vars.items()}
        try:
            image = [i["image_name"] for i in vars.get("os_image", [])
                     if i["device_type"] == types.get(host)]
            vars["desired_os_image"] = image[0] if image else ""
            conf = vars.get("configuration", {})
            if isinstance(conf, dict) and "template" in conf:
                name = conf["template"]
            elif os.path.exists(os.path.join(tdir, "edge-configuration.json")):
                name = "edge-configuration.json"
            else:
                name = None
            config = json.loads(env.get_template(name).render(vars)) if name else {}
            out[host] = {"branch": str(vars["subscribed_branch"]),
                         "image": image[0] if image else None,
                         "config": config}
        except Exception as e:  # what Ansible would fail the host with
            out[host] = {"error": str(e)}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


main()
