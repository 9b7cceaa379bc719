# Records, for the end-to-end parity check (tests/integration/e2e/parity.rs), every
# path a file-managing task reported, with the task's source `file:line`, as JSON lines
# in $MIGRATE_PARITY_LOG.
import json
import os

from ansible.plugins.callback import CallbackBase

FILE_MODULES = {"copy", "template", "file", "lineinfile", "blockinfile"}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "migrate_paths"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_ok(self, result):
        task = result._task
        if task.action.rsplit(".", 1)[-1] not in FILE_MODULES:
            return
        res = result._result
        items = res.get("results") if isinstance(res.get("results"), list) else [res]
        if res.get("censored"):
            # no_log hides the result; the task's own (templated) arguments still name the file.
            path = task.args.get("dest") or task.args.get("path")
            items = [{"dest": path}] if isinstance(path, str) and "{{" not in path else []
        with open(os.environ["MIGRATE_PARITY_LOG"], "a") as log:
            for item in items:
                path = item.get("dest") or item.get("path")
                if not path:
                    continue
                log.write(json.dumps({
                    "origin": task.get_path() or "",
                    "action": task.action,
                    "path": path,
                    "state": item.get("state") or "",
                    "recurse": task.action.rsplit(".", 1)[-1] == "copy" and str(task.args.get("src", "")).endswith("/"),
                }) + "\n")
