"""Validates generated ECS files against the AWS API models botocore ships.

Usage: validate_aws.py KIND FILE...   (KIND: taskdef, service, schedule, autoscaling, policy)

botocore's ParamValidator checks structure, types, required members and ranges;
it does not check enums, so every string with an enum in the model is checked
here too. Prints one line per problem and exits 1 when there is any.
"""

import json
import sys

import botocore.session
from botocore.validate import ParamValidator

SESSION = botocore.session.get_session()


def enum_problems(value, shape, where):
    out = []
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                out += enum_problems(value[name], member, f"{where}.{name}")
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            out += enum_problems(item, shape.member, f"{where}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        for k, v in value.items():
            out += enum_problems(v, shape.value, f"{where}.{k}")
    elif kind == "string" and shape.enum and value not in shape.enum:
        out.append(f"{where}: `{value}` is not one of {shape.enum}")
    return out


def validate(service, operation, params, label):
    model = SESSION.get_service_model(service)
    shape = model.operation_model(operation).input_shape
    problems = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        problems.append(f"{label}: {service}.{operation}: {report.generate_report()}")
    problems += [f"{label}: {service}.{operation}: {p}" for p in enum_problems(params, shape, "")]
    return problems


def main():
    kind, files = sys.argv[1], sys.argv[2:]
    problems = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if kind == "taskdef":
            problems += validate("ecs", "RegisterTaskDefinition", doc, path)
        elif kind == "service":
            problems += validate("ecs", "CreateService", doc, path)
        elif kind == "schedule":
            problems += validate("scheduler", "CreateSchedule", doc, path)
            # The Input is the RunTask overrides shape.
            overrides = json.loads(doc["Target"]["Input"])
            problems += validate("ecs", "RunTask", {"taskDefinition": "x", "overrides": overrides}, path + " Input")
        elif kind == "autoscaling":
            problems += validate("application-autoscaling", "RegisterScalableTarget", doc["scalableTarget"], path)
            problems += validate("application-autoscaling", "PutScalingPolicy", doc["scalingPolicy"], path)
            for action in doc.get("scheduledActions", []):
                problems += validate("application-autoscaling", "PutScheduledAction", action, path)
        elif kind == "policy":
            problems += validate("iam", "CreatePolicy", {"PolicyName": "p", "PolicyDocument": json.dumps(doc)}, path)
        else:
            problems.append(f"unknown kind {kind}")
    for p in problems:
        print(p)
    print(f"checked {len(files)} {kind} file(s)")
    sys.exit(1 if problems else 0)


main()
