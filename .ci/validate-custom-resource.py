"""Validates custom resources against the openAPIV3Schema of their CustomResourceDefinition,
as the API server would (without its CEL rules), with unknown fields rejected rather than
pruned. Fails when no resource of the CRD's kind is found.

Usage: python validate-custom-resource.py CRD.yaml MANIFESTS.yaml
"""

import sys

import jsonschema
import yaml


def to_json_schema(node):
    """OpenAPI v3 (structural schema) to JSON Schema: `nullable` becomes a null type, and an
    object with declared properties admits no others."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    out.pop("nullable", None)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (node.get("type") == "object" and "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def main():
    crd_path, manifests_path = sys.argv[1:]
    crd = yaml.safe_load(open(crd_path))
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    schemas = {f"{group}/{v['name']}": to_json_schema(v["schema"]["openAPIV3Schema"])
               for v in crd["spec"]["versions"]}
    found = 0
    for doc in yaml.safe_load_all(open(manifests_path)):
        if not doc or doc.get("kind") != kind:
            continue
        api = doc.get("apiVersion")
        if api not in schemas:
            sys.exit(f"error: {kind} {doc['metadata'].get('name')}: no version {api} in the CRD")
        resource = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
        jsonschema.Draft7Validator(schemas[api]).validate(resource)
        found += 1
        print(f"{kind} {doc['metadata']['name']} passed against {crd['metadata']['name']} {api}")
    if found == 0:
        sys.exit(f"error: no {kind} in {manifests_path}")


if __name__ == "__main__":
    main()
