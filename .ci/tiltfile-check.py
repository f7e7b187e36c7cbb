"""Parses and runs a Tiltfile with Starlark (starlark-pyo3, the extended dialect Tilt uses) and
stub versions of the Tilt built-ins it may call. Each stub has the parameters of the real
function (Tilt's API reference), so an unknown function or keyword argument fails the run.
Prints the calls as JSON lines: {"fn": name, "args": [...], "kwargs": {...}}.

Usage: python tiltfile-check.py TILTFILE
Only the built-ins listed here are known; add one (with its real signature) before using it.
"""

import json
import sys

import starlark as sl

calls = []


def record(fn, args, kwargs):
    calls.append({"fn": fn, "args": list(args), "kwargs": kwargs})


class Blob(str):
    pass


# The signatures are those of Tilt's API reference.
def docker_build(ref, context, build_args=None, dockerfile="Dockerfile", dockerfile_contents="",
                 live_update=None, match_in_env_vars=False, ignore=None, only=None, entrypoint=None,
                 target="", ssh="", network="", secret="", extra_tag="", container_args=None,
                 cache_from=None, pull=False, platform="", env_file=""):
    record("docker_build", [ref, context], {k: v for k, v in dict(
        build_args=build_args, dockerfile=dockerfile, ignore=ignore, only=only,
        target=target).items() if v is not None})


def k8s_yaml(yaml, allow_duplicates=False):
    record("k8s_yaml", [str(yaml)[:200]], {})


def helm(pathToChartDir, name="", namespace="", values=None, set=None, kube_version="",
         skip_crds=False):
    record("helm", [pathToChartDir], {"name": name, "namespace": namespace,
                                      "values": values or [], "set": set or []})
    return "# rendered chart"


def filter_yaml(yaml, labels=None, name=None, namespace=None, kind=None, api_version=None):
    record("filter_yaml", [], {"name": name, "kind": kind})
    return ("", yaml)


def k8s_resource(workload="", new_name="", port_forwards=None, extra_pod_selectors=None,
                 trigger_mode=None, resource_deps=None, objects=None, auto_init=True,
                 pod_readiness="", links=None, labels=None, discovery_strategy=""):
    record("k8s_resource", [workload], {"new_name": new_name, "objects": objects or [],
                                        "resource_deps": resource_deps or [],
                                        "port_forwards": port_forwards or [],
                                        "labels": labels or []})


def k8s_kind(kind, api_version=None, *, image_json_path=None, image_object=None,
             pod_readiness=""):
    record("k8s_kind", [kind], {"api_version": api_version, "image_json_path": image_json_path,
                                "image_object": image_object})


def local_resource(name, cmd="", deps=None, trigger_mode=None, resource_deps=None,
                   ignore=None, auto_init=True, serve_cmd="", cmd_bat="", serve_cmd_bat="",
                   allow_parallel=False, links=None, tags=None, env=None, serve_env=None,
                   readiness_probe=None, dir="", serve_dir="", labels=None):
    record("local_resource", [name], {"cmd": cmd, "serve_cmd": serve_cmd,
                                      "deps": deps or [], "ignore": ignore or [],
                                      "resource_deps": resource_deps or [],
                                      "links": links or [], "labels": labels or []})


def local(command, quiet=False, command_bat="", echo_off=False, env=None, dir="", stdin=None):
    record("local", [command], {})
    return Blob("")


def allow_k8s_contexts(contexts):
    record("allow_k8s_contexts", [contexts], {})


def update_settings(max_parallel_updates=3, k8s_upsert_timeout_secs=30,
                    suppress_unused_image_warnings=None):
    record("update_settings", [], {"max_parallel_updates": max_parallel_updates,
                                   "k8s_upsert_timeout_secs": k8s_upsert_timeout_secs})


def blob(contents):
    record("blob", [contents[:200]], {})
    return Blob(contents)


def port_forward(local_port, container_port=None, name=None, link_path=None, host=None):
    record("port_forward", [local_port, container_port], {"name": name})
    return {"local_port": local_port, "container_port": container_port, "name": name}


def link(url, name=""):
    return {"url": url, "name": name}


def probe(initial_delay_secs=0, timeout_secs=1, period_secs=10, success_threshold=1,
          failure_threshold=3, exec=None, http_get=None, tcp_socket=None):
    return {"period_secs": period_secs, "http_get": http_get}


def http_get_action(port, host="", scheme="http", path=""):
    return {"port": port, "host": host, "path": path}


def read_file(file_path, default=None):
    record("read_file", [file_path], {})
    return Blob(open(file_path).read())


def fail(msg):
    raise RuntimeError(f"fail(): {msg}")


def watch_file(file_path):
    record("watch_file", [file_path], {})


# config.*: the namespace exists in Starlark as a struct of these.
def _config_define_string(name, args=False, usage=""):
    record("config.define_string", [name], {"args": args})


def _config_define_bool(name, args=False, usage=""):
    record("config.define_bool", [name], {"args": args})


def _config_define_string_list(name, args=False, usage=""):
    record("config.define_string_list", [name], {"args": args})


def _config_parse():
    record("config.parse", [], {})
    return {}


BUILTINS = [docker_build, k8s_yaml, helm, filter_yaml, k8s_resource, k8s_kind, local_resource,
            local, allow_k8s_contexts, update_settings, blob, port_forward, link, probe,
            http_get_action, read_file, fail, watch_file]
NAMESPACES = {"config": {"define_string": _config_define_string,
                         "define_bool": _config_define_bool,
                         "define_string_list": _config_define_string_list,
                         "parse": _config_parse}}


def main():
    (path,) = sys.argv[1:]
    source = open(path).read()
    # The namespaces are structs bound to the stubs, defined ahead of the Tiltfile (on its first
    # line, so error lines stay those of the Tiltfile).
    prelude = "; ".join(
        f"{ns} = struct(" + ", ".join(f"{k} = _{ns}_{k}" for k in fns) + ")"
        for ns, fns in NAMESPACES.items())
    ast = sl.parse(path, prelude + "\n" + source, dialect=sl.Dialect.extended())
    module = sl.Module()
    for fn in BUILTINS:
        module.add_callable(fn.__name__, fn)
    for ns, fns in NAMESPACES.items():
        for k, fn in fns.items():
            module.add_callable(f"_{ns}_{k}", fn)
    globals_ = sl.Globals.extended_by([sl.LibraryExtension.StructType, sl.LibraryExtension.Print,
                                       sl.LibraryExtension.Json])
    sl.eval(module, ast, globals_)
    for call in calls:
        print(json.dumps(call, default=str))


if __name__ == "__main__":
    main()
